import { verifyScramSha256 } from '@lakebase-kit/client/toolkit';
import type { CreatedDatabaseLookup, LoginDecision, LoginRequest, ResourceRef } from '../../contracts.js';
import { type CreatedDatabaseName, parseCreatedDatabaseName } from '../../database-names.js';
import type { AutoscalingModel } from '../model/autoscaling.js';
import { endpointName } from '../model/autoscaling-records.js';
import { branchKey } from '../model/branches.js';
import { type HostRoute, routeEndpointHost } from '../model/endpoint-hosts.js';
import type { InstanceModel } from '../model/provisioned.js';
import type { RoleRegistry } from '../model/roles.js';
import type { EndpointRecord, IdentityRecord, StateDocument } from '../model/state.js';
import type { DatabaseTokenClaims } from '../model/tokens.js';

/** A refusal, plus the DETAIL line a real server would add (the front door may send it when present). */
export type LoginRefusal = Extract<LoginDecision, { ok: false }> & { detail?: string };

const LOOPBACK = new Set(['127.0.0.1', '::1']);

/** What a pooled host that refuses OAuth logins answers (28000); the client recognises it by this text. */
export const POOLED_OAUTH_REFUSAL =
  'OAuth token authentication is not supported on the pooled host; connect with a native Postgres password role';

/** What the login verdict reads from the workspace: identities, roles, resources and the token check. */
export interface LoginWorkspace {
  readonly state: Pick<StateDocument, 'instances' | 'endpoints' | 'branches'>;
  readonly instances: Pick<InstanceModel, 'find' | 'host' | 'state'>;
  readonly autoscaling: Pick<
    AutoscalingModel,
    'findEndpoint' | 'endpointHost' | 'endpointState' | 'storageDatabase' | 'compute'
  >;
  readonly roles: Pick<RoleRegistry, 'canLogIn' | 'find' | 'verifier'>;
  readonly databases: readonly string[];
  /** The host name of the default instance and endpoint. */
  readonly pgHost: string;
  readonly instanceName: string;
  readonly endpointName: string;
  /** Whether pooled hosts take OAuth token logins. */
  readonly pooledOAuth: 'allow' | 'refuse';
  identityByUserName(userName: string): IdentityRecord | undefined;
  /** Storage's answer for a database a client made in SQL (see CreatedDatabaseCatalog). */
  createdDatabase(name: CreatedDatabaseName, branchKey: string | undefined): Promise<CreatedDatabaseLookup>;
  verifyDatabaseToken(token: string): Promise<DatabaseTokenClaims | undefined>;
}

/**
 * The login verdict, in the order Lakebase checks: role, database, token validity, token subject, token scope for
 * the server the client reached (by SNI), then resource availability. Expiry is checked only here, so an open
 * session outlives its token, as on Lakebase.
 */
export async function authorizeLogin(ws: LoginWorkspace, request: LoginRequest): Promise<LoginDecision> {
  const { user, database, password } = request;
  const record = ws.roles.find(user);
  // Roles that are not a Databricks identity's: NO_LOGIN never logs in; a native role logs in with its password only.
  if (record?.authMethod === 'NO_LOGIN') return refuse('28000', `role "${user}" is not permitted to log in`);
  if (record?.authMethod === 'PG_PASSWORD_SCRAM_SHA_256') return nativeLogin(ws, request);
  const identity = ws.identityByUserName(user);
  if (!identity) return refuse('28000', `role "${user}" does not exist`);
  // A Databricks identity still needs its PostgreSQL role (roles API or databricks_create_role), as on Lakebase.
  const type = identity.kind === 'user' ? 'USER' : 'SERVICE_PRINCIPAL';
  if (!(await ws.roles.canLogIn(user, type))) return refuse('28000', `role "${user}" does not exist`);
  const route = routeOf(ws, request.serverName);
  const served = route?.resources ?? resourcesServedAt(ws, request.serverName);
  const target = await databaseTarget(ws, database, route, served);
  if ('sqlstate' in target) return target;

  const badPassword = refuse('28P01', `password authentication failed for user "${user}"`);
  const claims = await ws.verifyDatabaseToken(password);
  if (!claims || claims.sub !== user) return badPassword;

  const resource = served.find((candidate) =>
    claims.resources.some((r) => r.kind === candidate.kind && r.name === candidate.name),
  );
  if (!resource) return badPassword;
  // A pooler that authenticates only native password roles (the emulator's `pooledOAuth: 'refuse'`).
  if (route?.pooled && ws.pooledOAuth === 'refuse') return refuse('28000', POOLED_OAUTH_REFUSAL);
  const decision = admit(ws, request, route, resource, target);
  // A scoped token (claims READ_ONLY): on named tables, a derived role that may read only them; else a read-only
  // session (the hot standby), which the session cannot make writable.
  if (decision.ok && claims.scope?.tables) decision.tables = claims.scope.tables;
  else if (decision.ok && claims.scope) decision.readOnly = true;
  return decision;
}

/**
 * A native password role (PG_PASSWORD_SCRAM_SHA_256): the password must match the SCRAM verifier the owner set in
 * storage (`ALTER ROLE ... PASSWORD`); a database token is not a password here. It reaches whatever the host serves.
 */
async function nativeLogin(ws: LoginWorkspace, request: LoginRequest): Promise<LoginDecision> {
  const { user, password } = request;
  const route = routeOf(ws, request.serverName);
  const served = route?.resources ?? resourcesServedAt(ws, request.serverName);
  const target = await databaseTarget(ws, request.database, route, served);
  if ('sqlstate' in target) return target;
  if (!verifyScramSha256(password, await ws.roles.verifier(user))) {
    return refuse('28P01', `password authentication failed for user "${user}"`);
  }
  const resource = served[0];
  if (!resource) return refuse('28P01', `password authentication failed for user "${user}"`);
  const decision = admit(ws, request, route, resource, target);
  if (decision.ok) decision.nativePassword = true;
  return decision;
}

/** The verdict once the login is proven: the resource must be available; then where the session runs. */
function admit(
  ws: LoginWorkspace,
  request: LoginRequest,
  route: HostRoute | undefined,
  resource: ResourceRef,
  target: DatabaseTarget,
): LoginDecision {
  const unavailable = unavailableState(ws, route ? { kind: 'endpoint', name: endpointName(route.serving) } : resource);
  if (unavailable) {
    const refusal: LoginRefusal = {
      ok: false,
      sqlstate: '57P03',
      message: 'the database system is not accepting connections',
      detail: unavailable,
    };
    return refusal;
  }
  // A branch's endpoints (read-only and pooled hosts included) serve the branch's own copy of the database.
  const endpoint = route
    ? route.serving
    : resource.kind === 'endpoint'
      ? ws.autoscaling.findEndpoint(resource.name)
      : undefined;
  // A suspended endpoint wakes on this login; until it is up, logins are refused as a starting server refuses them.
  if (endpoint && ws.autoscaling.compute.wakeForLogin(endpoint)) {
    const waking: LoginRefusal = { ok: false, sqlstate: '57P03', message: 'the database system is starting up' };
    return waking;
  }
  // A configured database is the branch's copy of it; one made in SQL has the name the client gave it.
  const stored =
    endpoint && !target.created ? ws.autoscaling.storageDatabase(endpoint, request.database) : request.database;
  const decision: LoginDecision = { ok: true, role: request.user, database: stored, resource };
  if (target.branchKey !== undefined) decision.branchKey = target.branchKey;
  if (target.created) decision.created = true;
  if (route?.readOnly) decision.readOnly = true;
  if (route?.pooled) decision.pooled = true;
  return decision;
}

/** Where the requested database is: a configured one, or one a client made on this host's branch. */
interface DatabaseTarget {
  created: boolean;
  branchKey: string | undefined;
}

/**
 * The database check, before the password as on Lakebase: a configured database (created on first use), or a name
 * of the created-database grammar that storage has, made on the branch this host serves. Anything else is 3D000 and
 * never reaches storage.
 */
async function databaseTarget(
  ws: LoginWorkspace,
  database: string,
  route: HostRoute | undefined,
  served: ResourceRef[],
): Promise<DatabaseTarget | LoginRefusal> {
  const key = branchKeyAt(ws, route, served);
  if (ws.databases.includes(database)) return { created: false, branchKey: key };
  const missing = refuse('3D000', `database "${database}" does not exist`);
  const name = parseCreatedDatabaseName(database);
  if (!name) return missing;
  const found = await ws.createdDatabase(name, key);
  if (found === 'found') return { created: true, branchKey: key };
  return found === 'missing' ? missing : refuse('3D000', `database "${database}" does not exist: ${found.unsupported}`);
}

/** The storage key of the branch a host serves (undefined for default branches and instances, which share one). */
function branchKeyAt(ws: LoginWorkspace, route: HostRoute | undefined, served: ResourceRef[]): string | undefined {
  const endpoint: EndpointRecord | undefined =
    route?.serving ?? served.flatMap((r) => (r.kind === 'endpoint' ? [ws.autoscaling.findEndpoint(r.name)] : []))[0];
  const branch =
    endpoint && ws.state.branches.find((b) => b.projectId === endpoint.projectId && b.branchId === endpoint.branchId);
  return branch ? branchKey(branch) : undefined;
}

/** The route of a read-only or pooled host name (see endpoint-hosts.ts); undefined for every other name. */
function routeOf(ws: LoginWorkspace, serverName: string | undefined): HostRoute | undefined {
  const host = serverName?.toLowerCase();
  if (!host || LOOPBACK.has(host) || host === ws.pgHost.toLowerCase()) return undefined;
  const route = routeEndpointHost(ws.state.endpoints, (e) => ws.autoscaling.endpointHost(e), host);
  return route && (route.readOnly || route.pooled) ? route : undefined;
}

function refuse(sqlstate: string, message: string): LoginRefusal {
  return { ok: false, sqlstate, message };
}

/**
 * The resources a connection to `serverName` reaches. No SNI (an IP address), loopback or pgHost means the default
 * instance and the default endpoint, which share one database; any other name must be a resource's own host.
 */
function resourcesServedAt(ws: LoginWorkspace, serverName: string | undefined): ResourceRef[] {
  const host = serverName?.toLowerCase();
  if (host === undefined || host === '' || LOOPBACK.has(host) || host === ws.pgHost.toLowerCase()) {
    const defaults: ResourceRef[] = [];
    if (ws.instances.find(ws.instanceName)) defaults.push({ kind: 'instance', name: ws.instanceName });
    if (ws.autoscaling.findEndpoint(ws.endpointName)) defaults.push({ kind: 'endpoint', name: ws.endpointName });
    return defaults;
  }
  const instance = ws.state.instances.find((i) => ws.instances.host(i).toLowerCase() === host);
  if (instance) return [{ kind: 'instance', name: instance.name }];
  const endpoint = ws.state.endpoints.find((e) => ws.autoscaling.endpointHost(e).toLowerCase() === host);
  if (endpoint) return [{ kind: 'endpoint', name: endpointName(endpoint) }];
  return [];
}

/** Why the resource refuses connections, or undefined if it accepts them. */
function unavailableState(ws: LoginWorkspace, resource: ResourceRef): string | undefined {
  if (resource.kind === 'instance') {
    const instance = ws.instances.find(resource.name);
    if (!instance) return `Database instance "${resource.name}" does not exist.`;
    const state = ws.instances.state(instance);
    return state === 'AVAILABLE' ? undefined : `Database instance "${resource.name}" is ${state}.`;
  }
  const endpoint = ws.autoscaling.findEndpoint(resource.name);
  if (!endpoint) return `Endpoint "${resource.name}" does not exist.`;
  if (endpoint.disabled) return `Endpoint "${resource.name}" is disabled.`;
  const state = ws.autoscaling.endpointState(endpoint);
  return state === 'INIT' ? `Endpoint "${resource.name}" is INIT (still starting).` : undefined;
}
