/* parse.y — the dql grammar (bison, LALR(1), zero conflicts). Every token and
 * node carries its source span. Keywords are case-insensitive and most may be
 * used as field names (DNS data has fields called type, class, group...). */

%code requires {
#include "dql.h"
#include "ast.h"
#include "lexer.h"
#define DQL_YYLTYPE dql_span
#define DQL_YYLTYPE_IS_DECLARED 1
#define DQL_YYLTYPE_IS_TRIVIAL 1
}

%code provides {
int dql_yylex(DQL_YYSTYPE *lval, DQL_YYLTYPE *lloc, dql_lexer *lx);
}

%code {
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "diag.h"

#define YYLLOC_DEFAULT(Cur, Rhs, N)                                        \
    do {                                                                   \
        if (N) { (Cur) = dql_span_join(YYRHSLOC(Rhs, 1), YYRHSLOC(Rhs, N)); } \
        else { (Cur) = YYRHSLOC(Rhs, 0); (Cur).start = (Cur).end; }        \
    } while (0)

static dql_node *mk(dql_nk k, dql_span sp) { return dql_node_new(k, sp); }
static dql_node *mk1(dql_nk k, dql_span sp, dql_node *a) { dql_node *n = mk(k, sp); dql_node_add(n, a); return n; }
static dql_node *mk2(dql_nk k, dql_span sp, dql_node *a, dql_node *b) { dql_node *n = mk1(k, sp, a); dql_node_add(n, b); return n; }
static dql_node *mks(dql_nk k, dql_span sp, char *s) { dql_node *n = mk(k, sp); n->str = s; return n; }
static dql_node *binop(int op, dql_span sp, dql_node *a, dql_node *b) { dql_node *n = mk2(N_BINOP, sp, a, b); n->ival = op; return n; }
static char *joinname(const char *a, const char *sep, const char *b) {
    size_t la = strlen(a), ls = strlen(sep), lb = strlen(b);
    char *r = dql_xmalloc(la + ls + lb + 1);
    memcpy(r, a, la); memcpy(r + la, sep, ls); memcpy(r + la + ls, b, lb + 1);
    return r;
}
static void yyerror(YYLTYPE *loc, dql_lexer *lx, dql_node **out, const char *msg);
/* Helpers defined in ast.c. */
char *dql_yy_word(dql_lexer *lx, const dql_span *sp);
dql_field *dql_yy_field(dql_lexer *lx, const dql_span *sp, char *name, char *tname, dql_type t, dql_schema *sub);
void dql_yy_free_field(dql_field *f);
dql_schema *dql_yy_cast_schema(dql_lexer *lx, const dql_span *sp, char *tname);
dql_node *dql_yy_xstmt(dql_lexer *lx, dql_span sp, char *verb, char *target, char *w1, const dql_span *w1sp,
                       const char *w1want, dql_node *rel, dql_node *by, char *w2, const dql_span *w2sp,
                       dql_node *label, dql_node *group, dql_node *with);
}

%define api.pure full
%define api.prefix {dql_yy}
%define parse.error custom
%locations
%lex-param {dql_lexer *lx}
%parse-param {dql_lexer *lx} {dql_node **out}

%union {
    dql_node *node;
    char *str;
    int64_t i;
    double d;
    dql_schema *schema;
    dql_field *field;
}

%token <str> IDENT "identifier" STRING "string" BQSTRING "`command`" PARAM "parameter" MACROBODY "macro body"
%token <i> INTEGER "integer" LONGINT "long integer" DOLLARNUM "$N"
%token <d> DOUBLE "number"
%token <str> CAST "cast"
%token <str> XOP "verb"
%token LOAD "LOAD" USING "USING" AS "AS" STORE "STORE" INTO "INTO" DUMP "DUMP" FOREACH "FOREACH"
%token GENERATE "GENERATE" FLATTEN "FLATTEN" FILTER "FILTER" BY "BY" GROUP "GROUP" COGROUP "COGROUP"
%token ALL "ALL" JOIN "JOIN" LEFT "LEFT" RIGHT "RIGHT" FULL "FULL" OUTER "OUTER" INNER "INNER"
%token ORDER "ORDER" ASC "ASC" DESC "DESC" LIMIT "LIMIT" DISTINCT "DISTINCT" UNION "UNION"
%token ONSCHEMA "ONSCHEMA" SPLIT "SPLIT" IF "IF" OTHERWISE "OTHERWISE" SAMPLE "SAMPLE" CROSS "CROSS"
%token STREAM "STREAM" THROUGH "THROUGH" DESCRIBE "DESCRIBE" EXPLAIN "EXPLAIN" SET "SET"
%token REGISTER "REGISTER" DEFINE "DEFINE" IMPORT "IMPORT" SQL "SQL" RETURNS "RETURNS"
%token AND "AND" OR "OR" NOT "NOT" IS "IS" NUL "NULL" IN "IN" MATCHES "MATCHES" CASE "CASE"
%token WHEN "WHEN" THEN "THEN" ELSE "ELSE" END "END" TRUE "TRUE" FALSE "FALSE" OVERWRITE "OVERWRITE"
%token PARALLEL "PARALLEL" TUPLE "TUPLE" BAG "BAG" MAP "MAP" TYPES "TYPES" WITH "WITH"
%token EQ "==" NE "!=" LE "<=" GE ">=" DCOLON "::" NOTIN "NOT IN"

%type <node> stmts stmt relexpr rel gen_items gen_item nested_stmts nested_stmt nested_op expr
%type <node> primary tail literal args arglist call qname_node group_inputs group_input join_inputs join_input
%type <node> keys order_keys order_key rels split_branches split_branch func_spec func_args func_arglist
%type <node> func_arg argval expr_list when_list namelist name_list_item macro_args set_value opt_using
%type <node> macro_params opt_by opt_types opt_with type_words opt_using_model opt_group_by
%type <str> name fname qname opt_join_using
%type <schema> schema_list opt_as_schema bag_body
%type <field> field_decl
%type <i> join_type opt_overwrite opt_inner opt_dir

/* values dropped by error recovery are freed */
%destructor { dql_node_free($$); } <node>
%destructor { free($$); } <str>
%destructor { dql_schema_free($$); } <schema>
%destructor { dql_yy_free_field($$); } <field>

%right '?' ':'
%left OR
%left AND
%precedence NOT
%nonassoc EQ NE '<' '>' LE GE MATCHES IS IN NOTIN
%left '+' '-'
%left '*' '/' '%'
%precedence UMINUS
%precedence CAST

%start script

%%

script: stmts { *out = $1; }
      ;

stmts: %empty { $$ = mk(N_SCRIPT, @$); }
     | stmts stmt { $$ = $1; if ($2) dql_node_add($$, $2); }
     | stmts error ';' { $$ = $1; yyerrok; }
     ;

stmt: name '=' relexpr ';'       { $$ = mks(N_ASSIGN, @$, $1); dql_node_add($$, $3); }
    | name '=' name '(' macro_args ')' ';'
                                 { dql_node *c = mks(N_MACRO_CALL, dql_span_join(@3, @6), $3);
                                   for (int i = 0; i < $5->nkids; i++) dql_node_add(c, $5->kids[i]);
                                   $5->nkids = 0; dql_node_free($5);
                                   $$ = mk2(N_MACRO_CALL_STMT, @$, c, mk1(N_LIST, @1, mks(N_NAME, @1, $1))); }
    | DUMP rel ';'               { $$ = mk1(N_DUMP, @$, $2); }
    | STORE rel INTO STRING opt_using opt_overwrite opt_with ';'
                                 { $$ = mk1(N_STORE, @$, $2); dql_node_add($$, $5); dql_node_add($$, $7); $$->str = $4; $$->ival = $6; }
    | DESCRIBE rel ';'           { $$ = mk1(N_DESCRIBE, @$, $2); }
    | DESCRIBE name DCOLON name ';' { $$ = mk1(N_DESCRIBE, @$, mks(N_NAME, @2, joinname($2, "::", $4))); free($2); free($4); }
    | EXPLAIN rel ';'            { $$ = mk1(N_EXPLAIN, @$, $2); }
    | SET qname set_value ';'    { $$ = mks(N_SET, @$, $2); dql_node_add($$, $3); }
    | SET qname ';'              { $$ = mks(N_SET, @$, $2); }
    | SET ';'                    { $$ = mk(N_SET, @$); }
    | REGISTER STRING ';'        { $$ = mks(N_REGISTER, @$, $2); }
    | REGISTER STRING AS name ';' { $$ = mks(N_REGISTER, @$, $2); dql_node_add($$, mks(N_NAME, @4, $4)); }
    | DEFINE name func_spec ';'  { $$ = mks(N_DEFINE_FN, @$, $2); dql_node_add($$, $3); }
    | DEFINE name BQSTRING ';'   { $$ = mks(N_DEFINE_FN, @$, $2); dql_node_add($$, mks(N_STRING, @3, $3)); }
    | DEFINE name '(' macro_params ')' RETURNS macro_params MACROBODY ';'
                                 { $$ = mks(N_DEFINE_MACRO, @$, $2); dql_node_add($$, $4); dql_node_add($$, $7);
                                   $$->sval = $8; $$->ival = @8.start; $$->ival2 = @8.line; }
    | IMPORT STRING ';'          { $$ = mks(N_IMPORT, @$, $2); }
    | SPLIT rel INTO split_branches ';' { $$ = mk1(N_SPLIT, @$, $2); for (int i = 0; i < $4->nkids; i++) dql_node_add($$, $4->kids[i]); $4->nkids = 0; dql_node_free($4); }
    | SQL STRING ';'             { $$ = mks(N_SQL_STMT, @$, $2); }
    /* verb statements: TRAIN 'model' FROM rel BY expr LABEL expr [GROUP BY expr] [WITH (...)];
     * and EVALUATE 'model' ON rel BY expr LABEL expr [GROUP BY expr] [WITH (...)]; (FROM, ON
     * and LABEL are words here, not keywords: LABEL stays a function name) */
    | XOP STRING IDENT rel BY expr IDENT expr opt_group_by opt_with ';'
        { $$ = dql_yy_xstmt(lx, @$, $1, $2, $3, &@3, "FROM", $4, $6, $7, &@7, $8, $9, $10); }
    | IDENT STRING IDENT rel BY expr IDENT expr opt_group_by opt_with ';'
        { $$ = dql_yy_xstmt(lx, @$, $1, $2, $3, &@3, "ON", $4, $6, $7, &@7, $8, $9, $10); }
    | name ',' name_params '=' name '(' macro_args ')' ';'
                                 { dql_node *c = mks(N_MACRO_CALL, dql_span_join(@5, @8), $5);
                                   for (int i = 0; i < $7->nkids; i++) dql_node_add(c, $7->kids[i]);
                                   $7->nkids = 0; dql_node_free($7);
                                   dql_node *outs = mk1(N_LIST, @1, mks(N_NAME, @1, $1));
                                   for (int i = 0; i < $3->nkids; i++) dql_node_add(outs, $3->kids[i]);
                                   $3->nkids = 0; dql_node_free($3);
                                   $$ = mk2(N_MACRO_CALL_STMT, @$, c, outs); }
    | name '(' macro_args ')' ';'
                                 { dql_node *c = mks(N_MACRO_CALL, dql_span_join(@1, @4), $1);
                                   for (int i = 0; i < $3->nkids; i++) dql_node_add(c, $3->kids[i]);
                                   $3->nkids = 0; dql_node_free($3);
                                   $$ = mk2(N_MACRO_CALL_STMT, @$, c, mk(N_LIST, @1)); }
    ;

macro_args: %empty { $$ = mk(N_LIST, @$); }
          | macro_arglist { $$ = $1; }
          ;
macro_arglist: argval { $$ = mk1(N_LIST, @$, $1); }
             | name { $$ = mk1(N_LIST, @$, mks(N_REF, @1, $1)); }
             | macro_arglist ',' argval { $$ = $1; dql_node_add($$, $3); }
             | macro_arglist ',' name { $$ = $1; dql_node_add($$, mks(N_REF, @3, $3)); }
             ;
%type <node> macro_arglist;
macro_params: '(' ')' { $$ = mk(N_LIST, @$); }
            | %empty { $$ = mk(N_LIST, @$); }
            | name_params { $$ = $1; }
            ;
%type <node> name_params;
name_params: name { $$ = mk1(N_LIST, @$, mks(N_NAME, @1, $1)); }
           | name_params ',' name { $$ = $1; dql_node_add($$, mks(N_NAME, @3, $3)); }
           ;

set_value: STRING { $$ = mks(N_STRING, @$, $1); }
         | INTEGER { $$ = mk(N_INT, @$); $$->ival = $1; }
         | LONGINT { $$ = mk(N_LONG, @$); $$->ival = $1; }
         | DOUBLE { $$ = mk(N_DOUBLE, @$); $$->dval = $1; }
         | TRUE { $$ = mk(N_BOOL, @$); $$->ival = 1; }
         | FALSE { $$ = mk(N_BOOL, @$); $$->ival = 0; }
         | qname { $$ = mks(N_STRING, @$, $1); }
         ;

opt_using: %empty { $$ = NULL; }
         | USING func_spec { $$ = $2; }
         ;
opt_overwrite: %empty { $$ = 0; } | OVERWRITE { $$ = 1; } ;

func_spec: qname '(' func_args ')' { $$ = mks(N_FUNC, @$, $1); for (int i = 0; i < $3->nkids; i++) dql_node_add($$, $3->kids[i]); $3->nkids = 0; dql_node_free($3); }
         | qname { $$ = mks(N_FUNC, @$, $1); }
         ;
func_args: %empty { $$ = mk(N_LIST, @$); }
         | func_arglist { $$ = $1; }
         ;
func_arglist: func_arg { $$ = mk1(N_LIST, @$, $1); }
            | func_arglist ',' func_arg { $$ = $1; dql_node_add($$, $3); }
            ;
/* argument names may be keywords (parallel = 2, explain = true, null = 'NA') */
func_arg: argval { $$ = mk1(N_ARG, @$, $1); }
        | fname '=' argval { $$ = mks(N_ARG, @$, $1); dql_node_add($$, $3); }
        | fname '=' name { $$ = mks(N_ARG, @$, $1); dql_node_add($$, mks(N_STRING, @3, $3)); }
        | NUL '=' argval { $$ = mks(N_ARG, @$, dql_xstrdup("null")); dql_node_add($$, $3); }
        ;
argval: STRING { $$ = mks(N_STRING, @$, $1); }
      | INTEGER { $$ = mk(N_INT, @$); $$->ival = $1; }
      | LONGINT { $$ = mk(N_LONG, @$); $$->ival = $1; }
      | DOUBLE { $$ = mk(N_DOUBLE, @$); $$->dval = $1; }
      | '-' INTEGER { $$ = mk(N_INT, @$); $$->ival = -$2; }
      | '-' DOUBLE { $$ = mk(N_DOUBLE, @$); $$->dval = -$2; }
      | TRUE { $$ = mk(N_BOOL, @$); $$->ival = 1; }
      | FALSE { $$ = mk(N_BOOL, @$); $$->ival = 0; }
      | NUL { $$ = mk(N_NULL, @$); }
      | '(' func_tuple ')' { $$ = $2; $$->sp = @$; }
      ;
%type <node> func_tuple;
func_tuple: argval { $$ = mk1(N_TUPLE, @$, $1); }
          | name { $$ = mk1(N_TUPLE, @$, mks(N_STRING, @1, $1)); }
          | func_tuple ',' argval { $$ = $1; dql_node_add($$, $3); }
          | func_tuple ',' name { $$ = $1; dql_node_add($$, mks(N_STRING, @3, $3)); }
          ;

split_branches: split_branch { $$ = mk1(N_LIST, @$, $1); }
              | split_branches ',' split_branch { $$ = $1; dql_node_add($$, $3); }
              ;
split_branch: name IF expr { $$ = mks(N_SPLIT_BRANCH, @$, $1); dql_node_add($$, $3); }
            | name OTHERWISE { $$ = mks(N_SPLIT_BRANCH, @$, $1); dql_node_add($$, NULL); }
            ;

/* ------------------------------------------------------------ relations */

rel: name { $$ = mks(N_REF, @$, $1); }
   | '(' relexpr ')' { $$ = $2; }
   ;

relexpr: LOAD STRING opt_using opt_as_schema
           { $$ = mks(N_LOAD, @$, $2); dql_node_add($$, $3); $$->schema = $4; }
       | FOREACH rel GENERATE gen_items opt_parallel
           { $$ = mk2(N_FOREACH, @$, $2, $4); }
       | FOREACH rel '{' nested_stmts GENERATE gen_items ';' '}'
           { $$ = mk2(N_FOREACH, @$, $2, $6); dql_node_add($$, $4); }
       | FILTER rel BY expr { $$ = mk2(N_FILTER, @$, $2, $4); }
       | GROUP rel ALL opt_parallel
           { dql_node *gi = mk2(N_GROUP_INPUT, @2, $2, NULL); $$ = mk1(N_GROUP, @$, gi); }
       | GROUP rel BY keys opt_parallel
           { dql_node *gi = mk2(N_GROUP_INPUT, dql_span_join(@2, @4), $2, $4); $$ = mk1(N_GROUP, @$, gi); }
       | COGROUP group_inputs opt_parallel
           { $$ = $2; $$->kind = N_GROUP; $$->sp = @$; $$->ival = 1; }
       | JOIN join_inputs opt_join_using opt_parallel
           { $$ = $2; $$->kind = N_JOIN; $$->sp = @$; $$->str = $3; }
       | ORDER rel BY order_keys opt_parallel { $$ = mk2(N_ORDER, @$, $2, $4); }
       | LIMIT rel expr { $$ = mk2(N_LIMIT, @$, $2, $3); }
       | DISTINCT rel opt_parallel { $$ = mk1(N_DISTINCT, @$, $2); }
       | UNION rels { $$ = $2; $$->kind = N_UNION; $$->sp = @$; }
       | UNION ONSCHEMA rels { $$ = $3; $$->kind = N_UNION; $$->sp = @$; $$->ival = 1; }
       | SAMPLE rel expr { $$ = mk2(N_SAMPLE, @$, $2, $3); }
       | CROSS rels opt_parallel { $$ = $2; $$->kind = N_CROSS; $$->sp = @$; }
       | STREAM rel THROUGH BQSTRING opt_with opt_as_schema
           { $$ = mk1(N_STREAM, @$, $2); dql_node_add($$, $5); $$->str = $4; $$->schema = $6; }
       | STREAM rel THROUGH name opt_with opt_as_schema
           { $$ = mk1(N_STREAM, @$, $2); dql_node_add($$, $5); $$->str = $4; $$->ival = 1; $$->schema = $6; }
       | STREAM rel THROUGH name STRING opt_with opt_as_schema
           { $$ = mk1(N_STREAM, @$, $2); dql_node_add($$, $6); $$->str = $5; $$->ival2 = 1; $$->schema = $7;
             if (strcasecmp($4, "SHELL") != 0) { dql_diag(lx->errfp, DQL_DIAG_ERROR, &@4, "expected `command`, a DEFINEd command or SHELL 'command', not '%s'", $4); lx->nerr++; }
             free($4); }
       | SQL STRING { $$ = mks(N_SQL, @$, $2); }
       | XOP rel opt_by opt_types opt_using_model opt_with
           { $$ = mks(N_XOP, @$, $1); dql_node_add($$, $2); dql_node_add($$, $3); dql_node_add($$, $4); dql_node_add($$, $6);
             dql_node_add($$, $5); }
       | rel { $$ = $1; }
       ;

/* the DNS verbs: VERB rel [BY expr] [TYPES (A, MX, ...)] [USING 'model'] [WITH (k = v, ...)] */
opt_group_by: %empty { $$ = NULL; } | GROUP BY expr { $$ = $3; } ;
opt_using_model: %empty { $$ = NULL; } | USING STRING { $$ = mks(N_STRING, @2, $2); } ;
opt_by: %empty { $$ = NULL; } | BY expr { $$ = $2; } ;
opt_types: %empty { $$ = NULL; } | TYPES '(' type_words ')' { $$ = $3; $$->sp = @$; } ;
type_words: fname { $$ = mk1(N_LIST, @$, mks(N_NAME, @1, $1)); }
          | type_words ',' fname { $$ = $1; dql_node_add($$, mks(N_NAME, @3, $3)); }
          ;
opt_with: %empty { $$ = NULL; } | WITH '(' func_arglist ')' { $$ = $3; $$->sp = @$; } ;

opt_parallel: %empty | PARALLEL INTEGER ;
opt_join_using: %empty { $$ = NULL; } | USING STRING { $$ = $2; } ;

rels: rel ',' rel { $$ = mk2(N_LIST, @$, $1, $3); }
    | rels ',' rel { $$ = $1; dql_node_add($$, $3); }
    ;

/* GROUP x BY (a, b): the tuple expression is split into keys by the planner. */
keys: expr { $$ = mk1(N_LIST, @$, $1); }
    ;

group_inputs: group_input { $$ = mk1(N_LIST, @$, $1); }
            | group_inputs ',' group_input { $$ = $1; dql_node_add($$, $3); }
            ;
group_input: rel BY keys opt_inner { $$ = mk2(N_GROUP_INPUT, @$, $1, $3); $$->ival = $4; }
           | rel ALL opt_inner { $$ = mk2(N_GROUP_INPUT, @$, $1, NULL); $$->ival = $3; }
           ;
opt_inner: %empty { $$ = 0; } | INNER { $$ = 1; } | OUTER { $$ = 0; } ;

join_inputs: join_input join_type ',' join_input
               { $$ = mk2(N_LIST, @$, $1, $4); $$->ival = $2; }
           | join_inputs ',' join_input { $$ = $1; if ($$->ival) { dql_diag(lx->errfp, DQL_DIAG_ERROR, &@3, "an outer join takes exactly two relations"); lx->nerr++; } dql_node_add($$, $3); }
           ;
join_input: rel BY keys { $$ = mk2(N_GROUP_INPUT, @$, $1, $3); }
          ;
join_type: %empty { $$ = 0; }
         | LEFT { $$ = 1; } | LEFT OUTER { $$ = 1; }
         | RIGHT { $$ = 2; } | RIGHT OUTER { $$ = 2; }
         | FULL { $$ = 3; } | FULL OUTER { $$ = 3; }
         ;

order_keys: order_key { $$ = mk1(N_LIST, @$, $1); }
          | order_keys ',' order_key { $$ = $1; dql_node_add($$, $3); }
          ;
order_key: expr opt_dir { $$ = mk1(N_SORTKEY, @$, $1); $$->ival = $2; }
         ;
opt_dir: %empty { $$ = 0; } | ASC { $$ = 0; } | DESC { $$ = 1; } ;

/* ------------------------------------------------------------ FOREACH */

gen_items: gen_item { $$ = mk1(N_LIST, @$, $1); }
         | gen_items ',' gen_item { $$ = $1; dql_node_add($$, $3); }
         ;
gen_item: expr opt_as_schema { $$ = mk1(N_GEN_ITEM, @$, $1); $$->schema = $2; }
        | FLATTEN '(' expr ')' opt_as_schema { $$ = mk1(N_GEN_ITEM, @$, $3); $$->schema = $5; $$->ival = 1; }
        | '*' { $$ = mk(N_STAR, @$); }
        ;

nested_stmts: nested_stmt { $$ = mk1(N_LIST, @$, $1); }
            | nested_stmts nested_stmt { $$ = $1; dql_node_add($$, $2); }
            ;
nested_stmt: name '=' nested_op ';' { $$ = mks(N_NESTED_ASSIGN, @$, $1); dql_node_add($$, $3); }
           ;
nested_op: FILTER primary BY expr { $$ = mk2(N_NFILTER, @$, $2, $4); }
         | ORDER primary BY order_keys { $$ = mk2(N_NORDER, @$, $2, $4); }
         | LIMIT primary INTEGER { dql_node *c = mk(N_INT, @3); c->ival = $3; $$ = mk2(N_NLIMIT, @$, $2, c); }
         | DISTINCT primary { $$ = mk1(N_NDISTINCT, @$, $2); }
         | expr { $$ = $1; }
         ;

/* ------------------------------------------------------------ schemas */

opt_as_schema: %empty { $$ = NULL; }
             | AS '(' schema_list ')' { $$ = $3; }
             | AS field_decl { $$ = dql_schema_new(0); dql_schema_add($$, $2->name, $2->type, $2->sub); dql_yy_free_field($2); }
             ;
schema_list: field_decl { $$ = dql_schema_new(0); dql_schema_add($$, $1->name, $1->type, $1->sub); dql_yy_free_field($1); }
           | schema_list ',' field_decl { $$ = $1; dql_schema_add($$, $3->name, $3->type, $3->sub); dql_yy_free_field($3); }
           ;
field_decl: fname { $$ = dql_yy_field(lx, &@1, $1, NULL, DQL_T_BYTEARRAY, NULL); }
          | fname ':' name { $$ = dql_yy_field(lx, &@3, $1, $3, DQL_T__COUNT, NULL); }
          | fname ':' MAP '[' ']' { $$ = dql_yy_field(lx, &@3, $1, NULL, DQL_T_MAP, NULL); }
          | fname ':' MAP '[' name ']' { $$ = dql_yy_field(lx, &@3, $1, NULL, DQL_T_MAP, NULL); free($5); }
          | fname ':' TUPLE '(' schema_list ')' { $$ = dql_yy_field(lx, &@3, $1, NULL, DQL_T_TUPLE, $5); }
          | fname ':' '(' schema_list ')' { $$ = dql_yy_field(lx, &@3, $1, NULL, DQL_T_TUPLE, $4); }
          | fname ':' BAG '{' bag_body '}' { $$ = dql_yy_field(lx, &@3, $1, NULL, DQL_T_BAG, $5); }
          | fname ':' '{' bag_body '}' { $$ = dql_yy_field(lx, &@3, $1, NULL, DQL_T_BAG, $4); }
          ;
 bag_body: '(' schema_list ')' { $$ = $2; }
        | fname ':' '(' schema_list ')' { $$ = $4; free($1); }
        | fname ':' TUPLE '(' schema_list ')' { $$ = $5; free($1); }
        | %empty { $$ = dql_schema_new(0); }
        ;

/* ------------------------------------------------------------ expressions */

expr: expr OR expr { $$ = binop(OR, @$, $1, $3); }
    | expr AND expr { $$ = binop(AND, @$, $1, $3); }
    | NOT expr { $$ = mk1(N_UNOP, @$, $2); $$->ival = NOT; }
    | expr EQ expr { $$ = binop(EQ, @$, $1, $3); }
    | expr NE expr { $$ = binop(NE, @$, $1, $3); }
    | expr '<' expr { $$ = binop('<', @$, $1, $3); }
    | expr '>' expr { $$ = binop('>', @$, $1, $3); }
    | expr LE expr { $$ = binop(LE, @$, $1, $3); }
    | expr GE expr { $$ = binop(GE, @$, $1, $3); }
    | expr MATCHES expr { $$ = mk2(N_MATCHES, @$, $1, $3); }
    | expr IS NUL { $$ = mk1(N_ISNULL, @$, $1); }
    | expr IS NOT NUL { $$ = mk1(N_ISNULL, @$, $1); $$->ival = 1; }
    | expr IN '(' expr_list ')' { $$ = mk2(N_IN, @$, $1, $4); }
    | expr NOTIN '(' expr_list ')' { $$ = mk2(N_IN, @$, $1, $4); $$->ival = 1; }
    | expr '+' expr { $$ = binop('+', @$, $1, $3); }
    | expr '-' expr { $$ = binop('-', @$, $1, $3); }
    | expr '*' expr { $$ = binop('*', @$, $1, $3); }
    | expr '/' expr { $$ = binop('/', @$, $1, $3); }
    | expr '%' expr { $$ = binop('%', @$, $1, $3); }
    | '-' expr %prec UMINUS { $$ = mk1(N_UNOP, @$, $2); $$->ival = '-'; }
    | expr '?' expr ':' expr { $$ = mk2(N_COND, @$, $1, $3); dql_node_add($$, $5); }
    | CAST expr { $$ = mk1(N_CAST, @$, $2); $$->schema = dql_yy_cast_schema(lx, &@1, $1); }
    | primary { $$ = $1; }
    ;

expr_list: expr { $$ = mk1(N_LIST, @$, $1); }
         | expr_list ',' expr { $$ = $1; dql_node_add($$, $3); }
         ;

primary: qname_node { $$ = $1; }
       | tail { $$ = $1; }
       | literal { $$ = $1; }
       | CASE when_list END { $$ = $2; $$->sp = @$; }
       | CASE when_list ELSE expr END { $$ = $2; dql_node_add($$, $4); $$->ival = 1; $$->sp = @$; }
       | CASE expr when_list END { $$ = $3; $$->kids[0] = $2; $$->sp = @$; }
       | CASE expr when_list ELSE expr END { $$ = $3; dql_node_add($$, $5); $$->ival = 1; $$->kids[0] = $2; $$->sp = @$; }
       | '(' expr ',' expr_list ')' { $$ = $4; $$->kind = N_TUPLE; dql_node_add($$, NULL);
                                      memmove($$->kids + 1, $$->kids, sizeof(dql_node *) * ($$->nkids - 1));
                                      $$->kids[0] = $2; $$->sp = @$; }
       | '{' '}' { $$ = mk(N_BAGC, @$); }
       | '{' expr_list '}' { $$ = $2; $$->kind = N_BAGC; $$->sp = @$; }
       | '[' ']' { $$ = mk(N_MAPC, @$); }
       | '[' map_items ']' { $$ = $2; $$->sp = @$; }
       ;
%type <node> map_items;
map_items: STRING '#' expr { $$ = mk2(N_MAPC, @$, mks(N_STRING, @1, $1), $3); }
         | map_items ',' STRING '#' expr { $$ = $1; dql_node_add($$, mks(N_STRING, @3, $3)); dql_node_add($$, $5); }
         ;

when_list: WHEN expr THEN expr { $$ = mk1(N_CASE, @$, NULL); dql_node_add($$, $2); dql_node_add($$, $4); }
         | when_list WHEN expr THEN expr { $$ = $1; dql_node_add($$, $3); dql_node_add($$, $5); }
         ;

qname_node: qname { $$ = mks(N_NAME, @$, $1); }
          ;

tail: DOLLARNUM { $$ = mk(N_POS, @$); $$->ival = $1; }
    | call { $$ = $1; }
    | '(' expr ')' { $$ = $2; }
    | qname '#' STRING { $$ = mk1(N_MAPGET, @$, mks(N_NAME, @1, $1)); $$->str = $3; }
    | tail '#' STRING { $$ = mk1(N_MAPGET, @$, $1); $$->str = $3; }
    | tail '.' fname { $$ = mk1(N_PROJ, @$, $1); $$->str = $3; }
    | tail '.' DOLLARNUM { $$ = mk1(N_PROJ, @$, $1); $$->ival = $3; }
    | qname '.' DOLLARNUM { $$ = mk1(N_PROJ, @$, mks(N_NAME, @1, $1)); $$->ival = $3; }
    | tail '.' '(' namelist ')' { $$ = mk2(N_PROJ_MULTI, @$, $1, $4); }
    | qname '.' '(' namelist ')' { $$ = mk2(N_PROJ_MULTI, @$, mks(N_NAME, @1, $1), $4); }
    | PARAM { $$ = mks(N_PARAM, @$, $1); }
    ;

namelist: name_list_item { $$ = mk1(N_LIST, @$, $1); }
        | namelist ',' name_list_item { $$ = $1; dql_node_add($$, $3); }
        ;
name_list_item: fname { $$ = mks(N_NAME, @$, $1); }
              | DOLLARNUM { $$ = mk(N_POS, @$); $$->ival = $1; }
              ;

call: qname '(' args ')' { $$ = $3; $$->kind = N_CALL; $$->str = $1; $$->sp = @$; }
    ;
args: %empty { $$ = mk(N_LIST, @$); }
    | arglist { $$ = $1; }
    ;
arglist: expr { $$ = mk1(N_LIST, @$, $1); }
       | arglist ',' expr { $$ = $1; dql_node_add($$, $3); }
       ;

literal: STRING { $$ = mks(N_STRING, @$, $1); }
       | INTEGER { $$ = mk(N_INT, @$); $$->ival = $1; }
       | LONGINT { $$ = mk(N_LONG, @$); $$->ival = $1; }
       | DOUBLE { $$ = mk(N_DOUBLE, @$); $$->dval = $1; }
       | TRUE { $$ = mk(N_BOOL, @$); $$->ival = 1; }
       | FALSE { $$ = mk(N_BOOL, @$); $$->ival = 0; }
       | NUL { $$ = mk(N_NULL, @$); }
       ;

qname: fname { $$ = $1; }
     | qname '.' fname { $$ = joinname($1, ".", $3); free($1); free($3); }
     | fname DCOLON fname { $$ = joinname($1, "::", $3); free($1); free($3); }
     ;

/* Words usable as names: identifiers and the keywords that cannot start or
 * continue an expression. */
name: IDENT { $$ = $1; } ;

fname: IDENT { $$ = $1; }
    | LOAD { $$ = dql_yy_word(lx, &@1); } | USING { $$ = dql_yy_word(lx, &@1); }
    | STORE { $$ = dql_yy_word(lx, &@1); } | INTO { $$ = dql_yy_word(lx, &@1); }
    | DUMP { $$ = dql_yy_word(lx, &@1); } | GROUP { $$ = dql_yy_word(lx, &@1); }
    | ALL { $$ = dql_yy_word(lx, &@1); } | JOIN { $$ = dql_yy_word(lx, &@1); }
    
    | SAMPLE { $$ = dql_yy_word(lx, &@1); } | STREAM { $$ = dql_yy_word(lx, &@1); }
    | SET { $$ = dql_yy_word(lx, &@1); } | OUTER { $$ = dql_yy_word(lx, &@1); }
    | INNER { $$ = dql_yy_word(lx, &@1); } | LEFT { $$ = dql_yy_word(lx, &@1); }
    | RIGHT { $$ = dql_yy_word(lx, &@1); } | FULL { $$ = dql_yy_word(lx, &@1); }
    | ASC { $$ = dql_yy_word(lx, &@1); } | DESC { $$ = dql_yy_word(lx, &@1); }
    | SQL { $$ = dql_yy_word(lx, &@1); } | OVERWRITE { $$ = dql_yy_word(lx, &@1); }
    | ONSCHEMA { $$ = dql_yy_word(lx, &@1); } | OTHERWISE { $$ = dql_yy_word(lx, &@1); }
    | THROUGH { $$ = dql_yy_word(lx, &@1); } | RETURNS { $$ = dql_yy_word(lx, &@1); }
    | IMPORT { $$ = dql_yy_word(lx, &@1); } | PARALLEL { $$ = dql_yy_word(lx, &@1); }
     
    | CROSS { $$ = dql_yy_word(lx, &@1); } | UNION { $$ = dql_yy_word(lx, &@1); }
    | SPLIT { $$ = dql_yy_word(lx, &@1); } | DESCRIBE { $$ = dql_yy_word(lx, &@1); }
    | EXPLAIN { $$ = dql_yy_word(lx, &@1); } | REGISTER { $$ = dql_yy_word(lx, &@1); }
    | DEFINE { $$ = dql_yy_word(lx, &@1); } | COGROUP { $$ = dql_yy_word(lx, &@1); }
    | FOREACH { $$ = dql_yy_word(lx, &@1); } | GENERATE { $$ = dql_yy_word(lx, &@1); }
     | BY { $$ = dql_yy_word(lx, &@1); }
    | AS { $$ = dql_yy_word(lx, &@1); } | IF { $$ = dql_yy_word(lx, &@1); }
    | TUPLE { $$ = dql_yy_word(lx, &@1); } | BAG { $$ = dql_yy_word(lx, &@1); }
    | MAP { $$ = dql_yy_word(lx, &@1); } | TYPES { $$ = dql_yy_word(lx, &@1); }
    | WITH { $$ = dql_yy_word(lx, &@1); } | XOP { free($1); $$ = dql_yy_word(lx, &@1); }
    ;

%%

static void yyerror(YYLTYPE *loc, dql_lexer *lx, dql_node **out, const char *msg)
{
    (void)out;
    dql_diag(lx->errfp, DQL_DIAG_ERROR, loc, "%s", msg);
    lx->nerr++;
}

/* Syntax errors name the unexpected token (with its text) and what was
 * expected, like "unexpected identifier 'foo', expecting ';'". */
static int yyreport_syntax_error(const yypcontext_t *ctx, dql_lexer *lx, dql_node **out)
{
    (void)out;
    const YYLTYPE *loc = yypcontext_location(ctx);
    yysymbol_kind_t tok = yypcontext_token(ctx);
    yysymbol_kind_t exp[8];
    int nexp = yypcontext_expected_tokens(ctx, exp, 8);
    dql_buf b = {0};
    if (tok == YYSYMBOL_YYEOF) {
        dql_buf_puts(&b, "unexpected end of input");
    } else {
        size_t n = loc->end > loc->start ? loc->end - loc->start : 0;
        if (n > 40) n = 40;
        dql_buf_printf(&b, "unexpected %s", yysymbol_name(tok));
        if (tok == YYSYMBOL_IDENT || tok == YYSYMBOL_INTEGER || tok == YYSYMBOL_DOUBLE ||
            tok == YYSYMBOL_STRING || tok == YYSYMBOL_LONGINT)
            dql_buf_printf(&b, " '%.*s'", (int)n, loc->src + loc->start);
    }
    if (nexp > 0 && nexp <= 5) {
        for (int i = 0; i < nexp; i++)
            dql_buf_printf(&b, "%s%s", i == 0 ? ", expecting " : " or ", yysymbol_name(exp[i]));
    }
    /* A common mistake: a missing ';' before the next statement. */
    if (nexp > 5 && tok != YYSYMBOL_YYEOF && loc->line > 1) {
        /* leave the generic message */
    }
    dql_diag(lx->errfp, DQL_DIAG_ERROR, loc, "syntax error: %s", dql_buf_cstr(&b));
    dql_buf_free(&b);
    lx->nerr++;
    return 0;
}
