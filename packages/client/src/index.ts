/**
 * `@lakebase-kit/client`: Databricks Lakebase for Node.
 *
 * - {@link createLakebasePool} returns a real `pg.Pool` whose password is a database token that is refreshed ahead of
 *   expiry, for Provisioned instances, Autoscaling endpoints, or a static URL.
 * - {@link resolveConfig} turns options and environment variables into a typed config.
 * - {@link CredentialManager}, {@link WorkspaceAuth} and {@link LakebaseApi} are the parts, usable alone.
 * - {@link diagnose} says which step of config -> auth -> instance -> DNS -> TCP -> TLS -> login -> query fails.
 *
 * Every error is a {@link LakebaseError} with a stable `code` and a `suggestion`; tokens never appear in messages.
 *
 * @packageDocumentation
 */

export {
  type CurrentUser,
  type DatabaseCredential,
  type DatabaseInstance,
  type Endpoint,
  jwtClaims,
  LakebaseApi,
  type LakebaseApiOptions,
  type WorkspaceCredentials,
} from './api.js';
export { findDatabricksCli, parseIni, WorkspaceAuth, type WorkspaceTokenProvider } from './auth.js';
export {
  type BundleResource,
  type BundleResources,
  bundleResourcesOf,
  readBundleResources,
} from './bundle.js';
export { type ListTablesOptions, listTables, type TableInfo } from './catalog.js';
export { type Clock, systemClock, systemTimers, type TimerHandle, type Timers } from './clock.js';
export {
  type AuthType,
  DEFAULT_DATABASE,
  type LakebaseConfig,
  type LakebaseMode,
  type LakebaseOptions,
  NOT_CONFIGURED_SUGGESTION,
  normalizeDatabricksHost,
  type PoolSettings,
  resolveConfig,
  resolveWorkspaceConfig,
  type SslMode,
  type WorkspaceConfig,
} from './config.js';
export {
  type ConnectionTarget,
  type ConnectorOptions,
  LakebaseConnector,
  type LakebaseLogger,
} from './connector.js';
export {
  CredentialManager,
  type CredentialManagerOptions,
  type CredentialStatus,
  type RefreshReason,
  type TokenRefreshedEvent,
  type TokenRefreshFailedEvent,
} from './credentials.js';
export {
  type DiagnoseOptions,
  type DiagnosisReport,
  type DiagnosticStep,
  type DiagnosticStepName,
  diagnose,
} from './diagnose.js';
export {
  ambiguous,
  describeResource,
  ENDPOINT_PATH_PATTERN,
  INSTANCE_NAME_PATTERN,
  type LakebaseResource,
  listWorkspaceResources,
  type ReadyResource,
  resolveBundleResources,
  validateEndpointPath,
  validateInstanceName,
  type WaitOptions,
  waitUntilReady,
} from './discovery.js';
export {
  createLookup,
  createStreamFactory,
  type DnsOptions,
  type ResolvedAddress,
  type Resolver,
  resolveHost,
} from './dns.js';
export {
  ENV_FILES,
  ensureGitignored,
  loadEnvFiles,
  mergeEnvText,
  parseEnvText,
  quoteEnvValue,
  readEnvText,
  updateEnvFile,
  writeFileAtomic,
} from './env-file.js';
export {
  isLakebaseError,
  LakebaseError,
  type LakebaseErrorCode,
  type LakebaseErrorDetails,
  redact,
  registerSecret,
} from './errors.js';
export {
  checkTableAccess,
  type GrantOptions,
  type GrantResult,
  grantAccess,
  grantCommand,
  type MissingTableAccess,
  quoteIdent,
  type TableAccessReport,
} from './grants.js';
export {
  backoffDelay,
  type ConnectRetryOptions,
  isServerClosedConnection,
  isTransientLoginFailure,
} from './login-retry.js';
export {
  type AppliedMigration,
  type ApplyMigrationsOptions,
  applyMigrations,
  CHECKSUMS_TABLE,
  createMigration,
  type MigrationDb,
  type MigrationLogger,
  type MigrationOptions,
  type MigrationState,
  type MigrationStatus,
  migrationStatus,
} from './migrations.js';
export {
  connect,
  createLakebasePool,
  getConnectionConfig,
  LAKEBASE_IDLE_LIMIT_SECONDS,
  LAKEBASE_LIFETIME_LIMIT_SECONDS,
  LakebasePool,
  type LakebasePoolOptions,
} from './pool.js';
export { buildSslOptions, type TlsPolicy, tlsPolicy } from './tls.js';
