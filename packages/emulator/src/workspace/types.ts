import type { LoginAuthority, ResourceRef } from '../contracts.js';
import type { LoginFaults } from './login/login-faults.js';

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
}

/** Instance states an operator (or a test) can force with {@link Workspace.setInstanceState}. */
export type ForcedInstanceState = 'AVAILABLE' | 'STARTING' | 'STOPPED';

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
  attachRoleStore(store: import('./model/roles.js').RoleStore): void;
  /** Mints a database token as the credential endpoints do, without HTTP, fault injection or counting. */
  mintDatabaseToken(
    userName: string,
    resources: ResourceRef[],
    ttlSeconds?: number,
  ): Promise<{ token: string; expiresAt: Date }>;
  /** Changes the lifetime of tokens minted from now on. */
  setTokenTtl(seconds: number): void;
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

/** Failure and latency injection; applies to both credential endpoints. */
export interface CredentialFaults {
  /** The next `count` credential calls fail with `status` (429 carries `Retry-After`, default 1 s). */
  failNext(count: number, status: 500 | 429 | 503, options?: { retryAfterSeconds?: number }): void;
  /** From now on a random `fraction` (0..1) of credential calls fail with `status`; 0 turns it off. */
  failFraction(fraction: number, status: 500 | 429 | 503): void;
  /** Delays every credential response by `ms`. */
  setLatency(ms: number): void;
  /** Removes every injected failure and the latency. */
  clear(): void;
}

/** Counters the emulator keeps for tests and benchmarks. */
export interface WorkspaceStats {
  /** Calls to the credential endpoints that passed authentication, including those failed by injection. */
  credentialRequests: { provisioned: number; autoscaling: number; total: number; failedByInjection: number };
  /** Access tokens issued by `POST /oidc/v1/token`. */
  oauthTokensIssued: number;
  /** Verdicts of {@link Workspace.authorizeLogin}. */
  logins: { attempted: number; succeeded: number; refused: number; failedByInjection: number };
  /** Reports the SDKs POST to `/telemetry-ext` (accepted and dropped). */
  telemetryReports: number;
  /**
   * Calls to paths (or methods) the emulator does not implement, answered 404 `ENDPOINT_NOT_FOUND`: which API a
   * client needs that the emulator lacks. `calls` lists each distinct `method path` (query string dropped, the first
   * {@link UNKNOWN_ENDPOINTS_LISTED} of them) with its count, most called first; `total` counts every call.
   */
  unknownEndpoints: { total: number; calls: Array<{ method: string; path: string; count: number }> };
}

/** How many distinct unknown endpoints the stats list; more are only counted, so a scanner cannot grow memory. */
export const UNKNOWN_ENDPOINTS_LISTED = 100;
