/**
 * OpenTelemetry metrics and spans, when `@opentelemetry/api` is installed (an optional peer dependency; without it
 * nothing here runs and no query is wrapped). Spans and `db.client.operation.duration` follow the OpenTelemetry
 * database semantic conventions (names in semconv.ts), the pool metrics their `db.client.connection.*` ones
 * (pool-metrics.ts); `lakebase.*` metrics count what only the kit knows (credential refreshes, token age, login
 * retries, read fallbacks). With `@opentelemetry/instrumentation-pg` registered, its span per query is the one span
 * and its duration and connection counts the ones recorded: the kit adds only what it lacks. Nothing exported carries
 * a parameter value or a token; statement text only when asked for (`queryText`), with its literals replaced.
 */
import type pg from 'pg';
import { type SemconvNames, semconvNamesFromEnv } from '../config/semconv-stability.js';
import type { CredentialManager, TokenRefreshedEvent, TokenRefreshFailedEvent } from './credentials.js';
import {
  attachConventionPoolMetrics,
  type PoolTimings,
  timeConnectionsMade,
  wrappedByInstrumentation,
} from './pool-metrics.js';
import { hookClientQueries, type QueryHook } from './query-hooks.js';
import {
  ATTR,
  ATTR_INCUBATING,
  DB_SYSTEM_NAME_POSTGRESQL,
  METRIC_DB_CLIENT_OPERATION_DURATION,
  OPERATION_DURATION_BUCKETS,
} from './semconv.js';
import { type StatementShape, sanitizeStatement, shapeOf } from './statement-text.js';
import {
  type Attributes,
  type Instrument,
  loadedOpenTelemetry,
  loadOpenTelemetry,
  type Meter,
  type OtelApi,
  registeredSdk,
  type Tracer,
} from './telemetry-api.js';

const SPAN_KIND_CLIENT = 2;
const STATUS_ERROR = 2;
const SCOPE = '@lakebase-kit/client';

/** Which pool a measurement is about: `write`, `read`, or `pooled`. */
export type PoolRole = 'write' | 'read' | 'pooled';

/** Telemetry settings of one pool (`telemetry: false` turns it all off). */
export interface TelemetryOptions {
  /**
   * A CLIENT span per statement: `'auto'` (default) unless `@opentelemetry/instrumentation-pg` already traces the
   * connection (then its span is the one span), `true` always, `false` never (metrics stay).
   */
  spans?: boolean | 'auto';
  /** `db.query.text` on spans, with every literal and comment replaced by `?` (default false; never parameters). */
  queryText?: boolean;
  /** `db.client.connection.pool.name` (default `primary`, `read` or `pooled` by route; per-user pools `per-user`). */
  poolName?: string;
}

/** What the telemetry of one pool knows about it. */
export interface PoolInfo {
  role: PoolRole;
  database: () => string;
  server: () => { address: string; port: number } | undefined;
  authRetries: () => number;
  transientRetries: () => number;
}

const DEFAULT_POOL_NAME: Record<PoolRole, string> = { write: 'primary', read: 'read', pooled: 'pooled' };

class Instruments {
  readonly operationDuration: Instrument;
  readonly queryDuration: Instrument;
  readonly tokenRefreshDuration: Instrument;
  readonly poolErrors: Instrument;
  readonly credentialRequests: Instrument;
  readonly credentialFailures: Instrument;
  readonly readFallbacks: Instrument;
  readonly tracer: Tracer;

  constructor(
    otel: OtelApi,
    readonly meter: Meter,
  ) {
    this.tracer = otel.trace.getTracer(SCOPE);
    this.operationDuration = meter.createHistogram(METRIC_DB_CLIENT_OPERATION_DURATION, {
      description: 'Duration of database client operations',
      unit: 's',
      advice: { explicitBucketBoundaries: OPERATION_DURATION_BUCKETS },
    });
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
  /** Times a checkout (`db.client.connection.wait_time`, `...timeouts`); the callback itself when not measured. */
  checkout<C extends (error: Error | undefined, ...rest: never[]) => void>(callback: C): C;
  /** The settings this pool was given, for pools made on its behalf (per-user pools). */
  readonly settings: boolean | TelemetryOptions;
}

/** The attributes on everything a pool emits: the system, the database and the server once known. */
function baseAttributes(info: PoolInfo): Attributes {
  const attributes: Attributes = {
    [ATTR.dbSystemName]: DB_SYSTEM_NAME_POSTGRESQL,
    [ATTR.dbNamespace]: info.database(),
  };
  const server = info.server();
  if (server) {
    attributes[ATTR.serverAddress] = server.address;
    attributes[ATTR.serverPort] = server.port;
  }
  return attributes;
}

/** `compute()` cached until the pool's server changes (it is resolved at the first login). */
function perServer<T>(info: PoolInfo, compute: () => T): () => T {
  let server: { address: string; port: number } | undefined;
  let value: T | undefined;
  return () => {
    const now = info.server();
    if (value === undefined || now?.address !== server?.address || now?.port !== server?.port) {
      server = now;
      value = compute();
    }
    return value;
  };
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
  settings: boolean | TelemetryOptions = true,
): PoolTelemetry {
  const enabled = settings !== false;
  const options: TelemetryOptions = typeof settings === 'object' ? settings : {};
  const names = semconvNamesFromEnv();
  const poolName = options.poolName ?? DEFAULT_POOL_NAME[info.role];
  const base = perServer(info, () => baseAttributes(info));
  const kitAttributes = perServer(info, () => ({ ...base(), 'lakebase.pool.role': info.role }));
  let instruments: Instruments | undefined;
  let timings: PoolTimings | undefined;
  let attached = false;
  const attach = (otel: OtelApi | null) => {
    attached = true;
    if (!otel || !enabled) return;
    const it = new Instruments(otel, otel.metrics.getMeter(SCOPE));
    instruments = it;
    const sdk = registeredSdk(otel);
    if (names.conventions && sdk.metering) {
      // The conventions' attribute only: the pool's name says which pool (and so which database and server), and
      // each extra attribute costs the SDK a hash on every checkout's two records.
      const poolAttributes = { [ATTR_INCUBATING.dbClientConnectionPoolName]: poolName };
      timings = attachConventionPoolMetrics(it.meter, pool, () => poolAttributes);
    }
    attachKitPoolMetrics(it, info, names, pool, kitAttributes);
    if (credentials && !instrumentedCredentials.has(credentials)) {
      instrumentedCredentials.add(credentials);
      attachCredentialMetrics(it, credentials, base);
    }
    if (!sdk.tracing && !sdk.metering) return;
    pool.on('connect', (client: pg.PoolClient) => {
      // instrumentation-pg patches pg.Client.prototype.query: its span and duration are then the ones kept.
      const external = wrappedByInstrumentation(client, 'query');
      const plan: HookPlan = {
        span: sdk.tracing && (options.spans === true || (options.spans !== false && !external)),
        operationDuration: sdk.metering && names.conventions && !external,
        queryDuration: sdk.metering && names.legacy,
        queryText: options.queryText === true,
      };
      if (plan.span || plan.operationDuration || plan.queryDuration) {
        hookClientQueries(client, queryHook(it, info, plan, base));
      }
    });
  };
  const loaded = loadedOpenTelemetry();
  if (enabled) {
    timeConnectionsMade(pool, (seconds) => timings?.connectionMade(seconds));
    if (loaded !== undefined) attach(loaded);
    else void loadOpenTelemetry().then(attach);
  }
  return {
    poolError: (error) =>
      instruments?.poolErrors.add?.(1, {
        ...kitAttributes(),
        'error.code': (error as { code?: string }).code ?? 'unknown',
      }),
    readFallback: (reason) => instruments?.readFallbacks.add?.(1, { ...kitAttributes(), [ATTR.errorType]: reason }),
    checkout: (callback) => {
      // Timed while the API is loading too (the first checkouts), not once it is known there is nothing to record.
      if (!enabled || (attached && !timings)) return callback;
      const started = performance.now();
      return ((error: Error | undefined, ...rest: never[]) => {
        timings?.checkedOut((performance.now() - started) / 1000, error);
        callback(error, ...rest);
      }) as typeof callback;
    },
    settings,
  };
}

/** The kit's own pool metrics: `lakebase.pool.connections.*` (its pre-convention names) and login retries. */
function attachKitPoolMetrics(
  it: Instruments,
  info: PoolInfo,
  names: SemconvNames,
  pool: pg.Pool,
  attributes: () => Attributes,
): void {
  if (names.legacy) {
    // The old names keep their old attributes, so dashboards built on them read the same.
    const old = { 'lakebase.pool.role': info.role };
    const gauge = (name: string, description: string, read: () => number) =>
      it.meter.createObservableGauge(name, { description }).addCallback((r) => r.observe(read(), old));
    gauge('lakebase.pool.connections.total', 'Total connections in the pool', () => pool.totalCount);
    gauge('lakebase.pool.connections.idle', 'Idle connections in the pool', () => pool.idleCount);
    gauge('lakebase.pool.connections.waiting', 'Clients waiting for a connection', () => pool.waitingCount);
  }
  it.meter
    .createObservableCounter('lakebase.login.retries', { description: 'Logins retried, by kind', unit: '1' })
    .addCallback((r) => {
      r.observe(info.authRetries(), { ...attributes(), 'lakebase.retry.kind': 'token_refused' });
      r.observe(info.transientRetries(), { ...attributes(), 'lakebase.retry.kind': 'transient' });
    });
}

function attachCredentialMetrics(it: Instruments, credentials: CredentialManager, base: () => Attributes): void {
  credentials.on('token-refreshed', (event: TokenRefreshedEvent) => {
    const attributes = { ...base(), 'lakebase.refresh.reason': event.reason };
    it.tokenRefreshDuration.record?.(event.durationMs, attributes);
    it.credentialRequests.add?.(1, { ...attributes, outcome: 'success' });
  });
  credentials.on('token-refresh-failed', (event: TokenRefreshFailedEvent) => {
    const attributes = { ...base(), 'lakebase.refresh.reason': event.reason };
    it.credentialRequests.add?.(1, { ...attributes, outcome: 'failure' });
    it.credentialFailures.add?.(1, {
      ...attributes,
      'error.code': event.error.code,
      [ATTR.errorType]: String(event.error.details.reason ?? event.error.code),
    });
  });
  it.meter
    .createObservableGauge('lakebase.token.seconds_left', {
      description: 'Seconds until the current database token expires',
      unit: 's',
    })
    .addCallback((r) => {
      const expiresAt = credentials.status().expiresAt;
      if (expiresAt) r.observe(Math.round((expiresAt.getTime() - Date.now()) / 1000), base());
    });
}

/** What one connection's hook does per statement. */
interface HookPlan {
  span: boolean;
  operationDuration: boolean;
  queryDuration: boolean;
  queryText: boolean;
}

/** `{db.operation.name} {target}`, `{target}` or `postgresql`, the target being the table or else the database. */
function spanName(operation: string | undefined, collection: string | undefined, namespace: string): string {
  const target = collection ?? namespace;
  if (operation) return target ? `${operation} ${target}` : operation;
  return target || DB_SYSTEM_NAME_POSTGRESQL;
}

/**
 * A CLIENT span and durations per statement, with the conventions' attributes. Attribute objects and span options are
 * made once per statement shape (and error code) and reused: the SDK copies what it keeps.
 */
function queryHook(it: Instruments, info: PoolInfo, plan: HookPlan, base: () => Attributes): QueryHook {
  const cache = new Map<string, { name: string; options: { kind: number; attributes: Attributes } }>();
  const metricCache = new Map<string, { conventions: Attributes; legacy: Attributes }>();
  // The common case, a statement text seen before that succeeds, by the identity of its cached shape: no key to build.
  const byShape = new Map<
    StatementShape,
    { span?: ReturnType<typeof spanOf>; metrics?: ReturnType<typeof metricsOf> }
  >();
  let cachedBase = base();
  const fresh = () => {
    const now = base();
    if (now !== cachedBase) {
      cachedBase = now; // the server was resolved, or changed
      cache.clear();
      metricCache.clear();
      byShape.clear();
    }
  };
  const spanOf = (text: string | undefined, operation?: string, collection?: string) => {
    const key = `${operation ?? ''}\0${collection ?? ''}${plan.queryText ? `\0${text ?? ''}` : ''}`;
    let entry = cache.get(key);
    if (!entry) {
      const attributes: Attributes = { ...cachedBase, 'lakebase.pool.role': info.role };
      if (operation) attributes[ATTR.dbOperationName] = operation;
      if (collection) attributes[ATTR.dbCollectionName] = collection;
      if (plan.queryText && text) attributes[ATTR.dbQueryText] = sanitizeStatement(text);
      entry = {
        name: spanName(operation, collection, String(cachedBase[ATTR.dbNamespace] ?? '')),
        options: { kind: SPAN_KIND_CLIENT, attributes },
      };
      if (cache.size < 256) cache.set(key, entry);
    }
    return entry;
  };
  const metricsOf = (operation?: string, collection?: string, code?: string, errorType?: string) => {
    const key = `${operation ?? ''}\0${collection ?? ''}\0${code ?? ''}\0${errorType ?? ''}`;
    let entry = metricCache.get(key);
    if (!entry) {
      const conventions: Attributes = { ...cachedBase };
      if (operation) conventions[ATTR.dbOperationName] = operation;
      if (collection) conventions[ATTR.dbCollectionName] = collection;
      if (code) conventions[ATTR.dbResponseStatusCode] = code;
      if (errorType) conventions[ATTR.errorType] = errorType;
      // The old name keeps its old attributes (dashboards built on it read the same; fewer to hash per record).
      const legacy: Attributes = { [ATTR.dbSystemName]: DB_SYSTEM_NAME_POSTGRESQL, 'lakebase.pool.role': info.role };
      if (operation) legacy[ATTR.dbOperationName] = operation;
      if (errorType) legacy[ATTR.errorType] = errorType;
      entry = { conventions, legacy };
      if (metricCache.size < 256) metricCache.set(key, entry);
    }
    return entry;
  };
  return (statement, run, done) => {
    fresh();
    const shape = shapeOf(statement.text);
    const { operation, collection } = shape;
    let known = byShape.get(shape);
    if (!known) {
      known = {};
      if (byShape.size < 256) byShape.set(shape, known);
    }
    let span: ReturnType<Tracer['startSpan']> | undefined;
    if (plan.span) {
      known.span ??= spanOf(statement.text, operation, collection);
      span = it.tracer.startSpan(known.span.name, known.span.options);
    }
    const started = performance.now();
    run((error, result) => {
      const elapsed = performance.now() - started;
      let code: string | undefined;
      let errorType: string | undefined;
      if (error) {
        const raw = (error as { code?: unknown }).code;
        code = typeof raw === 'string' ? raw : undefined;
        errorType = code ?? ((error as Error).name || 'Error');
        if (code) span?.setAttribute(ATTR.dbResponseStatusCode, code);
        span?.setAttribute(ATTR.errorType, errorType);
        span?.setStatus({ code: STATUS_ERROR });
      } else if (span && result && typeof result.rowCount === 'number') {
        span.setAttribute(ATTR_INCUBATING.dbResponseReturnedRows, result.rowCount);
      }
      if (plan.operationDuration || plan.queryDuration) {
        if (!error) known.metrics ??= metricsOf(operation, collection);
        const attributes = known.metrics && !error ? known.metrics : metricsOf(operation, collection, code, errorType);
        if (plan.operationDuration) it.operationDuration.record?.(elapsed / 1000, attributes.conventions);
        if (plan.queryDuration) it.queryDuration.record?.(elapsed, attributes.legacy);
      }
      span?.end();
      done(error, result);
    });
  };
}
