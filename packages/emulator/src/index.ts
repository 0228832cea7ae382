/**
 * @lakebase-kit/emulator: a local Databricks Lakebase. Start one with {@link startEmulator}; point
 * `@lakebase-kit/client`, the Databricks SDKs or `psql` at what it returns.
 */
export type { LoginAuthority, LoginDecision, LoginRequest, ResourceRef } from './contracts.js';
export { type Emulator, type EmulatorConnectionInfo, type EmulatorOptions, startEmulator } from './emulator.js';
export { EmulatorError } from './errors.js';
// `lakebase proxy --tls` reuses the emulator's localhost certificate authority.
export { type Certificates, ensureCertificates } from './postgres/certs.js';
export type { CredentialFaults, LoginFaultKind, LoginFaults, Workspace, WorkspaceStats } from './workspace/index.js';
