import { timingSafeEqual } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import type {
  CreatedDatabaseCatalog,
  CreatedDatabaseLookup,
  LoginDecision,
  LoginRequest,
  ResourceRef,
} from '../contracts.js';
import type { CreatedDatabaseName } from '../database-names.js';
import type { ApiWorkspace } from './http/api-workspace.js';
import { type ApiServerOptions, apiServer } from './http/server.js';
import { FaultInjector } from './login/faults.js';
import type { LoginWorkspace } from './login/login.js';
import { authorizeLogin } from './login/login.js';
import { LoginFaultInjector } from './login/login-faults.js';
import { AutoscalingModel } from './model/autoscaling.js';
import type { ModelContext, ResolvedSettings } from './model/context.js';
import { PermissionModel } from './model/permissions.js';
import { InstanceModel } from './model/provisioned.js';
import { RoleRegistry, type RoleStore } from './model/roles.js';
import {
  type IdentityRecord,
  loadState,
  newClientSecret,
  newNumericId,
  newPat,
  randomUUID,
  type StateDocument,
  saveState,
} from './model/state.js';
import { type DatabaseTokenClaims, type TokenScope, TokenSigner } from './model/tokens.js';
import { issueUserToken } from './model/users.js';
import {
  type ForcedInstanceState,
  UNKNOWN_ENDPOINTS_LISTED,
  type Workspace,
  type WorkspaceOptions,
  type WorkspaceStats,
} from './types.js';

const EMAIL = /^[^@\s]+@[^@\s]+$/;

/** Creates (or reopens, from `dataDir`) a fake Databricks workspace with a default instance and project. */
export async function createWorkspace(options: WorkspaceOptions): Promise<Workspace> {
  const settings: ResolvedSettings = {
    pgHost: options.pgHost ?? 'localhost',
    userName: options.user ?? 'dev@example.com',
    instanceName: options.instanceName ?? 'lakebase-emulator',
    projectId: options.projectId ?? 'lakebase-emulator',
    databases: options.databases?.length ? [...options.databases] : ['databricks_postgres'],
    instanceStartMs: options.instanceStartMs ?? 1000,
    operationDelayMs: options.operationDelayMs ?? 100,
  };
  if (!EMAIL.test(settings.userName)) throw new TypeError(`user must be an email address, got '${settings.userName}'`);
  mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  const state = loadState(options.dataDir);
  const signer = await TokenSigner.open(options.dataDir, state.workspaceId);
  const workspace = new WorkspaceImpl(options.dataDir, settings, state, signer, options.now ?? Date.now);
  workspace.setTokenTtl(options.tokenTtlSeconds ?? 3600);
  workspace.setPooledOAuth(options.pooledOAuth ?? 'allow');
  workspace.ensureDefaults();
  return workspace;
}

/**
 * The workspace behind the {@link Workspace} interface. The API server reaches these internals through
 * {@link internal}; nothing else should.
 */
export class WorkspaceImpl implements Workspace, ModelContext, LoginWorkspace, ApiWorkspace {
  readonly instances: InstanceModel;
  readonly autoscaling: AutoscalingModel;
  readonly faults = new FaultInjector();
  readonly loginFaults: LoginFaultInjector;
  readonly roles: RoleRegistry;
  readonly permissions: PermissionModel;
  private baseUrl: string | undefined;
  private databaseCatalog: CreatedDatabaseCatalog | undefined;
  private tokenTtl = 3600;
  /** Whether pooled hosts take OAuth token logins (see `WorkspaceOptions.pooledOAuth`). */
  pooledOAuth: 'allow' | 'refuse' = 'allow';
  private counters: Omit<WorkspaceStats, 'unknownEndpoints'> = {
    credentialRequests: { provisioned: 0, autoscaling: 0, total: 0, failedByInjection: 0 },
    oauthTokensIssued: 0,
    logins: { attempted: 0, succeeded: 0, refused: 0, failedByInjection: 0 },
    telemetryReports: 0,
  };
  /** `method path` of each unknown endpoint called, with its count (at most UNKNOWN_ENDPOINTS_LISTED keys). */
  private readonly unknownEndpoints = new Map<string, { method: string; path: string; count: number }>();
  private unknownEndpointCalls = 0;
  /** `jti` of revoked access tokens -> when they expire (ms), after which they are refused anyway. */
  private readonly revokedTokens = new Map<string, number>();

  constructor(
    private readonly dataDir: string,
    readonly settings: ResolvedSettings,
    readonly state: StateDocument,
    private readonly signer: TokenSigner,
    readonly now: () => number,
  ) {
    this.loginFaults = new LoginFaultInjector(now);
    this.instances = new InstanceModel(this);
    this.autoscaling = new AutoscalingModel(this);
    this.roles = new RoleRegistry(state, now, () => this.persist());
    this.permissions = new PermissionModel(this, (userName) => this.identityByUserName(userName) !== undefined);
  }

  /** First start: creates the identities and the default resources; later starts keep what is stored. */
  ensureDefaults(): void {
    // A state file from before roles: every identity in it keeps the role it could log in with.
    if (this.roles.unset) for (const identity of this.state.identities) this.recordRole(identity);
    this.addUser(this.settings.userName);
    this.roles.markOwner(this.settings.userName);
    if (!this.state.identities.some((i) => i.kind === 'service_principal')) {
      const clientId = randomUUID();
      this.state.identities.push({
        kind: 'service_principal',
        id: newNumericId(),
        userName: clientId,
        displayName: 'lakebase-emulator-sp',
        clientSecret: newClientSecret(),
      });
      this.recordRole(this.state.identities.at(-1) as IdentityRecord);
    }
    if (!this.instances.find(this.settings.instanceName)) {
      this.instances.create({ name: this.settings.instanceName }, this.settings.userName, true);
    }
    if (!this.state.projects.some((p) => p.projectId === this.settings.projectId)) {
      this.autoscaling.createProject(this.settings.projectId, {}, this.settings.userName, true);
    }
    this.persist();
  }

  persist(): void {
    saveState(this.dataDir, this.state);
  }

  get workspaceId(): string {
    return this.state.workspaceId;
  }

  setBaseUrl(url: string): void {
    this.baseUrl = url.replace(/\/+$/, '');
  }

  /** The configured base URL, or the one the request arrived at. */
  baseUrlOr(requestOrigin: string): string {
    return this.baseUrl ?? requestOrigin;
  }

  get user(): { userName: string; pat: string } {
    const record = this.identityByUserName(this.settings.userName) as IdentityRecord;
    return { userName: record.userName, pat: record.pat as string };
  }

  get servicePrincipal(): { clientId: string; clientSecret: string } {
    const record = this.state.identities.find((i) => i.kind === 'service_principal') as IdentityRecord;
    return { clientId: record.userName, clientSecret: record.clientSecret as string };
  }

  get instanceName(): string {
    return this.settings.instanceName;
  }

  get endpointName(): string {
    return this.autoscaling.defaultEndpointName;
  }

  get defaultDatabase(): string {
    return this.settings.databases[0] as string;
  }

  get databases(): readonly string[] {
    return this.settings.databases;
  }

  get pgHost(): string {
    return this.settings.pgHost;
  }

  get tokenTtlSeconds(): number {
    return this.tokenTtl;
  }

  /** A workspace user; with `role: false` (per-user tests) the user has no PostgreSQL role yet, so cannot log in. */
  addUser(email: string, options: { role?: boolean } = {}): { userName: string; pat: string } {
    if (!EMAIL.test(email)) throw new TypeError(`a user's name must be an email address, got '${email}'`);
    let record = this.identityByUserName(email);
    if (!record) {
      record = { kind: 'user', id: newNumericId(), userName: email, displayName: displayNameOf(email), pat: newPat() };
      this.state.identities.push(record);
      if (options.role !== false) this.recordRole(record);
      this.persist();
    }
    if (record.kind !== 'user' || !record.pat) throw new TypeError(`'${email}' is not a user`);
    return { userName: record.userName, pat: record.pat };
  }

  issueUserToken(email: string, options: { scopes?: string[]; role?: boolean } = {}) {
    return issueUserToken(this, email, options);
  }

  /** Attaches the storage that makes and finds PostgreSQL roles (see {@link RoleStore}). */
  attachRoleStore(store: RoleStore): void {
    this.roles.attach(store);
  }

  attachDatabaseCatalog(catalog: CreatedDatabaseCatalog): void {
    this.databaseCatalog = catalog;
  }

  /** Without storage (REST-only tests) no database was made in SQL. */
  createdDatabase(name: CreatedDatabaseName, branchKey: string | undefined): Promise<CreatedDatabaseLookup> {
    return this.databaseCatalog?.createdDatabase(name, branchKey) ?? Promise.resolve('missing');
  }

  private recordRole(identity: IdentityRecord): void {
    this.roles.record(identity.userName, identity.kind === 'user' ? 'USER' : 'SERVICE_PRINCIPAL');
  }

  identityByUserName(userName: string): IdentityRecord | undefined {
    return this.state.identities.find((i) => i.userName === userName);
  }

  /** The identity a bearer token (PAT or unexpired OAuth access token) stands for. */
  async authenticateBearer(token: string): Promise<IdentityRecord | undefined> {
    return (await this.authenticateBearerWithScopes(token))?.identity;
  }

  /**
   * The identity a bearer token stands for and the OAuth scopes it carries (one signature check): `scopes` is
   * undefined for a PAT (which may call every API), the token's own list for an OAuth access token (`all-apis`, or a
   * user token's `postgres`, ...).
   */
  async authenticateBearerWithScopes(
    token: string,
  ): Promise<{ identity: IdentityRecord; scopes: string[] | undefined } | undefined> {
    if (token.startsWith('dapi')) {
      const identity = this.state.identities.find((i) => i.pat !== undefined && safeEqual(i.pat, token));
      return identity ? { identity, scopes: undefined } : undefined;
    }
    const claims = await this.signer.verifyAccessTokenClaims(token, this.now());
    if (claims?.jti !== undefined && this.revokedTokens.has(claims.jti)) return undefined;
    const identity = claims === undefined ? undefined : this.identityByUserName(claims.sub);
    return identity ? { identity, scopes: claims?.scopes ?? [] } : undefined;
  }

  /**
   * Revokes an OAuth access token (a user signing out, an admin revoking the app's consent): from now on it is
   * refused like an expired one (403 "Invalid access token."). Idempotent. Kept in memory until the token would have
   * expired anyway; a restart forgets revocations.
   * @throws RangeError when `token` is not an unexpired access token of this workspace.
   */
  async revokeAccessToken(token: string): Promise<void> {
    const claims = await this.signer.verifyAccessTokenClaims(token, this.now());
    if (!claims?.jti) throw new RangeError('not an unexpired access token of this workspace');
    const now = this.now();
    for (const [jti, expiresAt] of this.revokedTokens) if (expiresAt <= now) this.revokedTokens.delete(jti);
    this.revokedTokens.set(claims.jti, (claims.exp ?? 0) * 1000);
  }

  /** The service principal whose client credentials these are, or undefined. */
  clientByCredentials(clientId: string, clientSecret: string): IdentityRecord | undefined {
    const record = this.identityByUserName(clientId);
    if (record?.kind !== 'service_principal' || !record.clientSecret) return undefined;
    return safeEqual(record.clientSecret, clientSecret) ? record : undefined;
  }

  /** Issues an OAuth access token (counted in stats). */
  async issueAccessToken(clientId: string, scope: string, issuer: string): Promise<string> {
    const token = await this.signer.signAccessToken(clientId, scope, issuer, this.now());
    this.counters.oauthTokensIssued++;
    return token;
  }

  async mintDatabaseToken(
    userName: string,
    resources: ResourceRef[],
    ttlSeconds?: number,
    scope?: TokenScope,
  ): Promise<{ token: string; expiresAt: Date }> {
    const ttl = ttlSeconds ?? this.tokenTtl;
    if (!(ttl > 0)) throw new RangeError(`token TTL must be > 0 seconds, got ${ttl}`);
    return this.signer.signDatabaseToken(userName, resources, ttl, this.now(), scope);
  }

  verifyDatabaseToken(token: string): Promise<DatabaseTokenClaims | undefined> {
    return this.signer.verifyDatabaseToken(token, this.now());
  }

  setPooledOAuth(mode: 'allow' | 'refuse'): void {
    if (mode !== 'allow' && mode !== 'refuse')
      throw new RangeError(`pooled OAuth must be allow or refuse, got '${mode}'`);
    this.pooledOAuth = mode;
  }

  setTokenTtl(seconds: number): void {
    if (!(seconds > 0) || !Number.isFinite(seconds))
      throw new RangeError(`token TTL must be > 0 seconds, got ${seconds}`);
    this.tokenTtl = seconds;
  }

  setInstanceState(name: string, state: ForcedInstanceState): void {
    if (state !== 'AVAILABLE' && state !== 'STARTING' && state !== 'STOPPED') {
      throw new RangeError(`state must be AVAILABLE, STARTING or STOPPED, got '${String(state)}'`);
    }
    const instance = this.instances.find(name);
    const endpoint = instance ? undefined : this.autoscaling.findEndpoint(name);
    if (instance) this.instances.force(instance, state);
    else if (endpoint) this.autoscaling.force(endpoint, state);
    else throw new RangeError(`no instance or endpoint named '${name}'`);
  }

  /** Counts one credential call that passed authentication. */
  countCredentialRequest(tier: 'provisioned' | 'autoscaling'): void {
    this.counters.credentialRequests[tier]++;
    this.counters.credentialRequests.total++;
  }

  countInjectedFailure(): void {
    this.counters.credentialRequests.failedByInjection++;
  }

  /** Counts one call to a path the API does not implement. */
  countUnknownEndpoint(method: string, path: string): void {
    this.unknownEndpointCalls++;
    const key = `${method} ${path}`;
    const known = this.unknownEndpoints.get(key);
    if (known) known.count++;
    else if (this.unknownEndpoints.size < UNKNOWN_ENDPOINTS_LISTED) {
      this.unknownEndpoints.set(key, { method, path, count: 1 });
    }
  }

  countTelemetryReport(): void {
    this.counters.telemetryReports++;
  }

  stats(): WorkspaceStats {
    const calls = [...this.unknownEndpoints.values()].map((entry) => ({ ...entry })).sort((a, b) => b.count - a.count);
    return { ...structuredClone(this.counters), unknownEndpoints: { total: this.unknownEndpointCalls, calls } };
  }

  async authorizeLogin(request: LoginRequest): Promise<LoginDecision> {
    this.counters.logins.attempted++;
    const injected = await this.loginFaults.next();
    if (injected) {
      this.counters.logins.refused++;
      this.counters.logins.failedByInjection++;
      return injected;
    }
    const decision = await authorizeLogin(this, request);
    if (decision.ok) this.counters.logins.succeeded++;
    else this.counters.logins.refused++;
    return decision;
  }

  async close(): Promise<void> {
    this.persist();
  }

  /** A summary without PATs, secrets or keys, so logging or serialising the workspace leaks nothing. */
  toJSON(): Record<string, string> {
    return {
      workspaceId: this.workspaceId,
      user: this.settings.userName,
      instanceName: this.instanceName,
      endpointName: this.endpointName,
    };
  }
}

/**
 * The workspace REST API as a Fastify instance, not yet listening: OIDC discovery and M2M tokens, SCIM Me, Lakebase
 * Provisioned and Autoscaling resources and credentials, `/telemetry-ext`, and the `/__emulator` admin routes. The
 * caller listens (`listen({ host: '127.0.0.1', port })`). OIDC discovery points at the URL each request arrived at
 * (so one workspace can serve HTTP and HTTPS side by side), unless the caller fixes one with `setBaseUrl`.
 */
export function buildApiServer(workspace: Workspace, options: ApiServerOptions = {}): FastifyInstance {
  return apiServer(internal(workspace), options);
}

/** The implementation behind a {@link Workspace} made by {@link createWorkspace}. */
export function internal(workspace: Workspace): WorkspaceImpl {
  if (!(workspace instanceof WorkspaceImpl)) throw new TypeError('expected a Workspace made by createWorkspace()');
  return workspace;
}

function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** "jane.doe@example.com" -> "Jane Doe". */
function displayNameOf(email: string): string {
  const local = email.split('@')[0] ?? email;
  return local
    .split(/[._-]+/)
    .filter(Boolean)
    .map((part) => part[0]?.toUpperCase() + part.slice(1))
    .join(' ');
}
