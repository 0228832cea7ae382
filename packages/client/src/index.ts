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
  type BundleResource,
  type BundleResources,
  readBundleResources,
} from './config/bundle.js';
export {
  ensureGitignored,
  loadEnvFiles,
  updateEnvFile,
} from './config/env-file.js';
export {
  type BranchId,
  type BranchName,
  type EndpointName,
  type InstanceName,
  type OperationName,
  type ProjectName,
  parseBranchId,
  parseBranchName,
  parseEndpointName,
  parseInstanceName,
  parseProjectName,
  parseRoleName,
  type RoleName,
  validateEndpointPath,
  validateInstanceName,
} from './config/names.js';
export { type NumberRange, parseNumber, settingValue } from './config/numbers.js';
export { type PerUserOptions, type PerUserSettings, resolvePerUserSettings } from './config/per-user.js';
export type { ReadFallback, ReadScalingOptions, ReadScalingSettings } from './config/read-scaling.js';
export {
  type AuthType,
  type LakebaseConfig,
  type LakebaseMode,
  type LakebaseOptions,
  type PoolSettings,
  resolveConfig,
  resolveWorkspaceConfig,
  type SslMode,
  searchPathOf,
  type WorkspaceConfig,
} from './config/resolve.js';
export { LakebaseBranches } from './connection/branches.js';
export {
  connect,
  getConnectionConfig,
  withClient,
} from './connection/client.js';
export {
  type ConnectionTarget,
  type ConnectorOptions,
  LakebaseConnector,
  type LakebaseLogger,
} from './connection/connector.js';
export {
  CredentialManager,
  type CredentialManagerOptions,
  type CredentialStatus,
  type RefreshReason,
  type TokenRefreshedEvent,
  type TokenRefreshFailedEvent,
} from './connection/credentials.js';
export { databaseErrorCode } from './connection/database-errors.js';
export {
  createLookup,
  createStreamFactory,
  type DnsOptions,
  type ResolvedAddress,
  type Resolver,
  resolveHost,
} from './connection/dns.js';
export type { ConnectRetryOptions } from './connection/login-retry.js';
export {
  createLakebasePool,
  LakebasePool,
  type LakebasePoolOptions,
} from './connection/pool.js';
export {
  createReadPool,
  LakebaseReadPool,
  type ReadFallbackEvent,
  type ReadPoolOptions,
} from './connection/read-pool.js';
export {
  type DatabaseToken,
  getDatabaseToken,
  getLibpqEnv,
} from './connection/session.js';
export { openTelemetryAvailable, type PoolRole } from './connection/telemetry.js';
export {
  buildSslOptions,
  type TlsPolicy,
  tlsPolicy,
} from './connection/tls.js';
export {
  createUserPools,
  type UserLease,
  UserPools,
  type UserPoolsOptions,
  type UserPoolsStats,
} from './connection/user-pools.js';
export {
  type DiagnoseOptions,
  type DiagnosisReport,
  type DiagnosticStep,
  type DiagnosticStepName,
  diagnose,
} from './diagnose/index.js';
export { type DiagnoseUserOptions, diagnoseUser } from './diagnose/per-user.js';
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
  type TableAccessReport,
} from './sql/grants.js';
export { type GroupGrantOptions, type GroupGrantResult, grantToGroup } from './sql/group-roles.js';
export {
  type AppliedMigration,
  type ApplyMigrationsOptions,
  applyMigrations,
  createMigration,
  type MigrationDb,
  type MigrationLogger,
  type MigrationOptions,
  type MigrationState,
  type MigrationStatus,
  migrationStatus,
} from './sql/migrations.js';
export {
  type ListTablesOptions,
  listTables,
  type TableInfo,
} from './sql/tables.js';
export type {
  Clock,
  TimerHandle,
  Timers,
} from './time.js';
export {
  type CurrentUser,
  type DatabaseCredential,
  type DatabaseInstance,
  type Endpoint,
  LakebaseApi,
  type LakebaseApiOptions,
  type WorkspaceCredentials,
} from './workspace/api.js';
export {
  findExecutable,
  WorkspaceAuth,
  type WorkspaceTokenProvider,
} from './workspace/auth/index.js';
export {
  BRANCH_ID_PATTERN,
  type BranchExpiry,
  type BranchInfo,
  branchReadWriteEndpoint,
  type CreateBranchOptions,
  type CreatedBranch,
  createBranch,
  deleteBranch,
  ensureReadWriteEndpoint,
  getBranch,
  listBranches,
  parseDuration,
  RESET_LOSES,
  resetBranch,
  updateBranchExpiry,
} from './workspace/branches.js';
export {
  type Operation,
  type OperationWaitOptions,
  pollUntil,
  waitForOperation,
} from './workspace/operations.js';
export {
  ambiguous,
  describeResource,
  type LakebaseResource,
  listWorkspaceResources,
  type ReadyResource,
  resolveBundleResources,
  type WaitOptions,
  waitUntilReady,
} from './workspace/resources.js';
