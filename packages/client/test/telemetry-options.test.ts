/**
 * The telemetry switches, on real PostgreSQL with the SDK's in-memory exporters: `spans: false` keeps the metrics and
 * drops the kit's spans; OTEL_SEMCONV_STABILITY_OPT_IN=database drops the kit's pre-convention names
 * (lakebase.query.duration, lakebase.pool.connections.*) and keeps the conventions' and the kit-only ones; unset
 * emits both.
 */
import { metrics, trace } from '@opentelemetry/api';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createLakebasePool, type LakebasePool } from '../src/index.js';

class TestReader extends MetricReader {
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

const UPSTREAM = 'postgresql://postgres@127.0.0.1:5432/test';
const spans = new InMemorySpanExporter();
const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
trace.setGlobalTracerProvider(tracerProvider);
const pools: LakebasePool[] = [];
let meterProvider: MeterProvider | undefined;

afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.end()));
  metrics.disable();
  await meterProvider?.shutdown();
  spans.reset();
});
afterAll(async () => {
  trace.disable();
  await tracerProvider.shutdown();
});

/** A pool made with a fresh meter provider (instruments come from the provider registered when a pool is made). */
function poolWithMeter(env: string | undefined, telemetry: Parameters<typeof createLakebasePool>[0]) {
  const reader = new TestReader();
  meterProvider = new MeterProvider({ readers: [reader] });
  metrics.setGlobalMeterProvider(meterProvider);
  const previous = process.env.OTEL_SEMCONV_STABILITY_OPT_IN;
  if (env === undefined) delete process.env.OTEL_SEMCONV_STABILITY_OPT_IN;
  else process.env.OTEL_SEMCONV_STABILITY_OPT_IN = env;
  try {
    const pool = createLakebasePool({ url: UPSTREAM, env: {}, logger: { warn() {} }, ...telemetry });
    pools.push(pool);
    const collect = async () => (await reader.collect()).resourceMetrics.scopeMetrics.flatMap((s) => s.metrics);
    const names = async () => (await collect()).map((m) => m.descriptor.name);
    return { pool, names, collect };
  } finally {
    if (previous === undefined) delete process.env.OTEL_SEMCONV_STABILITY_OPT_IN;
    else process.env.OTEL_SEMCONV_STABILITY_OPT_IN = previous;
  }
}

describe('telemetry switches', () => {
  it('spans: false times every statement and makes no span', async () => {
    const { pool, names } = poolWithMeter(undefined, { telemetry: { spans: false } });
    await pool.query('select 1');
    await pool.query('select 2');
    expect(spans.getFinishedSpans()).toEqual([]);
    expect(await names()).toContain('db.client.operation.duration');
  });

  it('OTEL_SEMCONV_STABILITY_OPT_IN=database: the conventions’ names and the kit-only ones, not the old duplicates', async () => {
    const { pool, names } = poolWithMeter('database', {});
    await pool.query('select 1');
    const emitted = await names();
    expect(emitted).toEqual(expect.arrayContaining(['db.client.operation.duration', 'db.client.connection.count']));
    expect(emitted).toContain('lakebase.login.retries');
    for (const old of [
      'lakebase.query.duration',
      'lakebase.pool.connections.total',
      'lakebase.pool.connections.idle',
    ]) {
      expect(emitted).not.toContain(old);
    }
    expect(spans.getFinishedSpans().map((s) => s.name)).toEqual(['SELECT test']);
  });

  it('counts a checkout that timed out waiting for a connection in db.client.connection.timeouts', async () => {
    const { pool, collect } = poolWithMeter(undefined, { pg: { max: 1, connectionTimeoutMillis: 50 } });
    const held = await pool.connect();
    await expect(pool.connect()).rejects.toThrow(/timeout/);
    held.release();
    const timeouts = (await collect()).find((m) => m.descriptor.name === 'db.client.connection.timeouts');
    expect(timeouts?.dataPoints.map((p) => [p.attributes, p.value])).toEqual([
      [{ 'db.client.connection.pool.name': 'primary' }, 1],
    ]);
  });

  it('unset (as database/dup): both the conventions’ names and the old ones', async () => {
    for (const env of [undefined, 'database/dup']) {
      const { pool, names } = poolWithMeter(env, {});
      await pool.query('select 1');
      const emitted = await names();
      expect(emitted, env).toEqual(
        expect.arrayContaining([
          'db.client.operation.duration',
          'lakebase.query.duration',
          'lakebase.pool.connections.total',
        ]),
      );
      await pool.end();
      metrics.disable();
    }
  });
});
