/**
 * OpenTelemetry metrics and spans, when `@opentelemetry/api` is installed (an optional peer dependency; without it
 * nothing here runs and no query is wrapped). Metric names follow `@databricks/lakebase` where they overlap, so its
 * dashboards carry over; spans follow the OpenTelemetry database semantic conventions. Neither ever carries a
 * statement's text, a parameter value or a token: span and metric attributes are the operation keyword, the server,
 * the database, the pool's role and error codes.
 */
import type pg from 'pg';
import type { CredentialManager, TokenRefreshedEvent, TokenRefreshFailedEvent } from './credentials.js';
import { hookPoolQueries, operationOf, type QueryHook } from './query-hooks.js';

/** The parts of `@opentelemetry/api` used here (structural, so the client compiles and runs without it). */
interface Attributes {
  [key: string]: string | number | boolean | undefined;
}
interface Span {
  setAttribute(key: string, value: string | number | boolean): unknown;
  setStatus(status: { code: number; message?: string }): unknown;
  end(): void;
}
interface Instrument {
  record?(value: number, attributes?: Attributes): void;
  add?(value: number, attributes?: Attributes): void;
}
interface Observable {
  addCallback(callback: (result: { observe(value: number, attributes?: Attributes): void }) => void): void;
}
interface Meter {
  createHistogram(name: string, options: { description: string; unit: string }): Instrument;
  createCounter(name: string, options: { description: string; unit: string }): Instrument;
  createObservableGauge(name: string, options: { description: string; unit?: string }): Observable;
  createObservableCounter(name: string, options: { description: string; unit?: string }): Observable;
}
interface OtelApi {
  trace: {
    getTracer(name: string, version?: string): { startSpan(name: string, options?: unknown): Span };
    getTracerProvider(): object;
  };
  metrics: { getMeter(name: string, version?: string): Meter; getMeterProvider(): object };
}

/**
 * Which SDK halves are registered: a tracer or meter provider other than the API's no-op ones. With neither, the
 * per-statement hook would only feed no-ops, so it is not installed and queries cost what they did; with one, the
 * hook skips the other's per-statement work.
 */
function registeredSdk(otel: OtelApi): { tracing: boolean; metering: boolean } {
  const tracing = otel.trace.getTracerProvider() as { getDelegate?(): object };
  const tracer = tracing.getDelegate?.() ?? tracing;
  return {
    tracing: tracer.constructor.name !== 'NoopTracerProvider',
    metering: otel.metrics.getMeterProvider().constructor.name !== 'NoopMeterProvider',
  };
}

const SPAN_KIND_CLIENT = 2;
const STATUS_ERROR = 2;
const SCOPE = '@lakebase-kit/client';

/** Which pool a measurement is about: `write`, `read`, or `pooled`. */
export type PoolRole = 'write' | 'read' | 'pooled';

/** What the telemetry of one pool knows about it. */
export interface PoolInfo {
  role: PoolRole;
  database: () => string;
  server: () => { address: string; port: number } | undefined;
  authRetries: () => number;
  transientRetries: () => number;
}

let api: OtelApi | null | undefined; // undefined: not loaded yet; null: not installed
let loading: Promise<OtelApi | null> | undefined;

/** Loads `@opentelemetry/api` once; resolves null when it is not installed. */
function loadOpenTelemetry(): Promise<OtelApi | null> {
  loading ??= import('@opentelemetry/api').then(
    (module) => {
      const m = module as unknown as OtelApi & { default?: OtelApi };
      api = m.trace ? m : (m.default ?? null);
      return api;
    },
    () => {
      api = null;
      return null;
    },
  );
  return loading;
}

class Instruments {
  readonly queryDuration: Instrument;
  readonly tokenRefreshDuration: Instrument;
  readonly poolErrors: Instrument;
  readonly credentialRequests: Instrument;
  readonly credentialFailures: Instrument;
  readonly readFallbacks: Instrument;
  readonly tracer: ReturnType<OtelApi['trace']['getTracer']>;

  constructor(
    readonly otel: OtelApi,
    readonly meter: Meter,
  ) {
    this.tracer = otel.trace.getTracer(SCOPE);
    this.queryDuration = meter.createHistogram('lakebase.query.duration', {
      description: 'Duration of queries (pool.query and checked-out clients)',
      unit: 'ms',
    });
    this.tokenRefreshDuration = meter.createHistogram('lakebase.token.refresh.duration', {
      description: 'Duration of OAuth token refresh operations',
      unit: 'ms',
    });
    const counter = (name: string, description: string) => meter.createCounter(name, { description, unit: '1' });
    this.poolErrors = counter('lakebase.pool.errors', 'Connection pool errors by error code');
    this.credentialRequests = counter('lakebase.credential.requests', 'Database credential requests, by outcome');
    this.credentialFailures = counter(
      'lakebase.credential.failures',
      'Failed database credential requests, by error code and reason',
    );
    this.readFallbacks = counter(
      'lakebase.read_pool.fallbacks',
      'Times the read pool sent reads to the primary because the read host failed',
    );
  }
}

/** Whether `@opentelemetry/api` is installed (and so whether pools emit metrics and spans). */
export async function openTelemetryAvailable(): Promise<boolean> {
  return (await loadOpenTelemetry()) !== null;
}

const instrumentedCredentials = new WeakSet<CredentialManager>();

/** Per-pool telemetry events that happen outside a statement. */
export interface PoolTelemetry {
  /** Counts a read-pool fallback to the primary. */
  readFallback(reason: string): void;
  /** Counts an error of an idle connection (the pool's `error` event). */
  poolError(error: Error): void;
}

/**
 * Instruments `pool` (metrics, and a span per statement) once `@opentelemetry/api` has loaded; with it absent,
 * nothing is installed. Instruments are made per pool, from the meter provider registered at that moment (the
 * metrics API, unlike tracing, has no proxy: register the SDK before creating pools). Connections opened before the
 * API loaded are not traced (it loads within milliseconds, before the first login completes in practice).
 */
export function instrumentPool(
  pool: pg.Pool,
  info: PoolInfo,
  credentials: CredentialManager | undefined,
  enabled = true,
): PoolTelemetry {
  let instruments: Instruments | undefined;
  const attach = () => {
    if (!api || !enabled) return;
    const it = new Instruments(api, api.metrics.getMeter(SCOPE));
    instruments = it;
    attachPoolMetrics(it, pool, info);
    if (credentials && !instrumentedCredentials.has(credentials)) {
      instrumentedCredentials.add(credentials);
      attachCredentialMetrics(it, credentials);
    }
    const sdk = registeredSdk(api);
    if (sdk.tracing || sdk.metering) hookPoolQueries(pool, queryHook(it, info, sdk.tracing));
  };
  if (enabled) {
    if (api !== undefined) attach();
    else void loadOpenTelemetry().then(attach);
  }
  return {
    poolError: (error) =>
      instruments?.poolErrors.add?.(1, {
        'lakebase.pool.role': info.role,
        'error.code': (error as { code?: string }).code ?? 'unknown',
      }),
    readFallback: (reason) =>
      instruments?.readFallbacks.add?.(1, { 'lakebase.pool.role': info.role, 'error.type': reason }),
  };
}

function attachPoolMetrics(it: Instruments, pool: pg.Pool, info: PoolInfo): void {
  const attributes = { 'lakebase.pool.role': info.role };
  const gauge = (name: string, description: string, read: () => number) =>
    it.meter.createObservableGauge(name, { description }).addCallback((r) => r.observe(read(), attributes));
  gauge('lakebase.pool.connections.total', 'Total connections in the pool', () => pool.totalCount);
  gauge('lakebase.pool.connections.idle', 'Idle connections in the pool', () => pool.idleCount);
  gauge('lakebase.pool.connections.waiting', 'Clients waiting for a connection', () => pool.waitingCount);
  it.meter
    .createObservableCounter('lakebase.login.retries', { description: 'Logins retried, by kind', unit: '1' })
    .addCallback((r) => {
      r.observe(info.authRetries(), { ...attributes, 'lakebase.retry.kind': 'token_refused' });
      r.observe(info.transientRetries(), { ...attributes, 'lakebase.retry.kind': 'transient' });
    });
}

function attachCredentialMetrics(it: Instruments, credentials: CredentialManager): void {
  credentials.on('token-refreshed', (event: TokenRefreshedEvent) => {
    it.tokenRefreshDuration.record?.(event.durationMs, { 'lakebase.refresh.reason': event.reason });
    it.credentialRequests.add?.(1, { outcome: 'success', 'lakebase.refresh.reason': event.reason });
  });
  credentials.on('token-refresh-failed', (event: TokenRefreshFailedEvent) => {
    const attributes = {
      'error.code': event.error.code,
      'error.type': String(event.error.details.reason ?? event.error.code),
      'lakebase.refresh.reason': event.reason,
    };
    it.credentialRequests.add?.(1, { outcome: 'failure', 'lakebase.refresh.reason': event.reason });
    it.credentialFailures.add?.(1, attributes);
  });
  it.meter
    .createObservableGauge('lakebase.token.seconds_left', {
      description: 'Seconds until the current database token expires',
      unit: 's',
    })
    .addCallback((r) => {
      const expiresAt = credentials.status().expiresAt;
      if (expiresAt) r.observe(Math.round((expiresAt.getTime() - Date.now()) / 1000));
    });
}

/**
 * A CLIENT span and a duration per statement, with the semantic conventions' attributes and no statement text. The
 * attribute objects are made once per operation keyword (and error code) and reused: the SDK copies what it keeps.
 */
function queryHook(it: Instruments, info: PoolInfo, tracing: boolean): QueryHook {
  const spanOptions = new Map<string | undefined, { kind: number; attributes: Attributes }>();
  const metricAttributes = new Map<string, Attributes>();
  let server: { address: string; port: number } | undefined;
  const spanOptionsOf = (operation: string | undefined) => {
    const now = info.server();
    if (now?.address !== server?.address || now?.port !== server?.port) {
      server = now;
      spanOptions.clear(); // the target was resolved, or changed
    }
    let options = spanOptions.get(operation);
    if (!options) {
      const attributes: Attributes = {
        'db.system.name': 'postgresql',
        'db.namespace': info.database(),
        'lakebase.pool.role': info.role,
      };
      if (operation) attributes['db.operation.name'] = operation;
      if (server) {
        attributes['server.address'] = server.address;
        attributes['server.port'] = server.port;
      }
      options = { kind: SPAN_KIND_CLIENT, attributes };
      if (spanOptions.size < 64) spanOptions.set(operation, options);
    }
    return options;
  };
  const metricAttributesOf = (operation: string | undefined, errorType: string | undefined): Attributes => {
    const key = `${operation ?? ''}\0${errorType ?? ''}`;
    let attributes = metricAttributes.get(key);
    if (!attributes) {
      attributes = { 'db.system.name': 'postgresql', 'lakebase.pool.role': info.role };
      if (operation) attributes['db.operation.name'] = operation;
      if (errorType) attributes['error.type'] = errorType;
      if (metricAttributes.size < 256) metricAttributes.set(key, attributes);
    }
    return attributes;
  };
  return (statement, run, done) => {
    const operation = operationOf(statement.text);
    const span = tracing ? it.tracer.startSpan(operation ?? 'postgresql', spanOptionsOf(operation)) : undefined;
    const started = performance.now();
    run((error, result) => {
      let errorType: string | undefined;
      if (error) {
        const code = (error as { code?: unknown }).code;
        errorType = typeof code === 'string' ? code : ((error as Error).name ?? 'Error');
        if (typeof code === 'string') span?.setAttribute('db.response.status_code', code);
        span?.setAttribute('error.type', errorType);
        span?.setStatus({ code: STATUS_ERROR });
      } else if (span && result && typeof result.rowCount === 'number') {
        span.setAttribute('db.response.returned_rows', result.rowCount);
      }
      it.queryDuration.record?.(performance.now() - started, metricAttributesOf(operation, errorType));
      span?.end();
      done(error, result);
    });
  };
}
