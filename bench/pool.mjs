// Benchmark 1 (pool overhead) and the first workload of benchmark 4 (against @databricks/lakebase).
// Workloads: `select 1`, and a small indexed read (primary-key lookup in a 10,000-row table), at 1, 10 and 50
// concurrent clients on a pool of 10 connections.
// Two setups, each compared like with like:
// - direct: ours in static-URL mode vs plain pg.Pool, both straight to the local PostgreSQL without TLS (the server has
//   ssl off). Nothing else in the path, so the pool's own per-query cost shows undiluted.
// - emulator: ours in Autoscaling mode (live token from the emulator's credential API, TLS verified) vs plain pg.Pool
//   with a static token, vs @databricks/lakebase, all through the same emulator front door (TLS, relay to the same
//   PostgreSQL).
import pg from 'pg';
import { UPSTREAM } from './emulator.mjs';
import { interleavedSides, loadWithLatency, ratioSummary } from './lib.mjs';
import { databricksEmulator, oursEmulator, oursStatic, plainEmulator } from './sides.mjs';

export const POOL_MAX = 10;
const ROWS = 10_000;
export const TABLE = 'lakebase_bench_items';

export const WORKLOADS = {
  'select 1': (pool) => pool.query('select 1'),
  'indexed read': (pool) =>
    pool.query(`select id, payload from ${TABLE} where id = $1`, [1 + Math.floor(Math.random() * ROWS)]),
};

/** Creates the indexed table (readable by the emulator's roles). */
export async function createBenchTable() {
  const admin = new pg.Client({ connectionString: UPSTREAM });
  await admin.connect();
  await admin.query(`drop table if exists ${TABLE}`);
  await admin.query(`create table ${TABLE} (id int primary key, payload text not null)`);
  await admin.query(`insert into ${TABLE} select g, md5(g::text) from generate_series(1, ${ROWS}) g`);
  await admin.query(`analyze ${TABLE}`);
  await admin.query(`grant select on ${TABLE} to public`);
  await admin.end();
}

export async function dropBenchTable() {
  const admin = new pg.Client({ connectionString: UPSTREAM });
  await admin.connect();
  await admin.query(`drop table if exists ${TABLE}`);
  await admin.end();
}

async function measureGrid(sides, { rounds, durationMs, concurrency }) {
  const grid = [];
  for (const [workload, run] of Object.entries(WORKLOADS)) {
    for (const clients of concurrency) {
      const figures = await interleavedSides({
        rounds,
        sides,
        measure: async (pool) => {
          const op = () => run(pool);
          await loadWithLatency(op, { workers: clients, durationMs: 150 }); // warm connections and plans
          return loadWithLatency(op, { workers: clients, durationMs });
        },
      });
      grid.push({ workload, clients, figures });
    }
  }
  return grid;
}

const qps = (figures) => figures.map((f) => f.perSecond);
const failures = (figures) => figures.reduce((sum, f) => sum + f.failed, 0);

export async function poolBenchmark({ emulator, rounds, durationMs, concurrency = [1, 10, 50] }) {
  // Setup "direct".
  const direct = {
    ours: oursStatic(UPSTREAM, POOL_MAX),
    plain: new pg.Pool({ connectionString: UPSTREAM, max: POOL_MAX }),
  };
  const directGrid = await measureGrid(direct, { rounds, durationMs, concurrency });
  await Promise.all(Object.values(direct).map((p) => p.end()));

  // Setup "emulator".
  await emulator.setTokenTtl(3600);
  const token = await emulator.mintToken();
  const viaEmulator = {
    ours: oursEmulator(emulator, POOL_MAX),
    plain: plainEmulator(emulator, token, POOL_MAX),
    databricks: databricksEmulator(emulator, POOL_MAX),
  };
  const before = await emulator.stats();
  const emulatorGrid = await measureGrid(viaEmulator, { rounds, durationMs, concurrency });
  const after = await emulator.stats();
  await Promise.all(Object.values(viaEmulator).map((p) => p.end()));

  const rows = [];
  for (const { workload, clients, figures } of directGrid) {
    rows.push({
      setup: 'direct',
      workload,
      clients,
      oursQps: qps(figures.ours),
      plainQps: qps(figures.plain),
      failed: { ours: failures(figures.ours), plain: failures(figures.plain) },
      vsPlain: ratioSummary(qps(figures.ours), qps(figures.plain)),
    });
  }
  for (const { workload, clients, figures } of emulatorGrid) {
    rows.push({
      setup: 'emulator',
      workload,
      clients,
      oursQps: qps(figures.ours),
      plainQps: qps(figures.plain),
      databricksQps: qps(figures.databricks),
      failed: {
        ours: failures(figures.ours),
        plain: failures(figures.plain),
        databricks: failures(figures.databricks),
      },
      vsPlain: ratioSummary(qps(figures.ours), qps(figures.plain)),
      vsDatabricks: ratioSummary(qps(figures.ours), qps(figures.databricks)),
    });
  }
  return {
    poolMax: POOL_MAX,
    rounds,
    durationMs,
    credentialRequestsDuringEmulatorSetup: after.credentialRequests.total - before.credentialRequests.total,
    rows,
  };
}

/**
 * Evidence for benchmark 1 (not a target): the cost of a pool checkout alone (connect + release of an idle client, no
 * query), ours (static URL) vs plain pg.Pool, one client, interleaved. The difference is our `connect()` override
 * (an async wrapper that awaits the target lookup and pg-pool's promise before handing the client over) and is what
 * every `pool.query()` pays on top of the query itself.
 */
export async function checkoutCost({ rounds, durationMs }) {
  const sides = { ours: oursStatic(UPSTREAM, 1), plain: new pg.Pool({ connectionString: UPSTREAM, max: 1 }) };
  for (const pool of Object.values(sides)) (await pool.connect()).release();
  const figures = await interleavedSides({
    rounds,
    sides,
    measure: async (pool) => {
      // pool.query() checks out with a callback; so does this.
      const op = () =>
        new Promise((resolve, reject) =>
          pool.connect((error, _client, done) => {
            if (error) return reject(error);
            done();
            resolve();
          }),
        );
      await loadWithLatency(op, { workers: 1, durationMs: 100 });
      return loadWithLatency(op, { workers: 1, durationMs });
    },
  });
  await Promise.all(Object.values(sides).map((p) => p.end()));
  const usPer = (f) => 1e6 / f.perSecond;
  const ours = figures.ours.map(usPer);
  const plain = figures.plain.map(usPer);
  return { oursMicros: ours, plainMicros: plain, extraMicros: ours.map((v, i) => v - plain[i]) };
}
