// The kit's telemetry against the standard instrumentation, side by side in one run (issue 25): the same workload
// and the same SDK setup (BasicTracerProvider, AlwaysOn sampler, BatchSpanProcessor into an InMemorySpanExporter drained
// every 100 ms as a real exporter would; MeterProvider with a PeriodicExportingMetricReader into an
// InMemoryMetricExporter), four sides, interleaved rounds in one process, a pool of 10 and 10 clients each:
//   none    - the kit's pool with `telemetry: false`, instrumentation-pg not patched
//   kit     - the kit's telemetry (defaults: spans, db.client.operation.duration, pool metrics, lakebase.*, and the
//             kit's pre-convention lakebase.query.duration and lakebase.pool.connections.*, as database/dup)
//   kit-new - the same with OTEL_SEMCONV_STABILITY_OPT_IN=database (the conventions' names only)
//   ipg     - @opentelemetry/instrumentation-pg (defaults) with `telemetry: false` on the kit's pool
//   both    - the two registered: instrumentation-pg's span and duration, the kit's pool metrics and lakebase.*
// instrumentation-pg is patched into pg and pg-pool for its sides' rounds and unpatched after (its own module
// patches, as require-in-the-middle applies them when an app registers it before loading pg). Workloads: `select 1`
// and an indexed read on the local PostgreSQL (CPU-bound: the server answers in ~0.1 ms); a ~1 ms round trip made in
// the server, `select pg_sleep(0.0005)` (PostgreSQL waits at least 1 ms, each backend on its own kernel timer, so every
// reply comes back on its own schedule as over a network; its measured round trip is printed); and, as evidence only,
// `select 1` through a loopback proxy holding each server reply 1 ms (bench/latency-proxy.mjs), whose Node timers
// have a 1 ms tick and so release all ten clients' replies in the same turn: a lock-step burst no network makes,
// which turns the client's CPU per query into queueing (the turn size is printed). Overhead = 1 - side/none q/s,
// median of per-round ratios (range); client CPU = this process's CPU per query. Run: `npm run build && node
// bench/otel.mjs [--quick]`. Targets: kit <= ipg on the CPU-bound rows, kit < 5 % with the 1 ms round trip.
import { createRequire } from 'node:module';
import os from 'node:os';
import { createLakebasePool } from '@lakebase-kit/client';
import { metrics, trace } from '@opentelemetry/api';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, BatchSpanProcessor, InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { UPSTREAM } from './emulator.mjs';
import { startLatencyProxy } from './latency-proxy.mjs';
import { interleavedSides, median, quick, ratioSummary, spread, tracedRound } from './lib.mjs';
import { createBenchTable, dropBenchTable, POOL_MAX, WORKLOADS } from './pool.mjs';
import { countingLogger } from './sides.mjs';

const CLIENTS = 10;
/** A ~1 ms round trip made by the server: PostgreSQL rounds the wait up to 1 ms of its latch timeout. */
const SERVER_DELAY = (pool) => pool.query('select pg_sleep(0.0005)');
const rounds = quick ? 4 : 12; // short rounds, many: the load of a shared machine moves within seconds
const durationMs = quick ? 400 : 750;

const spans = new InMemorySpanExporter();
const tracerProvider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(spans)] });
const meterProvider = new MeterProvider({
  readers: [
    new PeriodicExportingMetricReader({
      exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE),
      exportIntervalMillis: 1000,
    }),
  ],
});
trace.setGlobalTracerProvider(tracerProvider);
metrics.setGlobalMeterProvider(meterProvider);

const instrumentation = new PgInstrumentation({ enabled: false });
instrumentation.setTracerProvider(tracerProvider);
instrumentation.setMeterProvider(meterProvider);
const require = createRequire(import.meta.url);
const modules = instrumentation.getModuleDefinitions().map((d) => ({ d, exports: require(d.name) }));
let patched = false;
const standardInstrumentation = (on) => {
  if (on === patched) return;
  for (const { d, exports } of modules) (on ? d.patch : d.unpatch)?.(exports);
  patched = on;
};

const upstream = new URL(UPSTREAM);
const proxy = await startLatencyProxy({ host: upstream.hostname, port: Number(upstream.port || 5432), delayMs: 1 });
const viaProxy = new URL(UPSTREAM);
viaProxy.port = String(proxy.port);

const poolOf = (url, telemetry) =>
  createLakebasePool({ url, poolSize: POOL_MAX, maxOverflow: 0, env: {}, logger: countingLogger(), telemetry });
/** A kit pool made under OTEL_SEMCONV_STABILITY_OPT_IN=database (read when a pool is made). */
const conventionsOnly = (url) => {
  process.env.OTEL_SEMCONV_STABILITY_OPT_IN = 'database';
  try {
    return poolOf(url, true);
  } finally {
    delete process.env.OTEL_SEMCONV_STABILITY_OPT_IN;
  }
};
const sidesFor = (url) => ({
  none: { pool: poolOf(url, false), ipg: false },
  kit: { pool: poolOf(url, true), ipg: false },
  'kit-new': { pool: conventionsOnly(url), ipg: false },
  ipg: { pool: poolOf(url, false), ipg: true },
  both: { pool: poolOf(url, true), ipg: true },
});
// Each setup's pools are made before and ended after it (5 pools x 10 connections at a time).
const setups = [
  { name: 'local', url: UPSTREAM, workloads: WORKLOADS },
  { name: '1 ms in the server', url: UPSTREAM, workloads: { 'select pg_sleep(0.0005)': SERVER_DELAY } },
  { name: '1 ms proxy (evidence)', url: viaProxy.toString(), workloads: { 'select 1': WORKLOADS['select 1'] } },
];
const open = new Set();

await createBenchTable();
console.log(
  `OpenTelemetry, the kit against instrumentation-pg ${instrumentation.instrumentationVersion}: ${CLIENTS} clients, ` +
    `pool ${POOL_MAX}, ${rounds} rounds x ${durationMs} ms per side; load average at start ` +
    `${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} (${os.cpus().length} CPUs)`,
);
/** p50 of `samples` serial queries on one connection, in ms: the round trip a client sees with nothing queued. */
async function serialRoundTrip(url, sql, samples = 200) {
  const pool = poolOf(url, false);
  try {
    const times = [];
    for (let i = 0; i < samples; i++) {
      const t0 = performance.now();
      await pool.query(sql);
      times.push(performance.now() - t0);
    }
    return median(times);
  } finally {
    await pool.end();
  }
}
console.log(
  `  round trip, 1 client, p50: local select 1 ${(await serialRoundTrip(UPSTREAM, 'select 1')).toFixed(3)} ms, ` +
    `select pg_sleep(0.0005) ${(await serialRoundTrip(UPSTREAM, 'select pg_sleep(0.0005)')).toFixed(3)} ms, ` +
    `select 1 through the 1 ms proxy ${(await serialRoundTrip(viaProxy.toString(), 'select 1')).toFixed(3)} ms`,
);
await proxy.releaseTurns(); // from here on, the proxy counts the benchmark's own replies
let exportedSpans = 0;
const overhead = (r) => `${((1 - r) * 100).toFixed(1)} %`;
const verdicts = [];
try {
  for (const setup of setups) {
    const sides = sidesFor(setup.url);
    for (const side of Object.values(sides)) open.add(side.pool);
    for (const [workload, run] of Object.entries(setup.workloads)) {
      const figures = await interleavedSides({
        rounds,
        sides,
        measure: async ({ pool, ipg }) => {
          standardInstrumentation(ipg);
          const figure = await tracedRound(() => run(pool), { workers: CLIENTS, durationMs, spans, tracerProvider });
          exportedSpans += figure.spansExported;
          return figure;
        },
      });
      const none = figures.none.map((f) => f.perSecond);
      const failed = Object.values(figures)
        .flat()
        .reduce((sum, f) => sum + f.failed, 0);
      const cpu = (name) =>
        spread(
          figures[name].map((f) => f.cpuPerQuery),
          1,
        );
      console.log(
        `  ${setup.name} ${workload}: none ${spread(none)} q/s, client CPU ${cpu('none')} us/query | failed ${failed}`,
      );
      const ratios = {};
      for (const name of ['kit', 'kit-new', 'ipg', 'both']) {
        const ratio = ratioSummary(
          figures[name].map((f) => f.perSecond),
          none,
        );
        ratios[name] = ratio.median;
        console.log(
          `    ${name.padEnd(7)} ${spread(figures[name].map((f) => f.perSecond))} q/s | overhead ${overhead(ratio.median)} ` +
            `(range ${overhead(ratio.max)} to ${overhead(ratio.min)}) | client CPU ${cpu(name)} us/query | p50 ` +
            `${spread(
              figures[name].map((f) => f.p50),
              3,
            )} ms`,
        );
      }
      const row = `${setup.name} ${workload}`;
      if (setup.name === 'local')
        verdicts.push(
          `${row}: kit ${overhead(ratios.kit)} <= ipg ${overhead(ratios.ipg)}: ${ratios.kit >= ratios.ipg ? 'MET' : 'MISSED'}`,
        );
      else if (setup.url === UPSTREAM)
        verdicts.push(`${row}: kit ${overhead(ratios.kit)} < 5 %: ${ratios.kit > 0.95 ? 'MET' : 'MISSED'}`);
    }
    if (setup.url === viaProxy.toString()) {
      const turns = await proxy.releaseTurns();
      console.log(
        `    the proxy released ${turns.median} replies per event-loop turn (median; mean ${turns.mean.toFixed(1)}) ` +
          `of ${CLIENTS} clients: lock-step bursts, so this row measures queueing in the client, not the round trip`,
      );
    }
    await Promise.all(Object.values(sides).map((side) => side.pool.end()));
    for (const side of Object.values(sides)) open.delete(side.pool);
  }
  for (const verdict of verdicts) console.log(`  target, ${verdict}`);
  console.log(
    `  spans exported: ${exportedSpans}; load average at end ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
} finally {
  standardInstrumentation(false);
  await Promise.all([...open].map((pool) => pool.end()));
  await proxy.stop();
  await dropBenchTable();
  await tracerProvider.shutdown();
  await meterProvider.shutdown();
}
