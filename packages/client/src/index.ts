/**
 * `@lakebase-kit/client`: Databricks Lakebase for Node, the API of an application.
 *
 * - {@link createLakebasePool} returns a real `pg.Pool` whose password is a database token that is refreshed ahead of
 *   expiry, for Provisioned instances, Autoscaling endpoints, or a static URL; {@link createReadPool} and
 *   {@link createUserPools} add a pool to the read host and per-user pools beside it.
 * - {@link resolveConfig} turns options and environment variables into a typed config.
 * - {@link diagnose} says which step of config -> auth -> instance -> DNS -> TCP -> TLS -> login -> query fails.
 *
 * Every error is a {@link LakebaseError} with a stable `code` and a `suggestion`; tokens never appear in messages.
 * What the `lakebase` CLI, the app template and the emulator share beyond this is `@lakebase-kit/client/toolkit`
 * (docs/toolkit.md). test/exports.test.ts pins the runtime names below; the README's API table lists exactly them.
 *
 * @packageDocumentation
 */

export { loadEnvFiles } from './config/env-file.js';
export type {
  BranchId,
  BranchName,
  EndpointName,
  InstanceName,
  OperationName,
  ProjectName,
  RoleName,
} from './config/names.js';
export type { PerUserOptions, PerUserSettings } from './config/per-user.js';
export type { ReadFallback, ReadScalingOptions, ReadScalingSettings } from './config/read-scaling.js';
export {
  type AuthType,
  type LakebaseConfig,
  type LakebaseMode,
  type LakebaseOptions,
  type PoolSettings,
  resolveConfig,
  type SslMode,
  type WorkspaceConfig,
} from './config/resolve.js';
export { LakebaseBranches } from './connection/branches.js';
export {
  connect,
  getConnectionConfig,
  withClient,
} from './connection/client.js';
// Types only: what `pool.lakebase` exposes. The classes themselves are in the toolkit.
export type {
  ConnectionTarget,
  ConnectorOptions,
  LakebaseConnector,
  LakebaseLogger,
} from './connection/connector.js';
export type {
  CredentialManager,
  CredentialStatus,
  RefreshReason,
  TokenRefreshedEvent,
  TokenRefreshFailedEvent,
} from './connection/credentials.js';
export { databaseErrorCode } from './connection/database-errors.js';
export { LakebaseEndpoints } from './connection/endpoints.js';
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
export { openTelemetryAvailable, type PoolRole, type TelemetryOptions } from './connection/telemetry.js';
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
  type MissingTableAccess,
  type TableAccessReport,
} from './sql/grants.js';
export { type GroupGrantOptions, type GroupGrantResult, grantToGroup } from './sql/group-roles.js';
export {
  type AppliedMigration,
  type ApplyMigrationsOptions,
  applyMigrations,
  type MigrationDb,
  type MigrationLogger,
  type MigrationOptions,
  type MigrationState,
  type MigrationStatus,
  migrationStatus,
} from './sql/migrations.js';
export { type CreatedRole, LakebaseRoles, type RoleCreateOptions } from './sql/roles.js';
export type {
  Clock,
  TimerHandle,
  Timers,
} from './time.js';
// Types only: `pool.lakebase.api` and `pool.lakebase.auth`, and what a fake `credentialSource` returns.
export type { DatabaseCredential, LakebaseApi } from './workspace/api.js';
export type { WorkspaceAuth } from './workspace/auth/index.js';
export type {
  BranchExpiry,
  BranchInfo,
  CreateBranchOptions,
  CreatedBranch,
  ResetBranchOptions,
} from './workspace/branches.js';
export type { ComputeSettings, EndpointInfo } from './workspace/endpoints.js';
export type { OperationWaitOptions } from './workspace/operations.js';
export type { RoleAuthMethod, RoleIdentity, RoleInfo } from './workspace/roles.js';
