// OpenTelemetry overhead: ours with telemetry on (the SDK registered, spans through a BatchSpanProcessor into an
// in-memory exporter, metrics read by a PeriodicExportingMetricReader into an in-memory exporter) against ours with
// telemetry off, same workloads (benchmark 1's `select 1` and indexed read), 10 clients on a pool of 10, interleaved
// rounds in one process, in benchmark 1's two setups: `direct` (static URL to the local PostgreSQL, no TLS: the
// per-query cost shows undiluted, a worst case) and `emulator` (Autoscaling through the emulator's TLS front door in
// its own process, as an app reaches Lakebase).
// Run: `npm run build && node bench/telemetry.mjs [--quick]`. Target: median overhead < 5 %.
import { createLakebasePool, openTelemetryAvailable } from '@lakebase-kit/client';
import { metrics, trace } from '@opentelemetry/api';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, BatchSpanProcessor, InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { spawnEmulator, UPSTREAM } from './emulator.mjs';
import { interleavedSides, loadWithLatency, quick, ratioSummary, spread } from './lib.mjs';
import { createBenchTable, dropBenchTable, POOL_MAX, WORKLOADS } from './pool.mjs';
import { countingLogger, oursEmulator } from './sides.mjs';

const CLIENTS = 10;
// Benchmark 1's workloads (CPU-bound here: a local server answers in ~0.2 ms), plus one where the server takes 1 ms, as
// a network round trip to Lakebase does: there the client's own CPU is a small share of each query's time.
const workloads = { ...WORKLOADS, '1 ms query': (pool) => pool.query('select pg_sleep(0.001)') };
const rounds = quick ? 3 : 6;
const durationMs = quick ? 600 : 1500;

const spans = new InMemorySpanExporter();
const tracerProvider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(spans)] });
const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
const meterProvider = new MeterProvider({
  readers: [new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 1000 })],
});
trace.setGlobalTracerProvider(tracerProvider);
metrics.setGlobalMeterProvider(meterProvider);
if (!(await openTelemetryAvailable())) throw new Error('@opentelemetry/api is not installed');

const direct = (telemetry) =>
  createLakebasePool({
    url: UPSTREAM,
    poolSize: POOL_MAX,
    maxOverflow: 0,
    env: {},
    logger: countingLogger(),
    telemetry,
  });

await createBenchTable();
const emulator = await spawnEmulator(['--upstream', UPSTREAM]);
console.log(
  `OpenTelemetry overhead: ${CLIENTS} clients, pool ${POOL_MAX}, ${rounds} rounds x ${durationMs} ms per side`,
);
let exportedSpans = 0;
const setups = {
  direct: { off: direct(false), on: direct(true) },
  emulator: { off: oursEmulator(emulator, POOL_MAX, { telemetry: false }), on: oursEmulator(emulator, POOL_MAX) },
};
try {
  for (const [setup, sides] of Object.entries(setups))
    for (const [workload, run] of Object.entries(workloads)) {
      const figures = await interleavedSides({
        rounds,
        sides,
        measure: async (subject) => {
          const op = () => run(subject);
          await loadWithLatency(op, { workers: CLIENTS, durationMs: 200 }); // warm connections and plans
          // Like a real exporter, which ships spans and forgets them: count and drop what arrived every 100 ms, so
          // the in-memory exporter's growing array does not become garbage-collector work no deployment has.
          const drain = setInterval(() => {
            exportedSpans += spans.getFinishedSpans().length;
            spans.reset();
          }, 100);
          const figure = await loadWithLatency(op, { workers: CLIENTS, durationMs });
          clearInterval(drain);
          await tracerProvider.forceFlush();
          exportedSpans += spans.getFinishedSpans().length;
          spans.reset();
          return figure;
        },
      });
      const off = figures.off.map((f) => f.perSecond);
      const on = figures.on.map((f) => f.perSecond);
      const ratio = ratioSummary(on, off);
      const overhead = (r) => `${((1 - r) * 100).toFixed(1)} %`;
      console.log(
        `  ${setup.padEnd(8)} ${workload.padEnd(13)} off ${spread(off)} q/s | on ${spread(on)} q/s | on/off ${ratio.median.toFixed(3)} ` +
          `(${ratio.min.toFixed(3)}-${ratio.max.toFixed(3)}) | overhead ${overhead(ratio.median)} ` +
          `(range ${overhead(ratio.max)} to ${overhead(ratio.min)}) | p50 off ${spread(
            figures.off.map((f) => f.p50),
            3,
          )} ms, ` +
          `on ${spread(
            figures.on.map((f) => f.p50),
            3,
          )} ms | failed ${[...figures.off, ...figures.on].reduce((s, f) => s + f.failed, 0)}`,
      );
    }
  console.log(`  spans exported: ${exportedSpans}`);
} finally {
  await Promise.all(Object.values(setups).flatMap((sides) => Object.values(sides).map((p) => p.end())));
  await emulator.stop();
  await dropBenchTable();
  await tracerProvider.shutdown();
  await meterProvider.shutdown();
}
