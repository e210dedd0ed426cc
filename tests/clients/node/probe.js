// node-postgres against a server: parameters, a pool, errors with SQLSTATE; one JSON line out.
// Usage: NODE_PATH=<dir>/node_modules node probe.js host port user database
const { Client, Pool } = require("pg");

async function main() {
  const [host, port, user, database] = process.argv.slice(2);
  const cfg = { host, port: Number(port), user, database };
  const out = {};
  const client = new Client(cfg);
  await client.connect();
  await client.query("drop table if exists node_items");
  await client.query("create table node_items (id integer primary key, name text, score double precision)");
  await client.query("insert into node_items values ($1, $2, $3), ($4, $5, $6)", [1, "a", 0.5, 2, "b", null]);
  const r = await client.query("select id, name, score from node_items where id >= $1 order by id", [1]);
  out.rows = r.rows;
  out.fields = r.fields.map((f) => [f.name, f.dataTypeID]);
  out.named = (await client.query({ name: "by_id", text: "select name from node_items where id = $1", values: [2] })).rows;
  try {
    await client.query("select * from node_missing");
  } catch (e) {
    out.error = [e.code, e.message];
  }
  out.after_error = (await client.query("select 1 + 1 as two")).rows;
  await client.end();
  const pool = new Pool({ ...cfg, max: 3 });
  const counts = await Promise.all([1, 2, 3, 4, 5].map((i) => pool.query("select $1::int * 2 as v", [i])));
  out.pool = counts.map((c) => c.rows[0].v);
  await pool.end();
  console.log(JSON.stringify(out));
}

main().catch((e) => { console.error(e); process.exit(1); });
