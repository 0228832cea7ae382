// Benchmark 7: `lakebase proxy` against PgBouncer doing the same job and against no proxy at all.
// Three sides in front of the same server, the emulator's TLS front door (`lakebase emulator --upstream`, its own
// process, relaying to the local PostgreSQL), measured in interleaved rounds:
//   proxy     - `lakebase proxy` in its own process: plain text on loopback from pgbench, TLS verify-full and a token
//               login to the front door per connection, then a byte pipe
//   pgbouncer - PgBouncer 1.18 in session mode, plain text on loopback from pgbench, TLS verify-full to the front door
//               with a database token as its password (minted once for the run)
//   direct    - pgbench straight to the front door with a token, TLS verify-full (what a tool does without a proxy)
// Workloads: pgbench select-only (-S) and TPC-B-like, 4 and 16 clients, scale 1; and new-connection latency (connect,
// `select 1`, close) with the proxy's token cached, proxy vs direct. Run alone: node bench/proxy.mjs [--quick]
// [--cpu-prof] (after `npm run build`); --cpu-prof writes the proxy's CPU profile under bench/profiles/.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { spawnEmulator } from './emulator.mjs';
import { interleavedSides, median, percentile, quick, ratioSummary, spread } from './lib.mjs';
import { startPgBouncer } from './pgbouncer.mjs';
import { cpuSeconds, pgbench, runPgbench, scratchDatabase } from './relay.mjs';

const CLI = fileURLToPath(new URL('../packages/cli/dist/bin.js', import.meta.url));
const PROFILES = fileURLToPath(new URL('./profiles/', import.meta.url));
const cpuProf = process.argv.includes('--cpu-prof');

/** `lakebase proxy --json` in its own process, as users run it, configured by the emulator's environment. */
async function spawnProxy(env) {
  const node = cpuProf ? ['--cpu-prof', '--cpu-prof-dir', PROFILES] : [];
  if (cpuProf) await mkdir(PROFILES, { recursive: true });
  const child = spawn(process.execPath, [...node, CLI, 'proxy', '--port', '0', '--json', '--drain-seconds', '0'], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [line] = await once(createInterface({ input: child.stdout }), 'line');
  return {
    ...JSON.parse(line),
    pid: child.pid,
    async stop() {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Median and p99 of `samples` serial connects (connect, `select 1`, end) with `config`, in ms. */
async function connectLatency(config, samples) {
  const times = [];
  for (let i = 0; i < samples; i++) {
    const t0 = performance.now();
    const client = new pg.Client(config);
    await client.connect();
    await client.query('select 1');
    await client.end();
    times.push(performance.now() - t0);
  }
  return { p50: median(times), p99: percentile(times, 99) };
}

export async function proxyBenchmark({
  rounds = quick ? 2 : 3,
  seconds = quick ? 4 : 10,
  clientCounts = [4, 16],
  connectSamples = quick ? 60 : 200,
} = {}) {
  const db = await scratchDatabase('lakebase_bench_proxy');
  const emulator = await spawnEmulator(['--upstream', db.url]);
  let bouncer;
  let proxy;
  try {
    const token = await emulator.mintToken();
    const frontDoor = {
      PGHOST: 'localhost',
      PGPORT: String(emulator.pgPort),
      PGDATABASE: emulator.database,
      PGSSLMODE: 'verify-full',
      PGSSLROOTCERT: emulator.caFile,
    };
    proxy = await spawnProxy({
      ...frontDoor,
      DATABRICKS_HOST: emulator.databricksHost,
      DATABRICKS_TOKEN: emulator.databricksToken,
      LAKEBASE_ENDPOINT: emulator.endpoint,
    });
    bouncer = await startPgBouncer({
      upstream: { host: 'localhost', port: emulator.pgPort, user: emulator.user, database: emulator.database },
      database: emulator.database,
      tlsDir: path.join(emulator.dataDir, 'tls'),
      clientTls: false,
      server: { password: token, caFile: emulator.caFile },
    });
    const plain = (port, user) => ({
      PGHOST: '127.0.0.1',
      PGPORT: String(port),
      PGUSER: user,
      PGDATABASE: emulator.database,
      PGSSLMODE: 'disable',
    });
    const libpq = {
      proxy: plain(proxy.port, 'anyone'),
      pgbouncer: plain(bouncer.port, emulator.user),
      direct: { ...frontDoor, PGUSER: emulator.user, PGPASSWORD: token },
    };
    // pgbench's tables, made through the proxy (owned by the emulator's role, which every side logs in as).
    await runPgbench(libpq.proxy, ['-i', '-s', '1', '-q', '--no-vacuum'], 120);

    const pids = { proxy: proxy.pid, pgbouncer: bouncer.pid };
    const cpu = {};
    const workloads = {};
    for (const clients of clientCounts) {
      const load = ['-c', String(clients), '-j', '2', '-T', String(seconds), '-n'];
      for (const [name, args] of [
        [`selectOnly${clients}`, ['-S', ...load]],
        [`tpcb${clients}`, load],
      ]) {
        cpu[name] = { proxy: [], pgbouncer: [] };
        workloads[name] = await interleavedSides({
          rounds,
          sides: libpq,
          measure: async (env, side) => {
            const pid = pids[side];
            const before = pid ? await cpuSeconds(pid) : undefined;
            const tps = await pgbench(env, args, seconds);
            if (before) {
              const after = await cpuSeconds(pid);
              cpu[name][side].push(((after.user - before.user + after.system - before.system) * 1e6) / (tps * seconds));
            }
            return tps;
          },
        });
      }
    }

    // New-connection latency with the token cached: the proxy's is (its first login above minted it); direct has it.
    const connect = await interleavedSides({
      rounds,
      sides: {
        proxy: { host: '127.0.0.1', port: proxy.port, user: 'anyone', database: emulator.database },
        direct: {
          host: 'localhost',
          port: emulator.pgPort,
          user: emulator.user,
          password: token,
          database: emulator.database,
          ssl: { ca: emulator.ca, servername: 'localhost' },
        },
      },
      measure: (config) => connectLatency(config, connectSamples),
    });
    const p50 = (side) => connect[side].map((c) => c.p50);
    return {
      rounds,
      seconds,
      scale: 1,
      workloads: Object.fromEntries(
        Object.entries(workloads).map(([name, tps]) => [
          name,
          {
            tps,
            toPgbouncer: ratioSummary(tps.proxy, tps.pgbouncer),
            toDirect: ratioSummary(tps.proxy, tps.direct),
            cpuUsPerTx: cpu[name],
          },
        ]),
      ),
      connect: {
        samples: connectSamples,
        proxyP50: p50('proxy'),
        directP50: p50('direct'),
        extraMs: median(p50('proxy').map((v, i) => v - p50('direct')[i])),
      },
    };
  } finally {
    await proxy?.stop();
    await bouncer?.stop();
    await emulator.stop();
    await db.drop();
  }
}

/** The result as lines of text. */
export function proxyReport(result) {
  const r = (x) => `${x.median.toFixed(3)} (${x.min.toFixed(3)}-${x.max.toFixed(3)})`;
  const lines = [];
  for (const [name, w] of Object.entries(result.workloads)) {
    const label = `${name.startsWith('tpcb') ? 'TPC-B-like' : 'select-only'} -c ${name.replace(/\D/g, '')}`;
    lines.push(`  pgbench ${label}, ${result.rounds} x ${result.seconds} s, tps`);
    lines.push(
      `    proxy ${spread(w.tps.proxy)}, pgbouncer ${spread(w.tps.pgbouncer)}, direct ${spread(w.tps.direct)}`,
    );
    lines.push(`    proxy / pgbouncer ${r(w.toPgbouncer)}, proxy / direct ${r(w.toDirect)}`);
    lines.push(
      `    CPU us per transaction: proxy ${spread(w.cpuUsPerTx.proxy, 1)}, pgbouncer ${spread(w.cpuUsPerTx.pgbouncer, 1)}`,
    );
  }
  const c = result.connect;
  lines.push(`  new connection (connect, select 1, close), ${c.samples} serial samples per round, p50 ms`);
  lines.push(
    `    proxy ${spread(c.proxyP50, 2)}, direct ${spread(c.directP50, 2)}, proxy - direct ${c.extraMs.toFixed(2)} ms`,
  );
  return lines;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await proxyBenchmark();
  console.log(
    'benchmark 7: lakebase proxy vs PgBouncer (session mode) vs direct, all in front of the emulator front door',
  );
  for (const line of proxyReport(result)) console.log(line);
  if (process.argv.includes('--json')) console.log(JSON.stringify(result));
}
