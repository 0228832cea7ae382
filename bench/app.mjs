// Benchmark 6: the app template's `GET /api/preferences` vs a minimal Fastify + pg handler doing the same query on a
// pool of the same size, both as their own processes on the same PostgreSQL database (a scratch database created for
// the run), loaded by autocannon in alternating rounds. The app runs as deployed: NODE_ENV=production, its default
// log level (info: one JSON line per request, to /dev/null here), static-URL mode (no TLS, as the server has ssl off).
// The app's peak RSS is its VmHWM from /proc after the rounds.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { openSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import pg from 'pg';
import { UPSTREAM } from './emulator.mjs';
import { spawnCountedNode, valgrindAvailable } from './instructions.mjs';
import { fmt, interleavedSides, median, quick, ratioSummary, spread, verdict } from './lib.mjs';

const APP_MAIN = fileURLToPath(new URL('../app/dist/server/main.js', import.meta.url));
const MINIMAL = fileURLToPath(new URL('./minimal-server.mjs', import.meta.url));
const DATABASE = 'lakebase_bench_app';
const POOL_MAX = 10;
const USER = 'bench@example.com';
const PREFERENCES = 10;

function databaseUrl(name) {
  const url = new URL(UPSTREAM);
  url.pathname = `/${name}`;
  return url.toString();
}

async function freePort() {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  server.close();
  await once(server, 'close');
  return port;
}

async function waitReady(url, child, timeoutMs = 30_000) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`${url}: server exited with ${child.exitCode}`);
    try {
      const response = await fetch(url);
      if (response.ok) return;
    } catch {}
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url}: not ready after ${timeoutMs} ms`);
}

async function startServer(script, env) {
  const port = await freePort();
  const devNull = openSync('/dev/null', 'w');
  const child = spawn(process.execPath, [script], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env, PORT: String(port) },
    stdio: ['ignore', devNull, 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  try {
    await waitReady(`http://127.0.0.1:${port}/api/health`, child);
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`${error.message}\n${stderr}`);
  }
  return {
    url: `http://127.0.0.1:${port}/api/preferences`,
    pid: child.pid,
    /** CPU seconds (user + system) the server process has used so far, from /proc (clock ticks of 10 ms). */
    async cpuSeconds() {
      const stat = await readFile(`/proc/${child.pid}/stat`, 'utf8');
      // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return (Number(fields[11]) + Number(fields[12])) / 100;
    },
    async peakRssMiB() {
      const status = await readFile(`/proc/${child.pid}/status`, 'utf8');
      const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1]);
      return kb / 1024;
    },
    async stop() {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    },
  };
}

async function load(server, durationSeconds, connections) {
  const cpuBefore = await server.cpuSeconds();
  const result = await autocannon({
    url: server.url,
    connections,
    duration: durationSeconds,
    headers: { 'x-forwarded-email': USER },
  });
  const cpuSeconds = (await server.cpuSeconds()) - cpuBefore;
  return {
    perSecond: result.requests.average,
    // The server's own CPU per answered request: unlike req/s, it barely moves when the machine is shared.
    cpuMicrosPerRequest: (cpuSeconds * 1e6) / Math.max(1, result.requests.total),
    total: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    p99Ms: result.latency.p99,
  };
}

/** The app's environment as deployed (production, its default log level), on `url`, with `extra` on top. */
function appEnv(url, extra = {}) {
  return {
    NODE_ENV: 'production',
    LAKEBASE_PG_URL: url,
    DB_POOL_SIZE: String(POOL_MAX),
    DB_MAX_OVERFLOW: '0',
    ...extra,
  };
}

/** The minimal server's environment on `url`. */
function minimalEnv(url) {
  return { NODE_ENV: 'production', BENCH_DATABASE_URL: url, BENCH_POOL_MAX: String(POOL_MAX) };
}

/**
 * A fresh scratch database, migrated by the app itself (`MIGRATE_ON_START`) and seeded with the user's preferences;
 * returns its URL and that app, still running.
 */
async function prepareDatabase(admin) {
  await admin.query(`drop database if exists ${DATABASE} with (force)`);
  await admin.query(`create database ${DATABASE}`);
  const url = databaseUrl(DATABASE);
  const app = await startServer(APP_MAIN, appEnv(url, { MIGRATE_ON_START: 'true' }));
  const seed = new pg.Client({ connectionString: url });
  try {
    await seed.connect();
    for (let i = 0; i < PREFERENCES; i++) {
      await seed.query('insert into user_preferences (user_email, key, value) values ($1, $2, $3)', [
        USER,
        `setting-${i}`,
        JSON.stringify({ theme: 'dark', index: i, tags: ['a', 'b'] }),
      ]);
    }
  } catch (error) {
    await app.stop();
    throw error;
  } finally {
    await seed.end();
  }
  return { url, app };
}

export async function appBenchmark({ rounds, durationSeconds, connections = 50 }) {
  const admin = new pg.Client({ connectionString: UPSTREAM });
  await admin.connect();
  let app;
  let minimal;
  let appQuiet;
  try {
    let url;
    ({ url, app } = await prepareDatabase(admin));
    // Evidence only (no target): the same app with LOG_LEVEL=warn, i.e. without its per-request log lines.
    appQuiet = await startServer(APP_MAIN, appEnv(url, { LOG_LEVEL: 'warn' }));
    minimal = await startServer(MINIMAL, minimalEnv(url));
    // Same answer from both (so they do the same work).
    const [a, b] = await Promise.all(
      [app.url, minimal.url].map((u) => fetch(u, { headers: { 'x-forwarded-email': USER } }).then((r) => r.json())),
    );
    if (JSON.stringify(a) !== JSON.stringify(b) || a.preferences.length !== PREFERENCES) {
      throw new Error(
        `app and minimal server disagree: ${JSON.stringify(a).slice(0, 200)} / ${JSON.stringify(b).slice(0, 200)}`,
      );
    }
    for (const server of [app, minimal, appQuiet]) await load(server, 1, connections); // warm-up (JIT, pools)
    const figures = await interleavedSides({
      rounds,
      sides: { app, minimal, appQuiet },
      measure: (server) => load(server, durationSeconds, connections),
    });
    const qps = (side) => figures[side].map((f) => f.perSecond);
    const cpu = (side) => figures[side].map((f) => f.cpuMicrosPerRequest);
    return {
      poolMax: POOL_MAX,
      connections,
      rounds,
      durationSeconds,
      app: {
        rps: qps('app'),
        p99Ms: figures.app.map((f) => f.p99Ms),
        non2xx: figures.app.reduce((s, f) => s + f.non2xx, 0),
        errors: figures.app.reduce((s, f) => s + f.errors, 0),
      },
      minimal: {
        rps: qps('minimal'),
        p99Ms: figures.minimal.map((f) => f.p99Ms),
        non2xx: figures.minimal.reduce((s, f) => s + f.non2xx, 0),
        errors: figures.minimal.reduce((s, f) => s + f.errors, 0),
      },
      appQuiet: { rps: qps('appQuiet'), cpuMicros: cpu('appQuiet') },
      cpuMicros: { app: cpu('app'), minimal: cpu('minimal') },
      cpuRatio: ratioSummary(cpu('app'), cpu('minimal')),
      ratio: ratioSummary(qps('app'), qps('minimal')),
      quietRatio: ratioSummary(qps('appQuiet'), qps('minimal')),
      appPeakRssMiB: await app.peakRssMiB(),
      minimalPeakRssMiB: await minimal.peakRssMiB(),
    };
  } finally {
    await app?.stop();
    await minimal?.stop();
    await appQuiet?.stop();
    await admin.query(`drop database if exists ${DATABASE} with (force)`);
    await admin.end();
  }
}

/**
 * Benchmark 6 counted in instructions (`--instructions`): each server under callgrind (bench/instructions.mjs), warmed
 * up, then `requests` requests at `connections` connections; instructions per request, app / minimal. Repeatable on a
 * busy machine, where the req/s ratio is not; blind to kernel time, which both servers spend alike (their sockets).
 */
export async function appInstructions({ requests = 4000, warmup = 4000, connections = 10 } = {}) {
  const admin = new pg.Client({ connectionString: UPSTREAM });
  await admin.connect();
  const started = [];
  try {
    const { url, app: migrator } = await prepareDatabase(admin);
    await migrator.stop();
    const sides = [
      ['app', APP_MAIN, appEnv(url)],
      ['minimal', MINIMAL, minimalEnv(url)],
      ['appQuiet', APP_MAIN, appEnv(url, { LOG_LEVEL: 'warn' })],
    ];
    await Promise.all(
      sides.map(async ([side, script, env]) => {
        const port = await freePort();
        const counted = await spawnCountedNode(script, {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          ...env,
          PORT: String(port),
        });
        started.push({ side, counted, url: `http://127.0.0.1:${port}/api/preferences` });
        try {
          // Under valgrind a server starts ~50 times slower.
          await waitReady(`http://127.0.0.1:${port}/api/health`, counted.child, 300_000);
        } catch (error) {
          throw new Error(`${error.message}\n${counted.stderr()}`);
        }
      }),
    );
    const perRequest = {};
    for (const { side, counted, url: target } of started) {
      const load = (amount) =>
        autocannon({ url: target, connections, amount, timeout: 60, headers: { 'x-forwarded-email': USER } });
      await load(warmup);
      await counted.zero();
      const result = await load(requests);
      if (result.non2xx || result.errors || result.timeouts) {
        throw new Error(`${side}: ${result.non2xx} non-2xx, ${result.errors + result.timeouts} errors under callgrind`);
      }
      perRequest[side] = (await counted.count()) / result.requests.total;
    }
    return {
      requests,
      warmup,
      connections,
      perRequest,
      ratio: perRequest.app / perRequest.minimal,
      quietRatio: perRequest.appQuiet / perRequest.minimal,
    };
  } finally {
    await Promise.all(started.map(({ counted }) => counted.stop()));
    await admin.query(`drop database if exists ${DATABASE} with (force)`);
    await admin.end();
  }
}

// `node bench/app.mjs [--quick]` (after a build): benchmark 6 alone, with the plan `npm run bench` uses;
// `node bench/app.mjs --instructions`: the same servers counted in instructions (needs valgrind; ~4 minutes).
if (import.meta.url === `file://${process.argv[1]}` && process.argv.includes('--instructions')) {
  if (!(await valgrindAvailable())) {
    console.log('[6] instructions: skipped, valgrind is not installed (apt-get install valgrind)');
  } else {
    const result = await appInstructions();
    const k = (n) => `${fmt(n / 1000, 0)}k`;
    console.log(
      `[6] App GET /api/preferences counted by callgrind: ${result.requests} requests after ${result.warmup} warm-up, ${result.connections} connections`,
    );
    console.log(
      `  instructions per request: app ${k(result.perRequest.app)}, minimal ${k(result.perRequest.minimal)}, LOG_LEVEL=warn ${k(result.perRequest.appQuiet)}`,
    );
    console.log(
      `  app / minimal ${fmt(result.ratio, 3)}, LOG_LEVEL=warn / minimal ${fmt(result.quietRatio, 3)} (user-space instructions; kernel time not counted)`,
    );
  }
} else if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await appBenchmark(quick ? { rounds: 2, durationSeconds: 2 } : { rounds: 4, durationSeconds: 5 });
  const range = (r) => `${fmt(r.median, 3)} (${fmt(r.min, 3)}-${fmt(r.max, 3)})`;
  console.log(
    `[6] App GET /api/preferences (10 rows): autocannon ${result.connections} connections, pool ${result.poolMax}, ${result.rounds} rounds x ${result.durationSeconds} s`,
  );
  console.log(
    `  app ${spread(result.app.rps)} req/s (p99 ${fmt(median(result.app.p99Ms))} ms), minimal Fastify + pg ${spread(result.minimal.rps)} req/s (p99 ${fmt(median(result.minimal.p99Ms))} ms)`,
  );
  console.log(
    `  non-2xx / errors: app ${result.app.non2xx} / ${result.app.errors}, minimal ${result.minimal.non2xx} / ${result.minimal.errors}`,
  );
  console.log(`  app / minimal req/s: ${range(result.ratio)} ${verdict(result.ratio.median, 0.9)}`);
  console.log(
    `  evidence: server CPU per request: app ${spread(result.cpuMicros.app)} µs, minimal ${spread(result.cpuMicros.minimal)} µs, LOG_LEVEL=warn ${spread(result.appQuiet.cpuMicros)} µs; app / minimal ${range(result.cpuRatio)}`,
  );
  console.log(`  evidence: LOG_LEVEL=warn ${spread(result.appQuiet.rps)} req/s, ratio ${range(result.quietRatio)}`);
  console.log(`  peak RSS: app ${fmt(result.appPeakRssMiB, 0)} MiB, minimal ${fmt(result.minimalPeakRssMiB, 0)} MiB`);
}
