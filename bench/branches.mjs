// Creating a Lakebase branch of a 10,000-row database in the emulator, per storage, side by side in one run: the time
// from `POST .../branches` until its Operation is done (the copy made), and until a first login on the new branch's
// endpoint answers `select count(*)` with all 10,000 rows. Not part of `npm run bench` or CI.
//   node bench/branches.mjs [--quick]      (after `npm run build`; upstream uses PostgreSQL on 127.0.0.1:5432)
import { readFile } from 'node:fs/promises';
import { startEmulator } from '@lakebase-kit/emulator';
import pg from 'pg';
import { quick, spread } from './lib.mjs';

const ROWS = 10_000;
const ADMIN = 'postgresql://postgres@127.0.0.1:5432';
const rounds = quick ? 3 : 7;
const sides = ['postgres', 'pglite', 'upstream'];

async function admin(sql) {
  const client = new pg.Client(`${ADMIN}/postgres`);
  await client.connect();
  try {
    return await client.query(sql);
  } finally {
    await client.end();
  }
}

/** A pg client on `host` (a branch host is routed by SNI on the one front door) with a token for `endpoint`. */
async function connect(emulator, ca, endpoint, host) {
  const { token } = await emulator.workspace.mintDatabaseToken(emulator.user, [{ kind: 'endpoint', name: endpoint }]);
  const client = new pg.Client({
    host: '127.0.0.1',
    port: emulator.pgPort,
    user: emulator.user,
    database: emulator.database,
    password: token,
    ssl: { ca, servername: host, rejectUnauthorized: true },
  });
  await client.connect();
  return client;
}

async function api(emulator, method, path, body) {
  const response = await fetch(`${emulator.databricksHost}/api/2.0/postgres/${path}`, {
    method,
    headers: { authorization: `Bearer ${emulator.databricksToken}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return response.json();
}

async function done(emulator, operation) {
  let op = operation;
  for (let i = 0; !op.done; i++) {
    if (i > 12_000) throw new Error(`operation ${op.name} not done after 120 s`);
    await new Promise((r) => setTimeout(r, 10));
    op = await api(emulator, 'GET', op.name);
  }
  if (op.error) throw new Error(op.error.message);
  return op;
}

async function measure(side) {
  const database = `bench_branches_${process.pid}`;
  if (side === 'upstream') await admin(`create database ${database}`);
  const emulator = await startEmulator(
    side === 'upstream' ? { upstream: `${ADMIN}/${database}` } : { storage: side, onNotice: () => {} },
  );
  const ca = await readFile(emulator.caFile, 'utf8');
  const project = 'projects/lakebase-emulator';
  const made = [];
  try {
    const production = await connect(emulator, ca, emulator.endpoint, emulator.pgHost);
    await production.query(`create table items (id int primary key, body text)`);
    await production.query(`insert into items select g, md5(g::text) from generate_series(1, ${ROWS}) g`);
    await production.end();
    const copyMs = [];
    const loginMs = [];
    for (let round = 0; round < rounds; round++) {
      const id = `bench-${round}`;
      const started = performance.now();
      const op = await api(emulator, 'POST', `${project}/branches?branch_id=${id}`, { spec: {} });
      const branch = await done(emulator, op);
      copyMs.push(performance.now() - started);
      made.push(branch.response.uid);
      const ep = await done(
        emulator,
        await api(emulator, 'POST', `${project}/branches/${id}/endpoints?endpoint_id=primary`, {
          spec: { endpoint_type: 'ENDPOINT_TYPE_READ_WRITE' },
        }),
      );
      const client = await connect(emulator, ca, ep.response.name, ep.response.status.hosts.host);
      const { rows } = await client.query('select count(*)::int as n from items');
      await client.end();
      if (rows[0].n !== ROWS) throw new Error(`branch ${id} has ${rows[0].n} rows, expected ${ROWS}`);
      loginMs.push(performance.now() - started);
      await done(emulator, await api(emulator, 'DELETE', `${project}/branches/${id}`));
    }
    return { copyMs, loginMs };
  } finally {
    await emulator.stop();
    if (side === 'upstream') {
      for (const uid of made)
        await admin(`drop database if exists "databricks_postgres@${uid.slice(0, 8)}" with (force)`);
      await admin(`drop database if exists ${database} with (force)`);
    }
  }
}

const results = {};
for (const side of sides) results[side] = await measure(side);
console.log(`Branch of a ${ROWS.toLocaleString('en')}-row database, ${rounds} rounds per storage (median, min-max):`);
console.log(`${'storage'.padEnd(10)} ${'operation done (ms)'.padEnd(26)} first query on the branch (ms)`);
for (const side of sides) {
  const { copyMs, loginMs } = results[side];
  console.log(`${side.padEnd(10)} ${spread(copyMs, 0).padEnd(26)} ${spread(loginMs, 0)}`);
}
