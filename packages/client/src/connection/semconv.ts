/**
 * The OpenTelemetry semantic-convention names the kit emits, copied from `@opentelemetry/semantic-conventions`
 * 1.45.0 (pinned as a devDependency; test/semconv.test.ts compares every value here with the package's own constants),
 * so the client needs no runtime dependency beyond the optional `@opentelemetry/api`. The span attributes and
 * `db.client.operation.duration` are stable; the connection-pool metrics are still in development (1.45.0 renamed
 * `db.client.connection.max` to `db.client.connection.limit`), so a new pin may rename them: change them here only.
 */

/** The `@opentelemetry/semantic-conventions` release these names were copied from. */
export const SEMCONV_VERSION = '1.45.0';

/** Stable attributes (the package's main entry). */
export const ATTR = {
  dbSystemName: 'db.system.name',
  dbNamespace: 'db.namespace',
  dbOperationName: 'db.operation.name',
  dbCollectionName: 'db.collection.name',
  dbQueryText: 'db.query.text',
  dbResponseStatusCode: 'db.response.status_code',
  errorType: 'error.type',
  serverAddress: 'server.address',
  serverPort: 'server.port',
} as const;

/** Incubating attributes (the package's `/incubating` entry). */
export const ATTR_INCUBATING = {
  dbResponseReturnedRows: 'db.response.returned_rows',
  dbClientConnectionPoolName: 'db.client.connection.pool.name',
  dbClientConnectionState: 'db.client.connection.state',
} as const;

/** `db.system.name` for PostgreSQL; `db.client.connection.state` values. */
export const DB_SYSTEM_NAME_POSTGRESQL = 'postgresql';
export const CONNECTION_STATE = { idle: 'idle', used: 'used' } as const;

/** The stable duration histogram. */
export const METRIC_DB_CLIENT_OPERATION_DURATION = 'db.client.operation.duration';

/** The conventions' bucket boundaries for `db.client.operation.duration` (seconds). */
export const OPERATION_DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10];

/** Connection-pool metrics (incubating). */
export const METRIC_POOL = {
  count: 'db.client.connection.count',
  idleMax: 'db.client.connection.idle.max',
  idleMin: 'db.client.connection.idle.min',
  limit: 'db.client.connection.limit',
  pendingRequests: 'db.client.connection.pending_requests',
  timeouts: 'db.client.connection.timeouts',
  createTime: 'db.client.connection.create_time',
  waitTime: 'db.client.connection.wait_time',
  useTime: 'db.client.connection.use_time',
} as const;
