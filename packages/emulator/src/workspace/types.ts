import type { CreatedDatabaseCatalog, LoginAuthority, ResourceRef } from '../contracts.js';
import type { CredentialFaults } from './login/faults.js';
import type { LoginFaults } from './login/login-faults.js';
import type { ForcedInstanceState } from './model/context.js';
import type { RoleStore } from './model/roles.js';
import type { WorkspaceStats } from './model/stats.js';

export type { CredentialFaults } from './login/faults.js';
export type { ForcedInstanceState } from './model/context.js';
export { UNKNOWN_ENDPOINTS_LISTED, type WorkspaceStats } from './model/stats.js';

/** Options for {@link createWorkspace}. Every field but `dataDir` has a default that suits tests. */
export interface WorkspaceOptions {
  /** Where state lives: `workspace.json` and the signing keys, both mode 0600. Created if missing. */
  dataDir: string;
  /** Host name of the default instance and endpoint (and the SNI that selects them). Default `localhost`. */
  pgHost?: string;
  /** Primary user's email, which is also its PostgreSQL role. Default `dev@example.com`. */
  user?: string;
  /** Lifetime of minted database tokens in seconds. Default 3600, as on Lakebase. */
  tokenTtlSeconds?: number;
  /** Name of the default Provisioned instance. Default `lakebase-emulator`. */
  instanceName?: string;
  /** Id of the default Autoscaling project (branch `production`, endpoint `primary`). Default `lakebase-emulator`. */
  projectId?: string;
  /** Lakebase databases that exist; the first is the default. Default `['databricks_postgres']`. */
  databases?: string[];
  /** STARTING -> AVAILABLE delay for created or restarted instances. Default 1000 ms. */
  instanceStartMs?: number;
  /** Long-running Operations report `done: false` until this much time has passed. Default 100 ms. */
  operationDelayMs?: number;
  /** Injectable clock (ms since epoch) for token expiry and state transitions. Default `Date.now`. */
  now?: () => number;
  /**
   * Whether the pooled hosts accept OAuth (database token) logins. `refuse` models a pooler that only takes native
   * password roles: a token login there is FATAL 28000. Default `allow`. Changeable later with `setPooledOAuth`.
   */
  pooledOAuth?: 'allow' | 'refuse';
}

/** A fake Databricks workspace with Lakebase: identities, resources, token minting and the login verdict. */
export interface Workspace extends LoginAuthority {
  /** Numeric workspace id (string), sent as `X-Databricks-Org-Id` and used as the database tokens' audience. */
  readonly workspaceId: string;
  /** Tells the workspace its own URL (known after `listen`), for the OIDC discovery documents. */
  setBaseUrl(url: string): void;
  /** The primary user and its personal access token (`dapi` + 32 hex). */
  readonly user: { userName: string; pat: string };
  /** The service principal for OAuth M2M; `clientId` is a UUID and also its SCIM `userName` and PostgreSQL role. */
  readonly servicePrincipal: { clientId: string; clientSecret: string };
  /** Name of the default Provisioned instance. */
  readonly instanceName: string;
  /** Full name of the default Autoscaling endpoint: `projects/{p}/branches/production/endpoints/primary`. */
  readonly endpointName: string;
  /** The default Lakebase database (`databricks_postgres` unless configured). */
  readonly defaultDatabase: string;
  /** Adds another user with its own PAT (idempotent: an existing user keeps its PAT). Persisted. */
  addUser(email: string, options?: { role?: boolean }): { userName: string; pat: string };
  /**
   * An OAuth access token for the user `email` (created if new), as the Databricks Apps proxy forwards in
   * `x-forwarded-access-token`. `scopes` default to `['postgres']`; without `postgres` the token cannot mint a database
   * credential (403). With `role: false` a new user has no PostgreSQL role.
   */
  issueUserToken(
    email: string,
    options?: { scopes?: string[]; role?: boolean },
  ): Promise<{ access_token: string; token_type: 'Bearer'; expires_in: number; scope: string }>;
  /**
   * Revokes an access token (such as a user token from {@link issueUserToken}): the API refuses it from now on with
   * 403 "Invalid access token.", as an expired one. Throws a RangeError for anything but an unexpired access token
   * of this workspace. Revocations are kept in memory (a restart forgets them).
   */
  revokeAccessToken(token: string): Promise<void>;
  /** Attaches the storage that makes and finds PostgreSQL roles (done by `startEmulator`). */
  attachRoleStore(store: RoleStore): void;
  /** Attaches the storage that knows the databases clients made with CREATE DATABASE (done by `startEmulator`). */
  attachDatabaseCatalog(catalog: CreatedDatabaseCatalog): void;
  /** Mints a database token as the credential endpoints do, without HTTP, fault injection or counting. */
  mintDatabaseToken(
    userName: string,
    resources: ResourceRef[],
    ttlSeconds?: number,
  ): Promise<{ token: string; expiresAt: Date }>;
  /** Changes the lifetime of tokens minted from now on. */
  setTokenTtl(seconds: number): void;
  /** Whether pooled hosts accept OAuth token logins from now on (see {@link WorkspaceOptions.pooledOAuth}). */
  setPooledOAuth(mode: 'allow' | 'refuse'): void;
  /**
   * Forces an instance's state. The state is pinned until changed again (a forced STARTING does not complete on its
   * own). Also accepts an Autoscaling endpoint name: STOPPED disables it, STARTING shows INIT, AVAILABLE is ACTIVE.
   * Throws if no such instance or endpoint exists.
   */
  setInstanceState(name: string, state: ForcedInstanceState): void;
  /** Failure and latency injection for both credential endpoints. */
  readonly faults: CredentialFaults;
  /**
   * Transient login refusals at the PostgreSQL front door, as a waking endpoint or a new branch gives for a moment:
   * `loginFaults.failNext(3)` makes the next three logins fail with FATAL XX000 `External authorization failed.`
   */
  readonly loginFaults: LoginFaults;
  /** Counters since start (not persisted). */
  stats(): WorkspaceStats;
  /** Flushes state to disk. */
  close(): Promise<void>;
}
