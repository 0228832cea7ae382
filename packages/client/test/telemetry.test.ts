/**
 * OpenTelemetry against the emulator, with the SDK's in-memory exporters: metric names (those of @databricks/lakebase
 * where they overlap, plus ours), span attributes per the database semantic conventions, and no parameter value or
 * token anywhere in what is exported.
 */
import type { Emulator } from '@lakebase-kit/emulator';
import { metrics, trace } from '@opentelemetry/api';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLakebasePool, createReadPool, type LakebasePool, openTelemetryAvailable } from '../src/index.js';
import { startWarmEmulator, tokenCollectingFetch } from './helpers/emulator.js';

class TestReader extends MetricReader {
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

const SECRET_PARAM = `param-value-${Math.random().toString(36).slice(2)}`;
let emu: Emulator;
const spans = new InMemorySpanExporter();
const reader = new TestReader();
const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
const meterProvider = new MeterProvider({ readers: [reader] });
const tokens = new Set<string>();
const pools: LakebasePool[] = [];

beforeAll(async () => {
  trace.setGlobalTracerProvider(tracerProvider);
  metrics.setGlobalMeterProvider(meterProvider);
  emu = await startWarmEmulator({ upstream: 'postgresql://postgres@127.0.0.1:5432/test' });
});
afterAll(async () => {
  await Promise.all(pools.map((p) => p.end()));
  await emu?.stop();
  trace.disable();
  metrics.disable();
  await tracerProvider.shutdown();
  await meterProvider.shutdown();
});

async function metricNames(): Promise<{ names: string[]; json: string }> {
  const { resourceMetrics } = await reader.collect();
  const all = resourceMetrics.scopeMetrics.flatMap((scope) => scope.metrics);
  return { names: all.map((m) => m.descriptor.name), json: JSON.stringify(all) };
}

describe('OpenTelemetry (in-memory exporter, emulator)', () => {
  it('exports the metric names, semantic-convention span attributes, and never a parameter value or token', async () => {
    expect(await openTelemetryAvailable()).toBe(true);
    const pool = createLakebasePool({
      env: emu.env('autoscaling'),
      fetch: tokenCollectingFetch(tokens),
      logger: { warn() {} },
    });
    pools.push(pool);
    const reads = createReadPool(pool); // no read host: falls back, counted
    await pool.query('select $1::text as v', [SECRET_PARAM]);
    await reads.query('select $1::text as v', [SECRET_PARAM]);
    const client = await pool.connect();
    await client.query({ text: 'select $1::text as checked_out', values: [SECRET_PARAM] });
    await client.query('select nope_no_such_column').catch(() => {});
    client.release();

    const finished = spans.getFinishedSpans();
    expect(finished.length).toBeGreaterThanOrEqual(4);
    const target = await pool.lakebase.target();
    // `{db.operation.name} {target}`: no table in these statements, so the target is the database.
    const selects = finished.filter((s: ReadableSpan) => s.name === `SELECT ${emu.database}`);
    expect(selects.length).toBeGreaterThanOrEqual(4);
    for (const span of selects) {
      expect(span.kind).toBe(2); // CLIENT
      expect(span.attributes).toMatchObject({
        'db.system.name': 'postgresql',
        'db.namespace': emu.database,
        'db.operation.name': 'SELECT',
        'server.address': target.host,
        'server.port': target.port,
      });
    }
    const failed = selects.find((s) => s.attributes['db.response.status_code'] !== undefined);
    expect(failed?.attributes).toMatchObject({ 'db.response.status_code': '42703', 'error.type': '42703' });
    expect(failed?.status.code).toBe(2); // ERROR
    expect(selects.some((s) => s.attributes['lakebase.pool.role'] === 'write')).toBe(true);

    const { names, json } = await metricNames();
    for (const name of [
      'db.client.operation.duration',
      'db.client.connection.count',
      'db.client.connection.limit',
      'db.client.connection.create_time',
      'db.client.connection.wait_time',
      'db.client.connection.use_time',
      'lakebase.query.duration',
      'lakebase.token.refresh.duration',
      'lakebase.pool.connections.total',
      'lakebase.pool.connections.idle',
      'lakebase.pool.connections.waiting',
      'lakebase.credential.requests',
      'lakebase.token.seconds_left',
      'lakebase.login.retries',
      'lakebase.read_pool.fallbacks',
    ]) {
      expect(names).toContain(name);
    }
    // The primary and the read pool are told apart by the conventions' pool name.
    const { resourceMetrics } = await reader.collect();
    const limit = resourceMetrics.scopeMetrics
      .flatMap((scope) => scope.metrics)
      .find((m) => m.descriptor.name === 'db.client.connection.limit');
    const poolNames = limit?.dataPoints.map((p) => p.attributes['db.client.connection.pool.name']);
    expect(poolNames).toEqual(expect.arrayContaining(['primary', 'read']));

    const exported = JSON.stringify(
      finished.map((s) => ({ name: s.name, attributes: s.attributes, events: s.events })),
    );
    expect(tokens.size).toBeGreaterThan(0);
    for (const secret of [SECRET_PARAM, ...tokens]) {
      expect(exported).not.toContain(secret);
      expect(json).not.toContain(secret);
    }
  });

  it('counts credential failures by cause', async () => {
    const pool = createLakebasePool({
      env: emu.env('autoscaling'),
      logger: { warn() {} },
      credentialOptions: { maxAttempts: 1 },
      apiRetry: { maxAttempts: 1 },
    });
    pools.push(pool);
    emu.workspace.faults.failNext(1, 500);
    await pool.query('select 1').catch(() => {});
    emu.workspace.faults.clear();
    const { names } = await metricNames();
    expect(names).toContain('lakebase.credential.failures');
  });
});
