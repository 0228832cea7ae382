// Benchmark 5: the emulator's relay against a production proxy doing the same job and against no proxy at all.
// Three sides in front of the same PostgreSQL, measured in interleaved rounds:
//   emulator  - `lakebase emulator --upstream` in its own process: TLS front door, token login, byte relay
//   pgbouncer - PgBouncer in session mode, TLS on its client side with the emulator's own certificate (same CA)
//   direct    - the server itself (no TLS: the bench server has ssl off)
// Workloads: `select 1` from a pg.Pool of 10 (q/s), and pgbench -c 4 (select-only and TPC-B-like, scale 1) with
// sslmode=verify-full on both proxies. Run alone: node bench/relay.mjs [--quick] (after `npm run build`).
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { spawnEmulator, UPSTREAM } from './emulator.mjs';
import { interleavedSides, quick, ratioSummary, spread, throughput } from './lib.mjs';
import { startPgBouncer } from './pgbouncer.mjs';

const run = promisify(execFile);

/** CPU seconds a process has used in user and kernel mode, from /proc (Linux). */
export async function cpuSeconds(pid) {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime, in clock ticks (USER_HZ = 100)
  return { user: Number(fields[11]) / 100, system: Number(fields[12]) / 100 };
}

/** A scratch database on the bench server for this run (pgbench's tables), dropped at the end. */
export async function scratchDatabase(prefix = 'lakebase_bench_relay') {
  const name = `${prefix}_${process.pid}`;
  const admin = new pg.Client({ connectionString: UPSTREAM });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${name}`);
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(UPSTREAM);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    server: {
      host: url.hostname,
      port: Number(url.port || 5432),
      user: decodeURIComponent(url.username) || 'postgres',
    },
    async drop() {
      const client = new pg.Client({ connectionString: UPSTREAM });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}

/** Runs pgbench with libpq settings `env`; returns its stdout. */
export async function runPgbench(env, args, seconds) {
  const options = { env: { ...process.env, ...env }, timeout: (seconds + 60) * 1000, maxBuffer: 1 << 24 };
  return (await run('pgbench', args, options)).stdout;
}

/** Runs a pgbench load and returns its tps (excluding connection time). */
export async function pgbench(env, args, seconds) {
  const stdout = await runPgbench(env, args, seconds);
  const match = /tps = ([\d.]+) \((?:without initial connection time|excluding connections establishing)\)/.exec(
    stdout,
  );
  if (!match) throw new Error(`pgbench printed no tps:\n${stdout}`);
  return Number(match[1]);
}

export async function relayBenchmark({
  rounds = quick ? 3 : 5,
  durationMs = quick ? 1000 : 3000,
  workers = 10,
  pgbenchRounds = quick ? 2 : 3,
  pgbenchSeconds = quick ? 4 : 10,
  pgbenchClients = 4,
} = {}) {
  const db = await scratchDatabase();
  const emulator = await spawnEmulator(['--upstream', db.url]);
  let bouncer;
  try {
    bouncer = await startPgBouncer({
      upstream: db.server,
      database: db.name,
      tlsDir: path.join(emulator.dataDir, 'tls'),
    });
    const token = await emulator.mintToken();
    const verified = { ca: emulator.ca, servername: 'localhost' };
    // libpq settings per side, for pgbench; the pools below are the same three endpoints.
    const libpq = {
      emulator: {
        PGHOST: 'localhost',
        PGPORT: String(emulator.pgPort),
        PGUSER: emulator.user,
        PGPASSWORD: token,
        PGDATABASE: emulator.database,
        PGSSLMODE: 'verify-full',
        PGSSLROOTCERT: emulator.caFile,
      },
      pgbouncer: {
        PGHOST: 'localhost',
        PGPORT: String(bouncer.port),
        PGUSER: db.server.user,
        PGDATABASE: db.name,
        PGSSLMODE: 'verify-full',
        PGSSLROOTCERT: emulator.caFile,
      },
      direct: {
        PGHOST: db.server.host,
        PGPORT: String(db.server.port),
        PGUSER: db.server.user,
        PGDATABASE: db.name,
        PGSSLMODE: 'disable',
      },
    };
    // pgbench's tables, made through the emulator so its role owns them (the other sides log in as the superuser).
    await runPgbench(libpq.emulator, ['-i', '-s', '1', '-q', '--no-vacuum'], 60);

    const pools = {
      emulator: new pg.Pool({
        host: 'localhost',
        port: emulator.pgPort,
        user: emulator.user,
        password: token,
        database: emulator.database,
        ssl: verified,
        max: workers,
      }),
      pgbouncer: new pg.Pool({
        host: 'localhost',
        port: bouncer.port,
        user: db.server.user,
        database: db.name,
        ssl: verified,
        max: workers,
      }),
      direct: new pg.Pool({ connectionString: db.url, max: workers }),
    };
    const pids = { emulator: emulator.pid, pgbouncer: bouncer.pid };
    // Where each proxy's time goes: CPU microseconds per query (or transaction), user and kernel, per workload.
    const cpu = {};
    /** Runs `work` (resolving with operations/s over `seconds`) for one side and records the proxy's CPU per op. */
    const withCpu = async (workload, name, seconds, work) => {
      const pid = pids[name];
      const before = pid ? await cpuSeconds(pid) : undefined;
      const perSecond = await work();
      if (before) {
        const after = await cpuSeconds(pid);
        const operations = perSecond * seconds;
        cpu[workload] ??= { emulator: { user: [], system: [] }, pgbouncer: { user: [], system: [] } };
        cpu[workload][name].user.push(((after.user - before.user) * 1e6) / operations);
        cpu[workload][name].system.push(((after.system - before.system) * 1e6) / operations);
      }
      return perSecond;
    };

    const select1 = await interleavedSides({
      rounds,
      sides: pools,
      measure: async (pool, name) => {
        const query = () => pool.query('select 1');
        await throughput(query, { workers, durationMs: 200 }); // warm the pool's connections
        return withCpu('select1', name, durationMs / 1000, async () => {
          const { perSecond, failed } = await throughput(query, { workers, durationMs });
          if (failed) throw new Error(`${failed} queries failed (${name})`);
          return perSecond;
        });
      },
    });
    await Promise.all(Object.values(pools).map((pool) => pool.end()));

    const load = ['-c', String(pgbenchClients), '-j', '2', '-T', String(pgbenchSeconds), '-n'];
    const workloads = { selectOnly: ['-S', ...load], tpcb: load };
    const pgbenchTps = {};
    for (const [workload, args] of Object.entries(workloads)) {
      pgbenchTps[workload] = await interleavedSides({
        rounds: pgbenchRounds,
        sides: libpq,
        measure: (env, name) => withCpu(workload, name, pgbenchSeconds, () => pgbench(env, args, pgbenchSeconds)),
      });
    }

    const ratios = (figures) => ({
      toPgbouncer: ratioSummary(figures.emulator, figures.pgbouncer),
      toDirect: ratioSummary(figures.emulator, figures.direct),
    });
    return {
      workers,
      durationMs,
      rounds,
      pgbench: { rounds: pgbenchRounds, seconds: pgbenchSeconds, clients: pgbenchClients, scale: 1 },
      select1: { qps: select1, ...ratios(select1) },
      selectOnly: { tps: pgbenchTps.selectOnly, ...ratios(pgbenchTps.selectOnly) },
      tpcb: { tps: pgbenchTps.tpcb, ...ratios(pgbenchTps.tpcb) },
      cpu,
    };
  } finally {
    await bouncer?.stop();
    await emulator.stop();
    await db.drop();
  }
}

/** The result as lines of text (shared by `node bench/relay.mjs` and bench/run.mjs). */
export function relayReport(result) {
  const r = (x) => `${x.median.toFixed(3)} (${x.min.toFixed(3)}-${x.max.toFixed(3)})`;
  const rows = [
    [`select 1, pg.Pool of ${result.workers}, ${result.rounds} x ${result.durationMs} ms, q/s`, result.select1, 'qps'],
    [
      `pgbench select-only -c ${result.pgbench.clients}, ${result.pgbench.rounds} x ${result.pgbench.seconds} s, tps`,
      result.selectOnly,
      'tps',
    ],
    [
      `pgbench TPC-B-like -c ${result.pgbench.clients}, ${result.pgbench.rounds} x ${result.pgbench.seconds} s, tps`,
      result.tpcb,
      'tps',
    ],
  ];
  const lines = [];
  for (const [label, figures, key] of rows) {
    const v = figures[key];
    lines.push(`  ${label}`);
    lines.push(`    emulator ${spread(v.emulator)}, pgbouncer ${spread(v.pgbouncer)}, direct ${spread(v.direct)}`);
    lines.push(`    emulator / pgbouncer ${r(figures.toPgbouncer)}, emulator / direct ${r(figures.toDirect)}`);
  }
  lines.push('  where the proxies spend CPU, us per query or transaction (user + kernel):');
  for (const [label, workload] of [
    ['select 1', 'select1'],
    ['select-only', 'selectOnly'],
    ['TPC-B-like', 'tpcb'],
  ]) {
    const side = (name) => {
      const c = result.cpu[workload][name];
      return `${name} ${spread(c.user, 1)} + ${spread(c.system, 1)}`;
    };
    lines.push(`    ${label.padEnd(11)} ${side('emulator')} | ${side('pgbouncer')}`);
  }
  return lines;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await relayBenchmark();
  console.log('benchmark 5: emulator relay vs PgBouncer (session mode, TLS) vs direct');
  for (const line of relayReport(result)) console.log(line);
  if (process.argv.includes('--json')) console.log(JSON.stringify(result));
}
