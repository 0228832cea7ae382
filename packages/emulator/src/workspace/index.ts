/**
 * The workspace half of the emulator: a fake Databricks workspace (REST API, identities, Lakebase resources, token
 * minting) that also decides who may log in to the PostgreSQL front door.
 */

export type { LoginRefusal } from './login.js';
export { LOGIN_FAULT_KINDS, type LoginFaultKind, type LoginFaults } from './login-faults.js';
export { type ApiServerOptions, buildApiServer } from './server.js';
export type {
  CredentialFaults,
  ForcedInstanceState,
  Workspace,
  WorkspaceOptions,
  WorkspaceStats,
} from './types.js';
export { createWorkspace } from './workspace.js';
