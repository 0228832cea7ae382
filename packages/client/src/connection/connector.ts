/**
 * `LakebaseConnector`: the pieces a pool, a single client and `diagnose` share. It holds the resolved config, the
 * workspace auth, the REST client and the credential manager, finds the connection target (host, user, instance) once,
 * and builds the pg client config.
 */
import { userInfo } from 'node:os';
import type pg from 'pg';
import {
  branchOf,
  type EndpointName,
  fromServer,
  type InstanceName,
  parseEndpointName,
  parseInstanceName,
} from '../config/names.js';
import { MIN_TIMEOUT_MS, parseNumber } from '../config/numbers.js';
import { type LakebaseConfig, type LakebaseOptions, resolveConfig } from '../config/resolve.js';
import { LakebaseError, redact } from '../errors.js';
import { type Clock, MAX_TIMER_DELAY_MS, systemClock, systemTimers, type Timers, withDeadline } from '../time.js';
import { type CredentialScope, type DatabaseCredential, LakebaseApi } from '../workspace/api.js';
import { WorkspaceAuth } from '../workspace/auth/index.js';
import { branchReadWriteEndpoint } from '../workspace/branches.js';
import type { FetchFn, RetryPolicy } from '../workspace/http.js';
import { type LakebaseResource, notReady, readResourceState } from '../workspace/resources.js';
import { CredentialManager, type CredentialManagerOptions } from './credentials.js';
import { createStreamFactory, type DnsOptions } from './dns.js';
import { buildSslOptions } from './tls.js';

/** Where log lines go. Every message and field is redacted before it is handed over. */
export interface LakebaseLogger {
  debug?(message: string, fields?: Record<string, unknown>): void;
  info?(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
}

/** Options shared by `createLakebasePool`, `getConnectionConfig`, `connect` and `diagnose`. */
export interface ConnectorOptions extends LakebaseOptions {
  /** Environment to read (default `process.env`). */
  env?: Record<string, string | undefined>;
  /** A config already resolved with `resolveConfig` (then `env` and the other fields are ignored). */
  config?: LakebaseConfig;
  /** Replace the REST credential call, e.g. with a fake in tests. */
  credentialSource?: () => Promise<DatabaseCredential>;
  /** Tuning of the credential manager (retries, backoff). */
  credentialOptions?: Omit<CredentialManagerOptions, 'fetchCredential' | 'clock' | 'timers'>;
  /** DNS fallback resolver and system lookup, injectable. */
  dns?: DnsOptions;
  fetch?: FetchFn;
  clock?: Clock;
  timers?: Timers;
  /** Per-request timeout for the Databricks REST API in ms (default 10000). */
  apiTimeoutMs?: number;
  /** Retry of 429/503/network failures inside one REST call (default 4 attempts, 250 ms base, 5 s cap). */
  apiRetry?: Partial<RetryPolicy>;
  logger?: LakebaseLogger;
}

/** Host, user and resource of the database, once known. */
export interface ConnectionTarget {
  host: string;
  port: number;
  database: string;
  user: string;
  instanceName: string | undefined;
  endpoint: string | undefined;
}

export const defaultLogger: LakebaseLogger = {
  warn: (message, fields) => console.warn(`[lakebase] ${message}`, fields ?? ''),
};

export class LakebaseConnector {
  readonly config: LakebaseConfig;
  readonly logger: LakebaseLogger;
  readonly clock: Clock;
  readonly timers: Timers;
  /** Undefined in static mode. */
  readonly auth: WorkspaceAuth | undefined;
  readonly api: LakebaseApi | undefined;
  readonly credentials: CredentialManager | undefined;
  /** Which host this connector's pools reach: the read-write host, the read host, or the pooled host (routes.ts). */
  readonly route: 'write' | 'read' | 'pooled' = 'write';
  private readonly options: ConnectorOptions;
  private targetPromise: Promise<ConnectionTarget> | undefined;
  private resolved: ConnectionTarget | undefined;
  private instanceName: string | undefined;

  constructor(options: ConnectorOptions = {}, managerDefaults: Partial<CredentialManagerOptions> = {}) {
    this.options = options;
    this.config = options.config ?? resolveConfig(options, options.env);
    const apiTimeoutMs =
      options.apiTimeoutMs === undefined
        ? undefined
        : parseNumber(options.apiTimeoutMs, 'option apiTimeoutMs', { min: MIN_TIMEOUT_MS, max: MAX_TIMER_DELAY_MS });
    this.logger = options.logger ?? defaultLogger;
    this.clock = options.clock ?? systemClock;
    this.timers = options.timers ?? systemTimers;
    this.instanceName = this.config.instanceName;
    if (this.config.mode === 'static') {
      this.auth = undefined;
      this.api = undefined;
      this.credentials = undefined;
      return;
    }
    const deps = {
      fetch: options.fetch,
      clock: options.clock,
      timers: options.timers,
      timeoutMs: apiTimeoutMs,
      retry: options.apiRetry,
    };
    // With an injected credential source and no workspace host, auth is not needed unless the target must be looked up.
    const needAuth = !options.credentialSource || !this.config.host || !this.config.user;
    this.auth = needAuth ? new WorkspaceAuth(this.config.workspace, deps) : undefined;
    this.api = this.auth
      ? new LakebaseApi(this.auth, { ...deps, workspaceId: this.auth.workspace.workspaceId })
      : undefined;
    const fetchCredential = options.credentialSource ?? (() => this.mintCredential());
    this.credentials = new CredentialManager({
      refreshMarginMs: this.config.tokenRefreshMarginMs,
      ...managerDefaults,
      ...options.credentialOptions,
      fetchCredential,
      clock: options.clock,
      timers: options.timers,
    });
    // One warning per kind of failure until a refresh succeeds: a workspace that keeps failing the same way (an
    // expired token every time, a hanging endpoint) is reported once, not once a request.
    let reported = new Set<string>();
    this.credentials.on('token-refresh-failed', (event: { error: LakebaseError; willRetry: boolean }) => {
      const kind = `${event.error.code}/${event.error.details.reason ?? ''}`;
      if (reported.has(kind)) return;
      reported.add(kind);
      this.log('warn', 'database token refresh failed', {
        code: event.error.code,
        reason: event.error.details.reason,
        error: event.error.message,
        willRetry: event.willRetry,
      });
    });
    this.credentials.on('token-refreshed', () => {
      reported = new Set();
    });
  }

  get mode(): LakebaseConfig['mode'] {
    return this.config.mode;
  }

  /**
   * The pg `password` option: the static password, or a function returning the current token, waiting for a new one
   * at most the connect timeout.
   */
  password(): string | (() => Promise<string>) | undefined {
    const credentials = this.credentials;
    if (!credentials) return this.config.password;
    const timeoutMs = this.config.pool.connectionTimeoutMillis;
    return () => credentials.getToken({ timeoutMs });
  }

  /**
   * What a login needs before pg opens a socket, within `timeoutMs` (the connect timeout; 0 = none): a usable token
   * (a wait on it fails with `LAKEBASE_CREDENTIAL_FAILED`, reason timeout) and then `lookup` (the target). Fetching the
   * token first keeps a hanging workspace from surfacing as pg's uncoded "Connection terminated due to connection
   * timeout" while it waits on the password inside the connect.
   * @param elapsed how much of the budget is used up already (ms), re-read before each wait.
   */
  async beforeLogin<T>(timeoutMs: number, elapsed: () => number, lookup: () => Promise<T>): Promise<T> {
    const remaining = () => (timeoutMs > 0 ? Math.max(1, timeoutMs - elapsed()) : 0);
    // A selected branch's endpoint first: a missing branch is then reported as such, not as a failed token request.
    if (this.config.branch && this.api) await this.endpoint();
    if (this.credentials && !this.credentials.hasUsableToken())
      await this.credentials.getToken({ timeoutMs: remaining() });
    const budget = remaining();
    return withDeadline(
      lookup(),
      budget,
      () =>
        new LakebaseError(
          'LAKEBASE_API_UNREACHABLE',
          `Looking up the database host and user took longer than the connect timeout (${timeoutMs} ms).`,
          {
            suggestion:
              'Check that DATABRICKS_HOST is reachable and answering, or set PGHOST and PGUSER so no lookup is needed.',
            retryable: true,
            details: { reason: 'timeout', timeoutMs },
          },
        ),
      this.timers,
    );
  }

  /**
   * Host, user and instance, resolved once (looking up the instance/endpoint and the identity when not configured).
   * A failed lookup is not cached, so the next call tries again.
   */
  target(): Promise<ConnectionTarget> {
    this.targetPromise ??= this.findTarget().then(
      (target) => {
        this.resolved = target;
        return target;
      },
      (error: unknown) => {
        this.targetPromise = undefined;
        throw error;
      },
    );
    return this.targetPromise;
  }

  /** The target once {@link target} has resolved it (host and user looked up), else undefined. */
  get resolvedTarget(): ConnectionTarget | undefined {
    return this.resolved;
  }

  /** The pg client config for this target, minus host and user when they are not known yet. */
  baseClientConfig(): pg.ClientConfig {
    const c = this.config;
    const config: pg.ClientConfig = {
      host: c.host,
      port: c.port,
      database: c.database,
      user: c.user,
      ssl: buildSslOptions(c),
      keepAlive: true,
      connectionTimeoutMillis: c.pool.connectionTimeoutMillis,
    };
    if (c.applicationName) config.application_name = c.applicationName;
    const password = this.password();
    if (password !== undefined)
      Object.defineProperty(config, 'password', { value: password, enumerable: false, writable: true });
    if (c.dnsFallback) config.stream = createStreamFactory(this.options.dns);
    return config;
  }

  /** A complete pg client config (resolves the target first). */
  async clientConfig(): Promise<pg.ClientConfig> {
    const target = await this.target();
    const config = this.baseClientConfig();
    config.host = target.host;
    config.user = target.user;
    return config;
  }

  /** Stop background refresh. Idempotent. */
  async close(): Promise<void> {
    await this.credentials?.close();
  }

  log(level: 'debug' | 'info' | 'warn', message: string, fields?: Record<string, unknown>): void {
    const safe: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(fields ?? {}))
      safe[key] = typeof value === 'string' ? redact(value) : value;
    this.logger[level]?.(redact(message), safe);
  }

  private async findTarget(): Promise<ConnectionTarget> {
    const c = this.config;
    if (c.mode === 'static') {
      return {
        host: c.host ?? 'localhost',
        port: c.port,
        database: c.database,
        // As libpq: without a user in the URL, the operating-system user name.
        user: c.user ?? userInfo().username,
        instanceName: undefined,
        endpoint: undefined,
      };
    }
    let host = c.host;
    if (c.mode === 'provisioned' && !this.instanceName) {
      // Only the credential call needs the instance name; an injected credential source does not.
      if (!this.options.credentialSource) this.instanceName = await this.findInstanceByHost(host as string);
    } else if (!host) {
      const resource: LakebaseResource =
        c.mode === 'provisioned'
          ? { tier: 'provisioned', instanceName: this.instanceName as string, database: c.database, source: 'config' }
          : { tier: 'autoscaling', endpoint: await this.endpoint(), database: c.database, source: 'config' };
      const found = await readResourceState(this.requireApi(), resource);
      host = found.host;
      if (!host) throw notReady(`No host yet for ${found.label} (state ${found.state}).`);
    }
    const user = c.user ?? (await this.identity());
    return {
      host: host as string,
      port: c.port,
      database: c.database,
      user,
      instanceName: this.instanceName,
      endpoint: c.mode === 'autoscaling' ? await this.endpoint() : c.endpoint,
    };
  }

  private endpointPromise: Promise<EndpointName> | undefined;

  /** The endpoint to use: the configured one, or with a branch selected, that branch's read-write endpoint. */
  private endpoint(): Promise<EndpointName> {
    const c = this.config;
    const configured = parseEndpointName(c.endpoint as string, c.sources.endpoint ?? 'endpoint');
    if (!c.branch) return Promise.resolve(configured);
    this.endpointPromise ??= branchReadWriteEndpoint(this.requireApi(), branchOf(configured)).catch(
      (error: unknown) => {
        this.endpointPromise = undefined;
        throw error;
      },
    );
    return this.endpointPromise;
  }

  /** The PostgreSQL role: the credential's role (the token's `sub`), else SCIM Me `userName`. */
  private async identity(): Promise<string> {
    const { role } = await (this.credentials as CredentialManager).getCredential();
    if (role) return role;
    return (await this.requireApi().me()).userName;
  }

  private async findInstanceByHost(host: string): Promise<InstanceName> {
    const instances = await this.requireApi().listInstances();
    const match = instances.find((i) => i.read_write_dns === host || i.read_only_dns === host);
    if (!match) {
      throw new LakebaseError(
        'LAKEBASE_RESOURCE_NOT_FOUND',
        `No Lakebase database instance in this workspace has host '${host}'.`,
        {
          suggestion: 'Set LAKEBASE_INSTANCE_NAME (Provisioned) or LAKEBASE_ENDPOINT (Autoscaling), or check PGHOST.',
          details: { host },
        },
      );
    }
    return fromServer(parseInstanceName, match.name, 'an instance name');
  }

  /**
   * A new credential limited by `scope` (TTL, read-only, tables), outside the cache: what `lakebase token --read-only`
   * hands to a tool. A TTL is Autoscaling's alone: on a Provisioned instance it is `LAKEBASE_CONFIG_INVALID`.
   */
  async scopedCredential(scope: CredentialScope): Promise<DatabaseCredential> {
    if (scope.ttlSeconds !== undefined && this.config.mode !== 'autoscaling') {
      throw new LakebaseError(
        'LAKEBASE_CONFIG_INVALID',
        'A token TTL can only be asked for on Autoscaling (LAKEBASE_ENDPOINT); Provisioned tokens last an hour.',
        { suggestion: 'Drop --ttl, or configure an Autoscaling endpoint.' },
      );
    }
    return this.mintCredential(scope);
  }

  private async mintCredential(scope?: CredentialScope): Promise<DatabaseCredential> {
    const api = this.requireApi();
    if (this.config.mode === 'autoscaling') return api.generateEndpointCredential(await this.endpoint(), scope);
    if (!this.instanceName) this.instanceName = await this.findInstanceByHost(this.config.host as string);
    return api.generateInstanceCredential([parseInstanceName(this.instanceName, 'instance')], scope);
  }

  private requireApi(): LakebaseApi {
    if (!this.api) {
      throw new LakebaseError(
        'LAKEBASE_AUTH_NOT_CONFIGURED',
        'Workspace auth is needed to look up the database target.',
        {
          suggestion: 'Set DATABRICKS_HOST and a credential, or set PGHOST and PGUSER explicitly.',
        },
      );
    }
    return this.api;
  }
}
