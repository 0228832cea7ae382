/**
 * What a backend receives: the SDK exports through the OTLP/HTTP exporters to an in-process OTLP receiver on
 * loopback, and the spans and metrics that arrive carry the database semantic conventions' names, units, attributes
 * and bucket boundaries (the pinned @opentelemetry/semantic-conventions, compared by its own constants). Then
 * @opentelemetry/instrumentation-pg is registered too: each query has exactly one span (its), and the kit records
 * neither a second db.client.operation.duration nor a second db.client.connection.count. Real PostgreSQL on loopback.
 */
import { createRequire } from 'node:module';
import { metrics, trace } from '@opentelemetry/api';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import {
  ATTR_DB_COLLECTION_NAME,
  ATTR_DB_NAMESPACE,
  ATTR_DB_OPERATION_NAME,
  ATTR_DB_QUERY_TEXT,
  ATTR_DB_RESPONSE_STATUS_CODE,
  ATTR_DB_SYSTEM_NAME,
  ATTR_ERROR_TYPE,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  DB_SYSTEM_NAME_VALUE_POSTGRESQL,
  METRIC_DB_CLIENT_OPERATION_DURATION,
} from '@opentelemetry/semantic-conventions';
import {
  ATTR_DB_CLIENT_CONNECTION_POOL_NAME,
  ATTR_DB_CLIENT_CONNECTION_STATE,
  METRIC_DB_CLIENT_CONNECTION_COUNT,
  METRIC_DB_CLIENT_CONNECTION_CREATE_TIME,
  METRIC_DB_CLIENT_CONNECTION_IDLE_MAX,
  METRIC_DB_CLIENT_CONNECTION_IDLE_MIN,
  METRIC_DB_CLIENT_CONNECTION_LIMIT,
  METRIC_DB_CLIENT_CONNECTION_PENDING_REQUESTS,
  METRIC_DB_CLIENT_CONNECTION_USE_TIME,
  METRIC_DB_CLIENT_CONNECTION_WAIT_TIME,
} from '@opentelemetry/semantic-conventions/incubating';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OtlpReceiver, type ReceivedMetric, startOtlpReceiver } from '../../../test/helpers/otlp-receiver.js';
import { createLakebasePool, type LakebasePool } from '../src/index.js';

const UPSTREAM = 'postgresql://postgres@127.0.0.1:5432/test';
const TABLE = `otel_items_${process.pid}`;
const KIT = '@lakebase-kit/client';
const SECRET_LITERAL = `literal-${Math.random().toString(36).slice(2)}`;
const SECRET_PARAM = `param-${Math.random().toString(36).slice(2)}`;
const BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10];

let receiver: OtlpReceiver;
let tracerProvider: BasicTracerProvider;
let meterProvider: MeterProvider;
const pools: LakebasePool[] = [];
let unpatch: (() => void) | undefined;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  tracerProvider = new BasicTracerProvider({
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: `${receiver.url}/v1/traces` }))],
  });
  meterProvider = new MeterProvider({
    readers: [
      new PeriodicExportingMetricReader({
        exporter: new OTLPMetricExporter({ url: `${receiver.url}/v1/metrics` }),
        exportIntervalMillis: 60_000, // exported on forceFlush only
      }),
    ],
  });
  trace.setGlobalTracerProvider(tracerProvider);
  metrics.setGlobalMeterProvider(meterProvider);
  const admin = new pg.Client({ connectionString: UPSTREAM });
  await admin.connect();
  await admin.query(`create table if not exists ${TABLE} (id serial primary key, v text)`);
  await admin.end();
});

afterAll(async () => {
  unpatch?.();
  await Promise.all(pools.map((p) => p.end()));
  const admin = new pg.Client({ connectionString: UPSTREAM });
  await admin.connect();
  await admin.query(`drop table if exists ${TABLE}`);
  await admin.end();
  trace.disable();
  metrics.disable();
  await tracerProvider.shutdown();
  await meterProvider.shutdown();
  await receiver.close();
});

function pool(telemetry: Parameters<typeof createLakebasePool>[0]): LakebasePool {
  const p = createLakebasePool({ url: UPSTREAM, env: {}, logger: { warn() {} }, ...telemetry });
  pools.push(p);
  return p;
}

async function flush(): Promise<ReceivedMetric[]> {
  await tracerProvider.forceFlush();
  await meterProvider.forceFlush();
  return receiver.metrics.at(-1) ?? [];
}

const metricOf = (all: ReceivedMetric[], name: string, scope = KIT) =>
  all.find((m) => m.name === name && m.scope === scope);
const pointsFor = (metric: ReceivedMetric | undefined, poolName: string) =>
  metric?.points.filter((p) => p.attributes[ATTR_DB_CLIENT_CONNECTION_POOL_NAME] === poolName) ?? [];

/**
 * Registers instrumentation-pg as an app's `--import` setup would. pg is already loaded in this process, so its own
 * module patches are applied to the loaded pg and pg-pool (what require-in-the-middle calls at load time).
 */
function registerInstrumentationPg(): void {
  const instrumentation = new PgInstrumentation({ enabled: false });
  instrumentation.setTracerProvider(tracerProvider);
  instrumentation.setMeterProvider(meterProvider);
  const require = createRequire(import.meta.url);
  const definitions = instrumentation.getModuleDefinitions();
  const patched = definitions.map((d) => ({ d, exports: require(d.name) }));
  for (const { d, exports } of patched) d.patch?.(exports); // its patches read no version
  unpatch = () => {
    for (const { d, exports } of patched) d.unpatch?.(exports);
  };
}

describe('telemetry as an OTLP backend receives it', () => {
  it('spans and metrics carry the conventions’ names, units, attributes and buckets', async () => {
    const p = pool({ telemetry: { queryText: true } });
    // First, as pg-pool discards a connection whose query failed: the next two share one new connection.
    await p.query('select nope_no_such_column').catch(() => {});
    await p.query(`insert into ${TABLE} (v) values ('${SECRET_LITERAL}'), ($1)`, [SECRET_PARAM]);
    await p.query(`select v from ${TABLE} where id = 1`);
    const all = await flush();
    expect([...receiver.contentTypes].some((type) => type.startsWith('application/json'))).toBe(true);

    const spans = receiver.spans.filter((s) => s.scope === KIT);
    const insert = spans.find((s) => s.name === `INSERT ${TABLE}`);
    const select = spans.find((s) => s.name === `SELECT ${TABLE}`);
    const failed = spans.find((s) => s.name === 'SELECT test');
    for (const span of [insert, select, failed]) {
      expect(span?.kind).toBe(3); // OTLP SPAN_KIND_CLIENT
      expect(span?.attributes).toMatchObject({
        [ATTR_DB_SYSTEM_NAME]: DB_SYSTEM_NAME_VALUE_POSTGRESQL,
        [ATTR_DB_NAMESPACE]: 'test',
        [ATTR_DB_OPERATION_NAME]: span === insert ? 'INSERT' : 'SELECT',
        [ATTR_SERVER_ADDRESS]: '127.0.0.1',
        [ATTR_SERVER_PORT]: 5432,
      });
    }
    expect(insert?.attributes[ATTR_DB_COLLECTION_NAME]).toBe(TABLE);
    expect(select?.attributes[ATTR_DB_COLLECTION_NAME]).toBe(TABLE);
    expect(insert?.attributes[ATTR_DB_QUERY_TEXT]).toBe(`insert into ${TABLE} (v) values (?), ($1)`);
    expect(select?.attributes[ATTR_DB_QUERY_TEXT]).toBe(`select v from ${TABLE} where id = ?`);
    expect(failed?.attributes).toMatchObject({ [ATTR_DB_RESPONSE_STATUS_CODE]: '42703', [ATTR_ERROR_TYPE]: '42703' });
    expect(failed?.status.code).toBe(2); // STATUS_CODE_ERROR
    const exported = JSON.stringify([receiver.spans, receiver.metrics]);
    expect(exported).not.toContain(SECRET_LITERAL);
    expect(exported).not.toContain(SECRET_PARAM);

    const duration = metricOf(all, METRIC_DB_CLIENT_OPERATION_DURATION);
    expect(duration).toMatchObject({ kind: 'histogram', unit: 's' });
    for (const point of duration?.points ?? []) expect(point.explicitBounds).toEqual(BUCKETS);
    const inserts = duration?.points.find((pt) => pt.attributes[ATTR_DB_OPERATION_NAME] === 'INSERT');
    expect(inserts?.attributes).toEqual({
      [ATTR_DB_SYSTEM_NAME]: 'postgresql',
      [ATTR_DB_NAMESPACE]: 'test',
      [ATTR_DB_OPERATION_NAME]: 'INSERT',
      [ATTR_DB_COLLECTION_NAME]: TABLE,
      [ATTR_SERVER_ADDRESS]: '127.0.0.1',
      [ATTR_SERVER_PORT]: 5432,
    });
    expect(inserts?.count).toBe(1);
    const errors = duration?.points.find((pt) => pt.attributes[ATTR_ERROR_TYPE] === '42703');
    expect(errors?.attributes[ATTR_DB_RESPONSE_STATUS_CODE]).toBe('42703');

    const count = metricOf(all, METRIC_DB_CLIENT_CONNECTION_COUNT);
    expect(count).toMatchObject({ kind: 'sum', monotonic: false, unit: '{connection}' });
    const states = pointsFor(count, 'primary').map((pt) => [pt.attributes[ATTR_DB_CLIENT_CONNECTION_STATE], pt.value]);
    expect(Object.fromEntries(states)).toEqual({ idle: 1, used: 0 });
    for (const [name, value] of [
      [METRIC_DB_CLIENT_CONNECTION_LIMIT, p.options.max],
      [METRIC_DB_CLIENT_CONNECTION_IDLE_MAX, p.options.max],
      [METRIC_DB_CLIENT_CONNECTION_IDLE_MIN, p.options.min ?? 0],
      [METRIC_DB_CLIENT_CONNECTION_PENDING_REQUESTS, 0],
    ] as const) {
      const metric = metricOf(all, name);
      expect(metric?.kind, name).toBe('sum');
      expect(metric?.monotonic, name).toBe(false);
      expect(pointsFor(metric, 'primary').map((pt) => pt.value)).toEqual([value]);
    }
    expect(metricOf(all, METRIC_DB_CLIENT_CONNECTION_PENDING_REQUESTS)?.unit).toBe('{request}');
    for (const [name, times] of [
      [METRIC_DB_CLIENT_CONNECTION_CREATE_TIME, 2],
      [METRIC_DB_CLIENT_CONNECTION_WAIT_TIME, 3],
      [METRIC_DB_CLIENT_CONNECTION_USE_TIME, 3],
    ] as const) {
      const metric = metricOf(all, name);
      expect(metric).toMatchObject({ kind: 'histogram', unit: 's' });
      const [point] = pointsFor(metric, 'primary');
      expect(point?.count, name).toBe(times);
      expect(point?.attributes).toEqual({ [ATTR_DB_CLIENT_CONNECTION_POOL_NAME]: 'primary' }); // the conventions' only
    }
  });

  it('with instrumentation-pg registered, each query has exactly one span and nothing is counted twice', async () => {
    const kitDurationCount = (all: ReceivedMetric[]) =>
      (metricOf(all, METRIC_DB_CLIENT_OPERATION_DURATION)?.points ?? []).reduce((n, pt) => n + (pt.count ?? 0), 0);
    const before = kitDurationCount(await flush());
    const spansBefore = receiver.spans.length;
    registerInstrumentationPg();
    expect((pg.Client.prototype.query as { __wrapped?: boolean }).__wrapped).toBe(true);

    const p = pool({ telemetry: { poolName: 'with-instrumentation-pg' } });
    const statements = [`select v from ${TABLE} where id = 1`, 'select 1', `update ${TABLE} set v = v where id = 1`];
    for (const text of statements) await p.query(text);
    const client = await p.connect();
    await client.query('select 2');
    client.release();
    const all = await flush();

    const querySpans = receiver.spans.slice(spansBefore).filter((s) => s.kind === 3 && !/connect/.test(s.name));
    expect(querySpans).toHaveLength(statements.length + 1);
    expect(new Set(querySpans.map((s) => s.scope))).toEqual(new Set(['@opentelemetry/instrumentation-pg']));

    // instrumentation-pg records the duration and the connection count; the kit adds neither for this pool.
    expect(kitDurationCount(all)).toBe(before);
    const theirs = metricOf(all, METRIC_DB_CLIENT_OPERATION_DURATION, '@opentelemetry/instrumentation-pg');
    expect(theirs?.points.reduce((n, pt) => n + (pt.count ?? 0), 0)).toBe(statements.length + 1);
    expect(pointsFor(metricOf(all, METRIC_DB_CLIENT_CONNECTION_COUNT), 'with-instrumentation-pg')).toEqual([]);
    // What it does not record, the kit still does.
    const waits = pointsFor(metricOf(all, METRIC_DB_CLIENT_CONNECTION_WAIT_TIME), 'with-instrumentation-pg');
    expect(waits[0]?.count).toBe(statements.length + 1);
  });
});
