/**
 * The workspace half of the emulator: a fake Databricks workspace (REST API, identities, Lakebase resources, token
 * minting) that also decides who may log in to the PostgreSQL front door.
 */

export type { ApiServerOptions } from './http/server.js';
export type { LoginRefusal } from './login/login.js';
export { LOGIN_FAULT_KINDS, type LoginFaultKind, type LoginFaults } from './login/login-faults.js';
export type {
  CredentialFaults,
  ForcedInstanceState,
  Workspace,
  WorkspaceOptions,
  WorkspaceStats,
} from './types.js';
export { buildApiServer, createWorkspace } from './workspace.js';
