/* lexer.c — tokenizer for dql scripts (hand-written, span on every token),
 * the parameter preprocessor and the statement-completeness test used by the
 * shell's continuation prompt. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include "lexer.h"
#include "ast.h"
#include "diag.h"
#include "parse.h"

static const struct { const char *kw; int tok; } keywords[] = {
    {"LOAD", LOAD}, {"USING", USING}, {"AS", AS}, {"STORE", STORE}, {"INTO", INTO},
    {"DUMP", DUMP}, {"FOREACH", FOREACH}, {"GENERATE", GENERATE}, {"FLATTEN", FLATTEN},
    {"FILTER", FILTER}, {"BY", BY}, {"GROUP", GROUP}, {"COGROUP", COGROUP}, {"ALL", ALL},
    {"JOIN", JOIN}, {"LEFT", LEFT}, {"RIGHT", RIGHT}, {"FULL", FULL}, {"OUTER", OUTER},
    {"INNER", INNER}, {"ORDER", ORDER}, {"ASC", ASC}, {"DESC", DESC}, {"LIMIT", LIMIT},
    {"DISTINCT", DISTINCT}, {"UNION", UNION}, {"ONSCHEMA", ONSCHEMA}, {"SPLIT", SPLIT},
    {"IF", IF}, {"OTHERWISE", OTHERWISE}, {"SAMPLE", SAMPLE}, {"CROSS", CROSS},
    {"STREAM", STREAM}, {"THROUGH", THROUGH}, {"DESCRIBE", DESCRIBE}, {"EXPLAIN", EXPLAIN},
    {"SET", SET}, {"REGISTER", REGISTER}, {"DEFINE", DEFINE}, {"IMPORT", IMPORT},
    {"SQL", SQL}, {"RETURNS", RETURNS}, {"AND", AND}, {"OR", OR}, {"NOT", NOT}, {"IS", IS},
    {"NULL", NUL}, {"IN", IN}, {"MATCHES", MATCHES}, {"CASE", CASE}, {"WHEN", WHEN},
    {"THEN", THEN}, {"ELSE", ELSE}, {"END", END}, {"TRUE", TRUE}, {"FALSE", FALSE},
    {"OVERWRITE", OVERWRITE}, {"PARALLEL", PARALLEL}, {"TUPLE", TUPLE}, {"BAG", BAG},
    {"MAP", MAP}, {"TYPES", TYPES}, {"WITH", WITH},
    {"RESOLVE", XOP}, {"ENRICH", XOP}, {"CLASSIFY", XOP}, {"TRAIN", XOP},
};

int dql_keyword(const char *s, size_t n)
{
    if (n > 12) return 0;
    char up[16];
    for (size_t i = 0; i < n; i++) up[i] = (char)toupper((unsigned char)s[i]);
    up[n] = 0;
    for (size_t i = 0; i < sizeof keywords / sizeof keywords[0]; i++)
        if (strcmp(keywords[i].kw, up) == 0) return keywords[i].tok;
    return 0;
}

const char *dql_keyword_at(size_t i)
{
    return i < sizeof keywords / sizeof keywords[0] ? keywords[i].kw : NULL;
}

void dql_lexer_init(dql_lexer *lx, const char *file, const char *src, size_t len, FILE *errfp)
{
    memset(lx, 0, sizeof *lx);
    lx->file = file;
    lx->src = src;
    lx->len = len;
    lx->line = 1;
    lx->col = 1;
    lx->errfp = errfp;
}

static void advance(dql_lexer *lx, size_t n)
{
    while (n-- > 0 && lx->pos < lx->len) {
        if (lx->src[lx->pos] == '\n') { lx->line++; lx->col = 1; }
        else if (((unsigned char)lx->src[lx->pos] & 0xC0) != 0x80) lx->col++;
        lx->pos++;
    }
}

static dql_span here(const dql_lexer *lx)
{
    dql_span sp = { .file = lx->file, .src = lx->src, .start = (uint32_t)lx->pos, .end = (uint32_t)lx->pos, .line = lx->line, .col = lx->col };
    return sp;
}

static void lex_error(dql_lexer *lx, dql_span sp, const char *fmt, const char *arg)
{
    dql_diag(lx->errfp, DQL_DIAG_ERROR, &sp, fmt, arg);
    lx->nerr++;
}

/* Skips blanks and comments. Returns false after reporting an unterminated comment. */
static bool skip_space(dql_lexer *lx)
{
    for (;;) {
        if (lx->pos >= lx->len) return true;
        char c = lx->src[lx->pos];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') { advance(lx, 1); continue; }
        if (c == '-' && lx->pos + 1 < lx->len && lx->src[lx->pos + 1] == '-') {
            while (lx->pos < lx->len && lx->src[lx->pos] != '\n') advance(lx, 1);
            continue;
        }
        if (c == '/' && lx->pos + 1 < lx->len && lx->src[lx->pos + 1] == '*') {
            dql_span sp = here(lx);
            advance(lx, 2);
            while (lx->pos + 1 < lx->len && !(lx->src[lx->pos] == '*' && lx->src[lx->pos + 1] == '/')) advance(lx, 1);
            if (lx->pos + 1 >= lx->len) {
                sp.end = sp.start + 2;
                lex_error(lx, sp, "unterminated comment%s", "");
                lx->pos = lx->len;
                return false;
            }
            advance(lx, 2);
            continue;
        }
        return true;
    }
}

char *dql_unescape(const char *s, size_t n, size_t *outlen)
{
    char *r = dql_xmalloc(n + 1);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '\\' || i + 1 >= n) { r[o++] = s[i]; continue; }
        char e = s[++i];
        switch (e) {
        case 'n': r[o++] = '\n'; break;
        case 't': r[o++] = '\t'; break;
        case 'r': r[o++] = '\r'; break;
        case '0': r[o++] = '\0'; break;
        case 'u': {
            unsigned cp = 0; int k = 0;
            while (k < 4 && i + 1 < n && isxdigit((unsigned char)s[i + 1])) {
                char h = s[++i];
                cp = cp * 16 + (unsigned)(isdigit((unsigned char)h) ? h - '0' : (tolower((unsigned char)h) - 'a' + 10));
                k++;
            }
            if (cp < 0x80) r[o++] = (char)cp;
            else if (cp < 0x800) { r[o++] = (char)(0xC0 | (cp >> 6)); r[o++] = (char)(0x80 | (cp & 0x3F)); }
            else { r[o++] = (char)(0xE0 | (cp >> 12)); r[o++] = (char)(0x80 | ((cp >> 6) & 0x3F)); r[o++] = (char)(0x80 | (cp & 0x3F)); }
            break;
        }
        default: r[o++] = e; break;   /* \\ \' \" and anything else: the char itself */
        }
    }
    r[o] = 0;
    if (outlen) *outlen = o;
    return r;
}

static bool is_ident_start(char c) { return isalpha((unsigned char)c) || c == '_'; }
static bool is_ident_char(char c) { return isalnum((unsigned char)c) || c == '_'; }

/* "(type)" followed by the start of an expression is a cast. Returns the
 * length of the cast text (through ')') or 0, and the type name bounds. */
static size_t cast_at(const dql_lexer *lx, size_t *tstart, size_t *tlen)
{
    /* after a name or a closing parenthesis, '(' opens a call or follows an
     * expression: never a cast (COUNT(ip), f(domain)) */
    if (lx->last_tok == IDENT || lx->last_tok == ')' || lx->last_tok == DOLLARNUM) return 0;
    size_t p = lx->pos + 1;
    while (p < lx->len && (lx->src[p] == ' ' || lx->src[p] == '\t')) p++;
    size_t s = p;
    while (p < lx->len && is_ident_char(lx->src[p])) p++;
    if (p == s) return 0;
    dql_type t = dql_type_parse(lx->src + s, p - s);
    if (t == DQL_T__COUNT || t == DQL_T_TUPLE || t == DQL_T_BAG || t == DQL_T_MAP || t == DQL_T_ANY || t == DQL_T_NULL) return 0;
    size_t e = p;
    while (p < lx->len && (lx->src[p] == ' ' || lx->src[p] == '\t')) p++;
    if (p >= lx->len || lx->src[p] != ')') return 0;
    size_t close = p + 1;
    p = close;
    while (p < lx->len && (lx->src[p] == ' ' || lx->src[p] == '\t')) p++;
    if (p >= lx->len) return 0;
    char c = lx->src[p];
    if (!(is_ident_start(c) || isdigit((unsigned char)c) || c == '\'' || c == '"' || c == '(' || c == '$' || c == '-'))
        return 0;
    if (c == '-' && p + 1 < lx->len && lx->src[p + 1] == ' ') return 0; /* "(x) - 1" is a subtraction */
    if (is_ident_start(c)) {
        /* "(domain) AS d", "(ip) IS NULL": a keyword that cannot start an
         * expression follows a parenthesised field, not a cast */
        size_t q = p;
        while (q < lx->len && is_ident_char(lx->src[q])) q++;
        int kw = dql_keyword(lx->src + p, q - p);
        if (kw && kw != NUL && kw != TRUE && kw != FALSE && kw != CASE && kw != NOT) return 0;
    }
    *tstart = s;
    *tlen = e - s;
    return close - lx->pos;
}

/* Scans a macro body "{ ... }" as raw text (strings and comments respected). */
static int lex_macro_body(dql_lexer *lx, DQL_YYSTYPE *lval, DQL_YYLTYPE *lloc)
{
    dql_span sp = here(lx);
    int depth = 0;
    size_t body_start = lx->pos + 1;
    while (lx->pos < lx->len) {
        char c = lx->src[lx->pos];
        if (c == '\'' || c == '"') {
            char q = c;
            advance(lx, 1);
            while (lx->pos < lx->len && lx->src[lx->pos] != q) advance(lx, lx->src[lx->pos] == '\\' ? 2 : 1);
            advance(lx, 1);
            continue;
        }
        if (c == '-' && lx->pos + 1 < lx->len && lx->src[lx->pos + 1] == '-') {
            while (lx->pos < lx->len && lx->src[lx->pos] != '\n') advance(lx, 1);
            continue;
        }
        if (c == '{') depth++;
        if (c == '}' && --depth == 0) {
            size_t body_end = lx->pos;
            advance(lx, 1);
            sp.end = (uint32_t)lx->pos;
            *lloc = sp;
            lloc->start = (uint32_t)body_start;   /* the body text itself */
            lloc->col++;
            lval->str = dql_xstrndup(lx->src + body_start, body_end - body_start);
            lx->after_returns = 0;
            return MACROBODY;
        }
        advance(lx, 1);
    }
    sp.end = sp.start + 1;
    lex_error(lx, sp, "unterminated macro body%s", "");
    return DQL_YYEOF;
}

int dql_yylex(DQL_YYSTYPE *lval, DQL_YYLTYPE *lloc, dql_lexer *lx)
{
    int tok;
again:
    if (!skip_space(lx) || lx->pos >= lx->len) {
        /* end of input is reported just after the last token */
        *lloc = here(lx);
        if (lx->last_tok) {
            lloc->start = lloc->end = lx->prev_end;
            lloc->line = lx->prev_line;
            lloc->col = lx->prev_col;
        }
        return DQL_YYEOF;
    }
    dql_span sp = here(lx);
    const char *p = lx->src + lx->pos;
    size_t rem = lx->len - lx->pos;
    char c = *p;

    if (c == '{' && lx->after_returns) return lex_macro_body(lx, lval, lloc);

    if (is_ident_start(c)) {
        size_t n = 1;
        while (n < rem && is_ident_char(p[n])) n++;
        tok = dql_keyword(p, n);
        if (tok == NOT) {
            /* NOT IN is one token so that "x NOT IN (...)" parses without conflict. */
            size_t q = n;
            while (q < rem && (p[q] == ' ' || p[q] == '\t' || p[q] == '\n')) q++;
            if (q + 2 <= rem && dql_keyword(p + q, 2) == IN && (q + 2 == rem || !is_ident_char(p[q + 2]))) {
                advance(lx, q + 2);
                tok = NOTIN;
                goto done;
            }
        }
        if (!tok) { tok = IDENT; lval->str = dql_xstrndup(p, n); }
        else if (tok == XOP) {
            lval->str = dql_xstrndup(p, n);
            for (char *u = lval->str; *u; u++) if (*u >= 'a' && *u <= 'z') *u = (char)(*u - 32);
        }
        if (tok == RETURNS) lx->after_returns = 1;
        advance(lx, n);
        goto done;
    }
    if (isdigit((unsigned char)c) || (c == '.' && rem > 1 && isdigit((unsigned char)p[1]))) {
        size_t n = 0;
        bool isfloat = false;
        while (n < rem && isdigit((unsigned char)p[n])) n++;
        if (n < rem && p[n] == '.' && n + 1 < rem && isdigit((unsigned char)p[n + 1])) {
            isfloat = true; n++;
            while (n < rem && isdigit((unsigned char)p[n])) n++;
        }
        if (n < rem && (p[n] == 'e' || p[n] == 'E')) {
            size_t m = n + 1;
            if (m < rem && (p[m] == '+' || p[m] == '-')) m++;
            if (m < rem && isdigit((unsigned char)p[m])) {
                isfloat = true; n = m;
                while (n < rem && isdigit((unsigned char)p[n])) n++;
            }
        }
        char buf[64];
        size_t bl = n < sizeof buf - 1 ? n : sizeof buf - 1;
        memcpy(buf, p, bl); buf[bl] = 0;
        if (isfloat) {
            lval->d = strtod(buf, NULL);
            tok = DOUBLE;
            if (n < rem && (p[n] == 'f' || p[n] == 'F' || p[n] == 'd' || p[n] == 'D')) n++;
        } else {
            errno = 0;
            unsigned long long v = strtoull(buf, NULL, 10);
            bool islong = n < rem && (p[n] == 'l' || p[n] == 'L');
            if (errno || v > (unsigned long long)INT64_MAX) {
                sp.end = sp.start + (uint32_t)n;
                lex_error(lx, sp, "integer literal out of range: %s", buf);
                v = 0;
            }
            lval->i = (int64_t)v;
            if (islong) { n++; tok = LONGINT; }
            else tok = v > INT32_MAX ? LONGINT : INTEGER;
        }
        if (n < rem && is_ident_char(p[n])) {
            size_t m = n;
            while (m < rem && is_ident_char(p[m])) m++;
            sp.end = sp.start + (uint32_t)m;
            char tmp[80];
            snprintf(tmp, sizeof tmp, "%.*s", (int)(m > 60 ? 60 : m), p);
            lex_error(lx, sp, "malformed number '%s'", tmp);
            advance(lx, m);
            goto again;
        }
        advance(lx, n);
        goto done;
    }
    if (c == '\'' || c == '"' || c == '`') {
        size_t n = 1;
        while (n < rem && p[n] != c && p[n] != '\n') n += (p[n] == '\\' && c != '`') ? 2 : 1;
        if (n >= rem || p[n] != c) {
            sp.end = sp.start + 1;
            lex_error(lx, sp, "unterminated string%s", "");
            advance(lx, n);
            goto again;
        }
        if (c == '`') lval->str = dql_xstrndup(p + 1, n - 1);
        else lval->str = dql_unescape(p + 1, n - 1, NULL);
        tok = c == '`' ? BQSTRING : STRING;
        advance(lx, n + 1);
        goto done;
    }
    if (c == '$') {
        size_t n = 1;
        if (n < rem && isdigit((unsigned char)p[n])) {
            while (n < rem && isdigit((unsigned char)p[n])) n++;
            lval->i = strtoll(p + 1, NULL, 10);
            advance(lx, n);
            tok = DOLLARNUM;
            goto done;
        }
        if (n < rem && is_ident_start(p[n])) {
            while (n < rem && is_ident_char(p[n])) n++;
            lval->str = dql_xstrndup(p + 1, n - 1);
            advance(lx, n);
            tok = PARAM;
            goto done;
        }
    }
    if (c == '(') {
        size_t ts, tl;
        size_t n = cast_at(lx, &ts, &tl);
        if (n) {
            lval->str = dql_xstrndup(lx->src + ts, tl);
            advance(lx, n);
            tok = CAST;
            goto done;
        }
    }
    if (rem >= 2) {
        static const struct { char a, b; int tok; } two[] = {
            {'=', '=', EQ}, {'!', '=', NE}, {'<', '>', NE}, {'<', '=', LE}, {'>', '=', GE}, {':', ':', DCOLON},
        };
        for (size_t i = 0; i < sizeof two / sizeof two[0]; i++)
            if (p[0] == two[i].a && p[1] == two[i].b) { advance(lx, 2); tok = two[i].tok; goto done; }
    }
    if (strchr("=<>+-*/%?:.,;(){}[]#", c)) {
        advance(lx, 1);
        tok = (unsigned char)c;
        if (c == ';') lx->after_returns = 0;
        goto done;
    }
    {
        char tmp[8];
        size_t n = 1;
        while (n < rem && n < 4 && ((unsigned char)p[n] & 0xC0) == 0x80) n++;
        snprintf(tmp, sizeof tmp, "%.*s", (int)n, p);
        sp.end = sp.start + (uint32_t)n;
        lex_error(lx, sp, "unexpected character '%s'", tmp);
        advance(lx, n);
        goto again;
    }
done:
    sp.end = (uint32_t)lx->pos;
    *lloc = sp;
    lx->last_tok = tok;
    lx->prev_end = (uint32_t)lx->pos;
    lx->prev_line = lx->line;
    lx->prev_col = lx->col;
    if (tok == STRING) {
        /* a $name left in a string after parameter substitution is undefined */
        const char *q = lx->src + sp.start;
        for (uint32_t i = sp.start; i + 1 < sp.end; i++, q++) {
            if (*q == '\\') { i++; q++; continue; }
            if (*q == '$' && is_ident_start(q[1])) {
                size_t n = 1;
                while (i + n < sp.end && is_ident_char(q[n])) n++;
                dql_span ps = sp;
                ps.start = i;
                ps.end = i + (uint32_t)n;
                ps.col = sp.col + (i - sp.start);
                char name[64];
                snprintf(name, sizeof name, "%.*s", (int)(n - 1 < 60 ? n - 1 : 60), q + 1);
                dql_diag(lx->errfp, DQL_DIAG_ERROR, &ps, "undefined parameter $%s (give it with -p %s=VALUE or %%default)", name, name);
                lx->nerr++;
                break;
            }
        }
    }
    return tok;
}

/* ------------------------------------------------------------ parameters */

void dql_params_set(dql_params *p, const char *name, const char *value)
{
    for (int i = 0; i < p->n; i++)
        if (strcmp(p->name[i], name) == 0) { free(p->value[i]); p->value[i] = dql_xstrdup(value); return; }
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 8;
        p->name = dql_xrealloc(p->name, sizeof(char *) * (size_t)p->cap);
        p->value = dql_xrealloc(p->value, sizeof(char *) * (size_t)p->cap);
    }
    p->name[p->n] = dql_xstrdup(name);
    p->value[p->n] = dql_xstrdup(value);
    p->n++;
}

const char *dql_params_get(const dql_params *p, const char *name)
{
    for (int i = 0; i < p->n; i++)
        if (strcmp(p->name[i], name) == 0) return p->value[i];
    return NULL;
}

void dql_params_free(dql_params *p)
{
    for (int i = 0; i < p->n; i++) { free(p->name[i]); free(p->value[i]); }
    free(p->name); free(p->value);
    memset(p, 0, sizeof *p);
}

/* Reads a %default/%declare value: a quoted string or a bare word. */
static const char *directive_value(const char *s, const char *end, char **out)
{
    while (s < end && (*s == ' ' || *s == '\t')) s++;
    if (s < end && (*s == '\'' || *s == '"')) {
        char q = *s++;
        const char *b = s;
        while (s < end && *s != q) s += (*s == '\\') ? 2 : 1;
        *out = dql_unescape(b, (size_t)((s < end ? s : end) - b), NULL);
        return s < end ? s + 1 : end;
    }
    const char *b = s;
    while (s < end && *s != '\n' && *s != ';' && *s != ' ' && *s != '\t') s++;
    *out = dql_xstrndup(b, (size_t)(s - b));
    return s;
}

char *dql_preprocess(const char *src, size_t len, dql_params *params, size_t *outlen)
{
    dql_buf b = {0};
    dql_buf_reserve(&b, len + 16);
    size_t i = 0;
    bool line_start = true;
    while (i < len) {
        char c = src[i];
        if (line_start) {
            size_t j = i;
            while (j < len && (src[j] == ' ' || src[j] == '\t')) j++;
            if (j < len && src[j] == '%') {
                size_t k = j + 1;
                while (k < len && isalpha((unsigned char)src[k])) k++;
                bool isdef = (k - j - 1 == 7 && strncmp(src + j + 1, "default", 7) == 0);
                bool isdecl = (k - j - 1 == 7 && strncmp(src + j + 1, "declare", 7) == 0);
                if (isdef || isdecl) {
                    const char *end = src + len;
                    const char *s = src + k;
                    while (s < end && (*s == ' ' || *s == '\t')) s++;
                    const char *nb = s;
                    while (s < end && is_ident_char(*s)) s++;
                    char *name = dql_xstrndup(nb, (size_t)(s - nb));
                    char *val = NULL;
                    s = directive_value(s, end, &val);
                    if (strchr(val, '$')) {
                        /* a default may refer to other parameters: %default out '$dir/x' */
                        size_t vl;
                        char *sub = dql_preprocess(val, strlen(val), params, &vl);
                        free(val);
                        val = sub;
                    }
                    if (isdecl || !dql_params_get(params, name)) dql_params_set(params, name, val);
                    free(name); free(val);
                    while (s < end && *s != '\n') s++;
                    /* blank the directive, keep the line */
                    i = (size_t)(s - src);
                    continue;
                }
            }
        }
        line_start = false;
        if (c == '\n') { line_start = true; dql_buf_putc(&b, c); i++; continue; }
        if (c == '-' && i + 1 < len && src[i + 1] == '-') {
            while (i < len && src[i] != '\n') dql_buf_putc(&b, src[i++]);
            continue;
        }
        if (c == '/' && i + 1 < len && src[i + 1] == '*') {
            size_t e = i + 2;
            while (e + 1 < len && !(src[e] == '*' && src[e + 1] == '/')) e++;
            e = e + 2 <= len ? e + 2 : len;
            dql_buf_put(&b, src + i, e - i);
            i = e;
            continue;
        }
        if (c == '\\' && i + 1 < len && src[i + 1] == '$') { dql_buf_put(&b, src + i, 2); i += 2; continue; }
        if (c == '$' && i + 1 < len && is_ident_start(src[i + 1])) {
            size_t e = i + 1;
            while (e < len && is_ident_char(src[e])) e++;
            char name[128];
            size_t nl = e - i - 1 < sizeof name - 1 ? e - i - 1 : sizeof name - 1;
            memcpy(name, src + i + 1, nl); name[nl] = 0;
            const char *v = dql_params_get(params, name);
            if (v) { dql_buf_puts(&b, v); i = e; continue; }
        }
        dql_buf_putc(&b, c);
        i++;
    }
    if (outlen) *outlen = b.len;
    dql_buf_cstr(&b);
    return b.p;
}

bool dql_lex_complete(const char *t, size_t len)
{
    int depth = 0;
    char last = 0;
    bool any = false;
    for (size_t i = 0; i < len; i++) {
        char c = t[i];
        if (c == '-' && i + 1 < len && t[i + 1] == '-') { while (i < len && t[i] != '\n') i++; continue; }
        if (c == '/' && i + 1 < len && t[i + 1] == '*') {
            i += 2;
            while (i + 1 < len && !(t[i] == '*' && t[i + 1] == '/')) i++;
            if (i + 1 >= len) return false;
            i++;
            continue;
        }
        if (c == '\'' || c == '"' || c == '`') {
            char q = c;
            i++;
            while (i < len && t[i] != q) { if (t[i] == '\\' && q != '`') i++; i++; }
            if (i >= len) return false;
            last = q; any = true;
            continue;
        }
        if (c == '(' || c == '{' || c == '[') depth++;
        if (c == ')' || c == '}' || c == ']') depth--;
        if (!isspace((unsigned char)c)) { last = c; any = true; }
    }
    if (!any) return true;
    return depth <= 0 && last == ';';
}
