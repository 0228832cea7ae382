/**
 * `@lakebase-kit/client/toolkit`: what the `lakebase` CLI, the app template and the emulator share with the client,
 * and nothing an application needs (that is the root entry, `index.ts`). Each piece of knowledge used by several
 * packages has its one home here. Documented in docs/toolkit.md; a narrower semver promise than the root entry.
 */

// -- CLI and app helpers moved off the root entry (surface) --

// -- one home per piece of knowledge: quoting, atomic write, deadline, connection failures, env (knowledge) --
export { writeFileAtomic, writeFileAtomicSync } from './config/atomic-write.js';
// Config: bundles, env files, resource names, numbers, the workspace part of the config, PATH.
export { type BundleResource, type BundleResources, readBundleResources } from './config/bundle.js';
export { ensureGitignored, parseEnvText, readEnvText, updateEnvFile } from './config/env-file.js';
export { type EnvReader, envReader, parseBoolean, parseChoice } from './config/env-reader.js';
export {
  branchIdFrom,
  INSTANCE_NAME_PATTERN,
  isInstanceName,
  parseBranchId,
  parseBranchName,
  parseEndpointName,
  parseInstanceName,
  parseProjectName,
  parseRoleName,
  parseTableName,
  RESOURCE_ID_PATTERN,
  validateEndpointPath,
  validateInstanceName,
} from './config/names.js';
export { type NumberRange, parseNumber, settingValue } from './config/numbers.js';
export { resolvePerUserSettings } from './config/per-user.js';
export { resolveWorkspaceConfig, searchPathOf } from './config/resolve.js';
export {
  type ConnectionFailure,
  type ConnectionFailureKind,
  classifyConnectionFailure,
  connectionFailureOf,
} from './connection/connection-failures.js';
// Connection parts, usable alone: the connector, the credential manager, DNS, TLS, a token for a child process.
export { LakebaseConnector } from './connection/connector.js';
export { CredentialManager, type CredentialManagerOptions } from './connection/credentials.js';
export {
  createLookup,
  createStreamFactory,
  type DnsOptions,
  type ResolvedAddress,
  type Resolver,
  resolveHost,
} from './connection/dns.js';
export { type DatabaseToken, getDatabaseToken, getLibpqEnv } from './connection/session.js';
export { buildSslOptions, type TlsPolicy, tlsPolicy } from './connection/tls.js';
// `lakebase doctor --as-user`, `lakebase grant`'s printed command, `lakebase migrate create`.
export { type DiagnoseUserOptions, diagnoseUser } from './diagnose/per-user.js';
// -- errors: the registry of codes (errors) --
export {
  ERROR_CODES,
  type ErrorCode,
  type ErrorCodeInfo,
  errorCodeInfo,
  type HttpAnswer,
  RELAYED_LIBRARY_ERROR,
} from './error-codes.js';
// `lakebase proxy`: a local PostgreSQL endpoint that logs in to Lakebase with the kit's tokens.
export {
  type LakebaseProxy,
  type ProxyOptions,
  type ProxyStats,
  startProxy,
} from './proxy/proxy.js';
// The PostgreSQL wire protocol (framing, startup, cancel keys, error responses), shared by `lakebase proxy` and the
// emulator's front door.
export * as pgWire from './proxy/wire.js';
export {
  type BranchDiff,
  branchSnapshot,
  currentBranchId,
  type DiffBranchesOptions,
  diffBranches,
} from './sql/branch-diff.js';
export {
  BACKUP_TTL_SECONDS,
  type BranchBackup,
  backupBranch,
  backupBranchId,
  checkMigrations,
  type MigrationCheck,
  restoreCommand,
} from './sql/branch-migrations.js';
export { grantCommand } from './sql/grants.js';
export { createMigration } from './sql/migrations.js';
export { quoteIdent, quoteLiteral, SqlTextError, shellQuote } from './sql/quote.js';
export { diffSchemas, type RowCountChange, type SchemaChange, type SchemaDiff } from './sql/schema-diff.js';
export {
  SCHEMA_OBJECT_KINDS,
  type SchemaObject,
  type SchemaObjectKind,
  type SchemaSnapshot,
  type SnapshotOptions,
  schemaSnapshot,
} from './sql/schema-snapshot.js';
export { generateRolePassword, scramSha256Verifier, verifyScramSha256 } from './sql/scram.js';
export { settlesWithin, withDeadline } from './time.js';
// The workspace: auth chain, REST API, branches over an API, long-running operations, resource discovery.
export {
  type CredentialScope,
  type CurrentUser,
  type DatabaseInstance,
  type Endpoint,
  LakebaseApi,
  type LakebaseApiOptions,
  type WorkspaceCredentials,
} from './workspace/api.js';
export { findExecutable, WorkspaceAuth, type WorkspaceTokenProvider } from './workspace/auth/index.js';
export {
  BRANCH_ID_PATTERN,
  branchReadWriteEndpoint,
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
export { COMPUTE_SIZES, MAX_COMPUTE_SPREAD, parseComputeUnits, SUSPEND_RANGE } from './workspace/endpoints.js';
export { type Operation, pollUntil, waitForOperation } from './workspace/operations.js';
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
