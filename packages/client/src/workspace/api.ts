/**
 * `LakebaseApi`: a small typed `fetch` client for the Databricks REST endpoints the toolkit uses (SCIM Me, Provisioned
 * instances and credentials, Autoscaling projects/branches/endpoints and credentials). Retries 429/503 honouring
 * `Retry-After`, bounded; maps error responses to {@link LakebaseError} codes by HTTP status.
 */
import { decodeJwt } from 'jose';
import {
  type BranchName,
  type EndpointName,
  type InstanceName,
  type ProjectName,
  type ResourceName,
  type RoleId,
  type TableName,
  unsafeSegment,
} from '../config/names.js';
import { LakebaseError, registerSecret } from '../errors.js';
import { describeErrorBody, type HttpDeps, type HttpResponse, sendWithRetry } from './http.js';

/** What the API needs from workspace auth. {@link WorkspaceAuth} satisfies it. */
export interface WorkspaceCredentials {
  readonly host: string;
  getToken(): Promise<string>;
  invalidate?(): void;
}

export interface CurrentUser {
  id: string;
  userName: string;
  displayName?: string;
}

/** A Provisioned database instance (`/api/2.0/database/instances/{name}`); unknown fields are kept. */
export interface DatabaseInstance {
  name: string;
  uid?: string;
  /** AVAILABLE, STARTING, STOPPED, UPDATING, DELETING, FAILING_OVER, UPGRADING, or a newer value. */
  state?: string;
  read_write_dns?: string;
  read_only_dns?: string;
  pg_version?: string;
  capacity?: string;
  [field: string]: unknown;
}

/** An Autoscaling endpoint (`/api/2.0/postgres/projects/p/branches/b/endpoints/e`). */
export interface Endpoint {
  name: string;
  uid?: string;
  status?: {
    endpoint_type?: string;
    /** INIT, ACTIVE, IDLE (scaled to zero; wakes on connect), DEGRADED. */
    current_state?: string;
    disabled?: boolean;
    hosts?: { host?: string; read_only_host?: string; read_write_pooled_host?: string; read_only_pooled_host?: string };
    [field: string]: unknown;
  };
  [field: string]: unknown;
}

export interface Project {
  name: string;
  uid?: string;
  status?: Record<string, unknown>;
  [field: string]: unknown;
}

export interface Branch {
  name: string;
  uid?: string;
  status?: Record<string, unknown>;
  [field: string]: unknown;
}

/** A database token. `token` is non-enumerable so the object can be logged or serialised safely. */
export interface DatabaseCredential {
  readonly token: string;
  readonly expiresAt: Date;
  /**
   * The PostgreSQL role the token is for (its JWT `sub`). Set by the {@link CredentialManager}, which decodes each
   * token once when it arrives; undefined for a token that is not a JWT.
   */
  readonly role?: string;
}

/**
 * What a scoped database token may do (reference 1.3/2.4): a lifetime (`ttl`, Autoscaling: 300 s to 3600 s, checked
 * by the workspace) and the claims: `READ_ONLY` (the only permission set), optionally on named tables. Naming tables
 * implies read-only.
 */
export interface CredentialScope {
  ttlSeconds?: number;
  readOnly?: boolean;
  tables?: readonly TableName[];
}

/** The request's `claims` field for `scope`: one READ_ONLY claim, on the tables if any; nothing otherwise. */
function claimsOf(scope: CredentialScope | undefined): { claims?: unknown[] } {
  const tables = scope?.tables ?? [];
  if (!scope?.readOnly && tables.length === 0) return {};
  const resources = tables.map((table) => ({ table_name: table }));
  return { claims: [{ permission_set: 'READ_ONLY', ...(resources.length > 0 ? { resources } : {}) }] };
}

export interface LakebaseApiOptions extends HttpDeps {
  /** `X-Databricks-Workspace-Id` header value, sent when set. */
  workspaceId?: string;
  userAgent?: string;
}

export class LakebaseApi {
  readonly host: string;
  constructor(
    private readonly auth: WorkspaceCredentials,
    private readonly options: LakebaseApiOptions = {},
  ) {
    this.host = auth.host;
  }

  /** `GET /api/2.0/preview/scim/v2/Me`: the calling identity (its `userName` is the PostgreSQL role). */
  async me(): Promise<CurrentUser> {
    return this.call<CurrentUser>('GET', '/api/2.0/preview/scim/v2/Me', undefined, 'the current user');
  }

  async getInstance(name: InstanceName): Promise<DatabaseInstance> {
    return this.call(
      'GET',
      `/api/2.0/database/instances/${encodePath(name)}`,
      undefined,
      `database instance '${name}'`,
    );
  }

  async listInstances(): Promise<DatabaseInstance[]> {
    return this.paginate('/api/2.0/database/instances', 'database_instances', 'database instances');
  }

  async getEndpoint(name: EndpointName): Promise<Endpoint> {
    return this.call('GET', `/api/2.0/postgres/${encodePath(name)}`, undefined, `endpoint '${name}'`);
  }

  async listProjects(): Promise<Project[]> {
    return this.paginate('/api/2.0/postgres/projects', 'projects', 'projects');
  }

  async listBranches(project: ProjectName): Promise<Branch[]> {
    return this.paginate(`/api/2.0/postgres/${encodePath(project)}/branches`, 'branches', `branches of ${project}`);
  }

  async listEndpoints(branch: BranchName): Promise<Endpoint[]> {
    return this.paginate(`/api/2.0/postgres/${encodePath(branch)}/endpoints`, 'endpoints', `endpoints of ${branch}`);
  }

  /**
   * Any Autoscaling call on a parsed name (see config/names.ts), optionally on one of its collections
   * (`{ collection: 'branches' }` is `<name>/branches`), with query parameters encoded here. The branch and
   * operation helpers (workspace/branches.ts, workspace/operations.ts) are built on it.
   */
  async postgres<T>(
    method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
    name: ResourceName,
    body: unknown,
    what: string,
    options: { collection?: 'branches' | 'endpoints' | 'roles'; id?: RoleId; query?: Record<string, string> } = {},
  ): Promise<T> {
    const collection = options.collection
      ? `/${options.collection}${options.id ? `/${encodePath(options.id)}` : ''}`
      : '';
    const query = options.query ? new URLSearchParams(options.query).toString() : '';
    return this.call<T>(
      method,
      `/api/2.0/postgres/${encodePath(name)}${collection}${query ? `?${query}` : ''}`,
      body,
      what,
    );
  }

  /** `POST /api/2.0/database/credentials` (Provisioned); a scope's TTL is not in this API (Autoscaling only). */
  async generateInstanceCredential(
    instanceNames: InstanceName[],
    scope?: CredentialScope,
  ): Promise<DatabaseCredential> {
    const body = await this.call<{ token?: unknown; expiration_time?: unknown }>(
      'POST',
      '/api/2.0/database/credentials',
      { request_id: crypto.randomUUID(), instance_names: instanceNames, ...claimsOf(scope) },
      `a database credential for instance '${instanceNames.join(', ')}'`,
    );
    return toCredential(body.token, body.expiration_time);
  }

  /** `POST /api/2.0/postgres/credentials` (Autoscaling). */
  async generateEndpointCredential(endpoint: EndpointName, scope?: CredentialScope): Promise<DatabaseCredential> {
    const ttl = scope?.ttlSeconds === undefined ? {} : { ttl: `${scope.ttlSeconds}s` };
    const body = await this.call<{ token?: unknown; expire_time?: unknown }>(
      'POST',
      '/api/2.0/postgres/credentials',
      { endpoint, ...ttl, ...claimsOf(scope) },
      `a database credential for endpoint '${endpoint}'`,
    );
    return toCredential(body.token, body.expire_time);
  }

  private async paginate<T>(path: string, field: string, what: string): Promise<T[]> {
    const out: T[] = [];
    let pageToken: string | undefined;
    for (let page = 0; page < 1000; page++) {
      const query = `?page_size=100${pageToken ? `&page_token=${encodeURIComponent(pageToken)}` : ''}`;
      const body = await this.call<Record<string, unknown>>('GET', `${path}${query}`, undefined, what);
      const items = body[field];
      if (Array.isArray(items)) out.push(...(items as T[]));
      const next = body.next_page_token;
      if (typeof next !== 'string' || next === '') break;
      pageToken = next;
    }
    return out;
  }

  private async call<T>(method: string, path: string, body: unknown, what: string): Promise<T> {
    let response = await this.send(method, path, body);
    if (response.status === 401 && this.auth.invalidate) {
      this.auth.invalidate();
      response = await this.send(method, path, body);
    }
    if (response.status >= 200 && response.status < 300) {
      if (response.json === undefined && response.text.trim() !== '') throw notJson(method, path, what);
      return (response.json ?? {}) as T;
    }
    throw apiError(response, method, path, what, this.host);
  }

  private async send(method: string, path: string, body: unknown): Promise<HttpResponse> {
    const token = await this.auth.getToken();
    const headers: Record<string, string> = {
      Authorization: `Bearer ${token}`,
      Accept: 'application/json',
      'User-Agent': this.options.userAgent ?? 'lakebase-kit-client/0.1.0',
    };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (this.options.workspaceId) headers['X-Databricks-Workspace-Id'] = this.options.workspaceId;
    const init: RequestInit = { method, headers };
    if (body !== undefined) init.body = JSON.stringify(body);
    return sendWithRetry(`${this.host}${path}`, init, this.options);
  }
}

/** Map an error response to a {@link LakebaseError} by HTTP status (the REST error codes are not stable strings). */
export function apiError(
  response: HttpResponse,
  method: string,
  path: string,
  what: string,
  host: string,
): LakebaseError {
  const { errorCode, message } = describeErrorBody(response);
  const status = response.status;
  const details = { status, errorCode, path: path.split('?')[0] };
  const text = `${method} ${path.split('?')[0]} -> HTTP ${status}${errorCode ? ` ${errorCode}` : ''}: ${message}`;
  const numericAuthCode = /^\d+$/.test(errorCode ?? '');
  if (status === 401 || (status === 403 && (numericAuthCode || /invalid access token/i.test(message)))) {
    return new LakebaseError('LAKEBASE_AUTH_FAILED', `The workspace rejected our credentials. ${text}`, {
      suggestion: `Re-authenticate: run \`databricks auth login --host ${host}\`, or check DATABRICKS_TOKEN / the service principal secret.`,
      details,
    });
  }
  if (status === 403) {
    // Changing an instance's or branch's PostgreSQL roles (or its permissions) needs CAN_MANAGE; using it, CAN_USE.
    const manages = method !== 'GET' && /\/(roles|permissions)(\/|\?|$)/.test(path);
    return new LakebaseError('LAKEBASE_PERMISSION_DENIED', `Permission denied for ${what}. ${text}`, {
      suggestion: manages
        ? 'Ask the owner of the Lakebase instance/project (or a workspace admin) for CAN_MANAGE on it: only an ' +
          'identity that may manage it can change its PostgreSQL roles.'
        : 'Ask a workspace admin for CAN_USE on the Lakebase instance/project, or add the database resource to the app.',
      details,
    });
  }
  if (status === 404) {
    return new LakebaseError('LAKEBASE_RESOURCE_NOT_FOUND', `Not found: ${what}. ${text}`, {
      suggestion:
        'Check LAKEBASE_INSTANCE_NAME / LAKEBASE_ENDPOINT against `databricks database list-database-instances` or ' +
        '`databricks postgres list-endpoints`, and that DATABRICKS_HOST is the right workspace.',
      details,
    });
  }
  if (status === 429 || status >= 500) {
    return new LakebaseError('LAKEBASE_API_UNAVAILABLE', `The Databricks API is unavailable for ${what}. ${text}`, {
      suggestion: 'This is usually transient (rate limit or outage); retry later.',
      details,
      retryable: true,
    });
  }
  return new LakebaseError('LAKEBASE_API_ERROR', `Request for ${what} failed. ${text}`, {
    suggestion: 'Check the request parameters (instance name, endpoint path).',
    details,
  });
}

/** A success status with a body that is not JSON: a broken endpoint or a proxy's page, never retried. */
function notJson(method: string, path: string, what: string): LakebaseError {
  return new LakebaseError(
    'LAKEBASE_API_ERROR',
    `Request for ${what} failed: ${method} ${path.split('?')[0]} answered with a body that is not JSON.`,
    {
      suggestion: 'Check that DATABRICKS_HOST is the workspace URL and that no proxy rewrites the response.',
      details: { reason: 'invalid-json', path: path.split('?')[0] },
    },
  );
}

/** Build a {@link DatabaseCredential} from a response, falling back to the JWT `exp` when the expiry is unusable. */
export function toCredential(token: unknown, expiry: unknown): DatabaseCredential {
  if (typeof token !== 'string' || token === '') {
    throw new LakebaseError('LAKEBASE_API_ERROR', 'The credential response has no token.', {
      suggestion: 'Report this: the Databricks API answered without a token.',
    });
  }
  registerSecret(token);
  let expiresAt = typeof expiry === 'string' ? Date.parse(expiry) : Number.NaN;
  if (!Number.isFinite(expiresAt)) {
    const exp = jwtClaims(token).exp;
    expiresAt = typeof exp === 'number' ? exp * 1000 : Number.NaN;
  }
  if (!Number.isFinite(expiresAt)) {
    throw new LakebaseError('LAKEBASE_API_ERROR', 'The credential response has no usable expiry time.', {
      suggestion: 'Report this: the Databricks API answered without expire_time/expiration_time.',
    });
  }
  const credential = { expiresAt: new Date(expiresAt) } as DatabaseCredential;
  Object.defineProperty(credential, 'token', { value: token, enumerable: false });
  return credential;
}

/** Decode a JWT's claims without verifying it; `{}` when the token is not a JWT. */
export function jwtClaims(token: string): { sub?: string; exp?: number } {
  try {
    const claims = decodeJwt(token);
    return { sub: typeof claims.sub === 'string' ? claims.sub : undefined, exp: claims.exp };
  } catch {
    return {};
  }
}

/**
 * Encode each segment of a resource path, keeping the slashes. Refuses `.`, `..`, empty segments, encoded text
 * (`%2F`, `%2e%2e`) and backslashes whoever calls it: the typed names already exclude them, and this keeps a cast
 * or a future caller from walking a request out of its path (fetch resolves dot segments before sending).
 */
export function encodePath(name: string): string {
  return String(name)
    .split('/')
    .map((segment) => {
      const why = unsafeSegment(segment);
      if (why !== undefined) {
        throw new LakebaseError(
          'LAKEBASE_CONFIG_INVALID',
          `Refused to send a request to a path whose segment ${why}.`,
          {
            suggestion: 'Pass resource names through the parsers of config/names.ts (parseBranchName and the others).',
            details: { reason: 'unsafe-path' },
          },
        );
      }
      return encodeURIComponent(segment);
    })
    .join('/');
}
