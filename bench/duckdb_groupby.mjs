// duckdb_groupby.mjs — the DuckDB peer of bench/groupby.sh: counts the names
// of a one-name-per-line file by TLD (the part after the last dot) and prints
// "tld,n" rows, most frequent first. DuckDB uses all cores (wall < CPU).
//
// Usage: node bench/duckdb_groupby.mjs FILE
// Needs @duckdb/node-api, installed by groupby.sh into bench/node_modules.
import { DuckDBInstance } from '@duckdb/node-api';

const file = process.argv[2];
if (!file) {
    console.error('usage: node duckdb_groupby.mjs FILE');
    process.exit(2);
}
const quoted = "'" + file.replaceAll("'", "''") + "'";
const instance = await DuckDBInstance.create(':memory:');
const conn = await instance.connect();
const reader = await conn.runAndReadAll(`
    SELECT regexp_extract(name, '[^.]*$') AS tld, count(*) AS n
    FROM read_csv(${quoted}, columns = {'name': 'VARCHAR'}, header = false,
                  delim = '\t', quote = '', escape = '', auto_detect = false)
    GROUP BY tld
    ORDER BY n DESC, tld`);
const out = [];
for (const [tld, n] of reader.getRows()) out.push(`${tld},${n}`);
process.stdout.write(out.join('\n') + '\n');
