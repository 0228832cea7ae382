// OpenTelemetry overhead: ours with telemetry on (the SDK registered, spans through a BatchSpanProcessor into an
// in-memory exporter, metrics read by a PeriodicExportingMetricReader into an in-memory exporter) against ours with
// telemetry off, same workloads (benchmark 1's `select 1` and indexed read, and a 1 ms query), 10 clients on a pool of
// 10, interleaved rounds in one process, in benchmark 1's two setups: `direct` (static URL to the local PostgreSQL, no
// TLS: the per-query cost shows undiluted, a worst case) and `emulator` (Autoscaling through the emulator's TLS front
// door in its own process, as an app reaches Lakebase). Two `on` sides: every statement traced (AlwaysOn sampler), and
// 1 % of traces sampled (TraceIdRatioBased 0.01, as busy services run): both record every statement's duration.
// Each side's client CPU per query (process.cpuUsage) is printed, next to what the SDK alone costs for one span and one
// histogram record with the same attributes (a tight loop in this process): the floor any instrumentation pays.
// Run: `npm run build && node bench/telemetry.mjs [--quick]`. Target: median overhead < 5 %.
import { createLakebasePool, openTelemetryAvailable } from '@lakebase-kit/client';
import { metrics, trace } from '@opentelemetry/api';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import {
  AlwaysOnSampler,
  BasicTracerProvider,
  BatchSpanProcessor,
  InMemorySpanExporter,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-base';
import { spawnEmulator, UPSTREAM } from './emulator.mjs';
import { interleavedSides, quick, ratioSummary, spread, tracedRound } from './lib.mjs';
import { createBenchTable, dropBenchTable, POOL_MAX, WORKLOADS } from './pool.mjs';
import { countingLogger, oursEmulator } from './sides.mjs';

const CLIENTS = 10;
// Benchmark 1's workloads (CPU-bound here: a local server answers in ~0.2 ms), plus one where the server takes 1 ms, as
// a network round trip to Lakebase does: there the client's own CPU is a small share of each query's time.
const workloads = { ...WORKLOADS, '1 ms query': (pool) => pool.query('select pg_sleep(0.001)') };
const rounds = quick ? 3 : 6;
const durationMs = quick ? 600 : 1500;

/** The sides `all` and `sampled` share one pool and provider; this sampler switches between their policies. */
const samplers = { all: new AlwaysOnSampler(), sampled: new TraceIdRatioBasedSampler(0.01) };
let sampler = samplers.all;
const switchable = {
  shouldSample: (...args) => sampler.shouldSample(...args),
  toString: () => `Switchable{${sampler}}`,
};
const spans = new InMemorySpanExporter();
const tracerProvider = new BasicTracerProvider({
  sampler: switchable,
  spanProcessors: [new BatchSpanProcessor(spans)],
});
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
/** Three sides over two pools: `all` and `sampled` are the same pool, told apart by the sampler (see above). */
const sidesOf = (off, on) => ({ off, all: on, sampled: on });
const setups = {
  direct: sidesOf(direct(false), direct(true)),
  emulator: sidesOf(oursEmulator(emulator, POOL_MAX, { telemetry: false }), oursEmulator(emulator, POOL_MAX)),
};
const overhead = (r) => `${((1 - r) * 100).toFixed(1)} %`;
try {
  for (const [setup, sides] of Object.entries(setups))
    for (const [workload, run] of Object.entries(workloads)) {
      const figures = await interleavedSides({
        rounds,
        sides,
        measure: async (subject, name) => {
          if (name !== 'off') sampler = samplers[name];
          const figure = await tracedRound(() => run(subject), {
            workers: CLIENTS,
            durationMs,
            spans,
            tracerProvider,
          });
          exportedSpans += figure.spansExported;
          return figure;
        },
      });
      const off = figures.off.map((f) => f.perSecond);
      const cpuOf = (name) =>
        spread(
          figures[name].map((f) => f.cpuPerQuery),
          1,
        );
      const failed = Object.values(figures)
        .flat()
        .reduce((sum, f) => sum + f.failed, 0);
      console.log(
        `  ${setup} ${workload}: off ${spread(off)} q/s, client CPU ${cpuOf('off')} us/query | failed ${failed}`,
      );
      for (const name of ['all', 'sampled']) {
        const on = figures[name].map((f) => f.perSecond);
        const ratio = ratioSummary(on, off);
        console.log(
          `    ${name.padEnd(7)} ${spread(on)} q/s | on/off ${ratio.median.toFixed(3)} (${ratio.min.toFixed(3)}-` +
            `${ratio.max.toFixed(3)}) | overhead ${overhead(ratio.median)} (range ${overhead(ratio.max)} to ` +
            `${overhead(ratio.min)}) | client CPU ${cpuOf(name)} us/query | p50 off ${spread(
              figures.off.map((f) => f.p50),
              3,
            )} ms, on ${spread(
              figures[name].map((f) => f.p50),
              3,
            )} ms`,
        );
      }
    }
  console.log(`  spans exported: ${exportedSpans}`);
  sampler = samplers.all;
  const floor = await sdkFloor();
  console.log(
    `  the SDK alone, per statement (tight loop, same attributes): span ${floor.span.toFixed(2)} us CPU, ` +
      `histogram record ${floor.record.toFixed(2)} us CPU`,
  );
} finally {
  const pools = new Set(Object.values(setups).flatMap((sides) => Object.values(sides)));
  await Promise.all([...pools].map((p) => p.end()));
  await emulator.stop();
  await dropBenchTable();
  await tracerProvider.shutdown();
  await meterProvider.shutdown();
}

/**
 * CPU per operation of the SDK's own work for one statement, with the attributes our pools set: a span
 * (start, returned rows, end, into the BatchSpanProcessor) and a histogram record. What any instrumentation pays.
 */
async function sdkFloor() {
  const tracer = trace.getTracer('bench-floor');
  const histogram = metrics.getMeter('bench-floor').createHistogram('bench.floor.duration', { unit: 'ms' });
  const options = {
    kind: 2,
    attributes: {
      'db.system.name': 'postgresql',
      'db.namespace': 'test',
      'lakebase.pool.role': 'write',
      'db.operation.name': 'SELECT',
      'server.address': '127.0.0.1',
      'server.port': 5432,
    },
  };
  const metricAttributes = {
    'db.system.name': 'postgresql',
    'lakebase.pool.role': 'write',
    'db.operation.name': 'SELECT',
  };
  // Yields every 256 operations, so the BatchSpanProcessor exports (and drops nothing) as it does under load.
  const measure = async (operation) => {
    const batches = 1000;
    const run = async () => {
      for (let b = 0; b < batches; b++) {
        for (let i = 0; i < 256; i++) operation();
        await new Promise((resolve) => setImmediate(resolve));
        if (b % 8 === 7) spans.reset(); // as the drain does, so the exporter's array stays small
      }
    };
    await run(); // warm
    const cpu0 = process.cpuUsage();
    await run();
    const cpu = process.cpuUsage(cpu0);
    return (cpu.user + cpu.system) / (batches * 256);
  };
  const span = await measure(() => {
    const s = tracer.startSpan('SELECT', options);
    s.setAttribute('db.response.returned_rows', 1);
    s.end();
  });
  const record = await measure(() => histogram.record(0.2, metricAttributes));
  spans.reset();
  return { span, record };
}
