/**
 * `createLakebasePool()` returns a real `pg.Pool` (a subclass, so `instanceof pg.Pool` holds and Drizzle, Kysely,
 * `@prisma/adapter-pg` and anything else that takes a pool work unchanged) with: `password` wired to the credential
 * manager, TLS per config, `application_name`, keep-alive, `max = DB_POOL_SIZE + DB_MAX_OVERFLOW`, a jittered max
 * lifetime, a default `error` listener, one retry of a connect refused with SQLSTATE 28P01 using a freshly forced
 * token, and an idempotent `end()` that also stops the background refresh.
 */
import pg from 'pg';
import { LakebaseError } from '../errors.js';
import { clampTimerDelay, MAX_TIMER_DELAY_MS } from '../time.js';
import { ownerController, unlessAborted, withAbortSignal } from '../workspace/http.js';
import { clientClassFor, refusedPassword } from './client.js';
import { type ConnectionTarget, type ConnectorOptions, LakebaseConnector } from './connector.js';
import {
  type ConnectRetryOptions,
  type FailedAttempt,
  isServerClosedConnection,
  LOGIN_RETRY_EVENT,
  retryClock,
  withLoginRetry,
} from './login-retry.js';
import { enforceTransactionPooling, isPooledConnection, pooledOAuthRefusal } from './pooled-host.js';
import { routedConnector } from './routes.js';
import { instrumentPool, type PoolTelemetry, type TelemetryOptions } from './telemetry.js';

/** Options of {@link createLakebasePool}: Lakebase options plus any pg pool options to override. */
export interface LakebasePoolOptions extends ConnectorOptions {
  /** Extra pg pool options; they win over what the config derives (except `password`). */
  pg?: Omit<pg.PoolConfig, 'password'>;
  /** Fraction of the recycle interval used as jitter: each connection lives `interval * (1 - jitter*random)`. */
  lifetimeJitter?: number;
  /** Random source for the lifetime jitter (tests). */
  random?: () => number;
  /**
   * Backoff of the retry of transient login failures (a waking endpoint): exponential from `baseDelayMs` (100) to
   * `maxDelayMs` (2000) with jitter, until the connect timeout (`connectionTimeoutMillis`, `PGCONNECT_TIMEOUT`, 30 s).
   */
  connectRetry?: ConnectRetryOptions;
  /**
   * OpenTelemetry metrics and spans when `@opentelemetry/api` is installed (default true; false turns them off; an
   * object tunes them: `{ spans: false }`, `{ queryText: true }`, `{ poolName }`).
   */
  telemetry?: boolean | TelemetryOptions;
}

type ConnectCallback = (
  err: Error | undefined,
  client: pg.PoolClient | undefined,
  done: (release?: unknown) => void,
) => void;

/** A `pg.Pool` that knows how to get Lakebase tokens. `pool.lakebase` exposes config, credentials and target. */
export class LakebasePool extends pg.Pool {
  /** The shared pieces: config, workspace auth, REST API and credential manager. */
  declare readonly lakebase: LakebaseConnector;
  private ready: Promise<ConnectionTarget> | undefined;
  /** Host and user are resolved (`ready` fulfilled): checkouts can take the fast path. */
  private prepared = false;
  private endPromise: Promise<void> | undefined;
  /** Aborted by end(): releases pending connects and cancels the REST lookups they wait on (host, user, branch). */
  private readonly lifetime = ownerController();
  private readonly endHooks: (() => Promise<void>)[] = [];
  private authRetries = 0;
  private transientRetries = 0;
  private readonly connectRetry: ConnectRetryOptions;
  /** Pools sharing this pool's credentials (read pools): ended with it. */
  private readonly companions = new Set<pg.Pool>();
  /** Telemetry events outside statements (a no-op without OpenTelemetry). */
  declare readonly telemetry: PoolTelemetry;

  constructor(connector: LakebaseConnector, options: LakebasePoolOptions = {}) {
    const c = connector.config;
    const base = connector.baseClientConfig();
    const config: pg.PoolConfig = {
      ...base,
      max: c.pool.max,
      min: c.pool.size,
      Client: clientClassFor(connector),
      idleTimeoutMillis: c.pool.idleTimeoutMillis,
      ...options.pg,
    };
    // pg arms these as plain timers: beyond 2^31-1 ms Node would fire them after 1 ms instead.
    for (const key of ['idleTimeoutMillis', 'connectionTimeoutMillis'] as const) {
      const value = config[key];
      if (typeof value === 'number') config[key] = clampTimerDelay(value);
    }
    Object.defineProperty(config, 'password', { value: base.password, enumerable: false, writable: true });
    super(config);
    Object.defineProperty(this, 'lakebase', { value: connector, enumerable: false });
    this.connectRetry = options.connectRetry ?? {};
    // An own property, so the class keeps pg.Pool's typed `query` overloads.
    Object.defineProperty(this, 'query', {
      value: this.queryWithRetry.bind(this),
      enumerable: false,
      writable: true,
      configurable: true,
    });
    const interval = options.pg?.maxLifetimeSeconds ?? c.pool.recycleIntervalSeconds;
    if (interval > 0) {
      const jitter = Math.min(1, Math.max(0, options.lifetimeJitter ?? 0.2));
      const random = options.random ?? Math.random;
      // pg-pool reads options.maxLifetimeSeconds once per new connection: a getter gives each its own lifetime.
      Object.defineProperty(this.options, 'maxLifetimeSeconds', {
        get: () => jitteredLifetime(interval, jitter, random()),
        enumerable: true,
        configurable: true,
      });
    }
    Object.defineProperty(this, 'telemetry', {
      value: instrumentPool(
        this,
        {
          role: connector.route,
          database: () => c.database,
          server: () => {
            const target = connector.resolvedTarget;
            return target && { address: target.host, port: target.port };
          },
          authRetries: () => this.authRetries,
          transientRetries: () => this.transientRetries,
        },
        connector.credentials,
        options.telemetry,
      ),
      enumerable: false,
    });
    // An idle client's error (server restart, network drop) must never crash the process.
    this.on('error', (err: Error) => {
      this.telemetry.poolError(err);
      connector.log('warn', 'idle PostgreSQL connection failed and was removed from the pool', {
        error: err.message,
        code: (err as { code?: string }).code,
      });
    });
    // Nor may a checked-out client's. pg-pool drops its idle listener at checkout, and our promise-based connect()
    // hands a client to its caller a microtask later, so a FATAL that arrives in the same read as the previous
    // ReadyForQuery (a killed backend) would otherwise be emitted with no listener at all. The client is unusable
    // afterwards and pg-pool discards it on release, so guarding is enough.
    this.on('connect', (client: pg.PoolClient) => {
      let reported = false; // pg emits again when the socket ends: one failure, one line
      client.on('error', (err: Error) => {
        if (reported || client.listenerCount('error') > 1) return; // the pool or the current query reports it
        reported = true;
        connector.log('warn', 'checked-out PostgreSQL connection failed; it will be discarded on release', {
          error: err.message,
          code: (err as { code?: string }).code,
        });
      });
    });
  }

  /** Ends `pool` (a pool sharing these credentials) when this one ends. */
  addCompanion(pool: pg.Pool): void {
    this.companions.add(pool);
  }

  /** Connections whose login was retried once with a forced token refresh. */
  get authRetryCount(): number {
    return this.authRetries;
  }

  /** Logins retried after a transient refusal (waking endpoint, reset, timeout). */
  get transientRetryCount(): number {
    return this.transientRetries;
  }

  override connect(): Promise<pg.PoolClient>;
  override connect(callback: ConnectCallback): void;
  override connect(callback?: ConnectCallback): Promise<pg.PoolClient> | undefined {
    // Timed for db.client.connection.wait_time (the checkout() of a pool without pool metrics is the callback itself).
    if (!callback) {
      return new Promise((resolve, reject) =>
        this.connectUntimed(
          this.telemetry.checkout((error, client) => (error || !client ? reject(error) : resolve(client))),
        ),
      );
    }
    this.connectUntimed(this.telemetry.checkout(callback));
    return undefined;
  }

  private connectUntimed(callback: ConnectCallback): void {
    if (this.prepared && (this.lakebase.credentials?.hasUsableToken() ?? true)) {
      // The checkout behind every pool.query(): once host and user are known, pg-pool's own callback connect, with no
      // promise in between (a few microseconds a query under load, benchmark 1). Only a failure goes to the retry.
      // On the retry's clock, so this first attempt counts against the same connect-timeout deadline.
      const startedAt = retryClock(this.connectRetry)();
      super.connect((error, client, done) => {
        if (!error) return callback(undefined, client, done);
        this.settle(this.connectWithRetry({ error, startedAt }), callback);
      });
      return;
    }
    this.settle(this.connectWithRetry(), callback);
  }

  /** Drain the pool and stop the token refresh. Safe to call more than once. */
  override end(): Promise<void>;
  override end(callback: () => void): void;
  override end(callback?: () => void): Promise<void> | undefined {
    if (!this.lifetime.signal.aborted) this.lifetime.abort(poolEnded());
    this.endPromise ??= Promise.all([
      ...[...this.companions].map((companion) => companion.end()),
      ...this.endHooks.map((hook) => hook()),
      this.lakebase.close(),
      super.end(),
    ]).then(() => undefined);
    if (!callback) return this.endPromise;
    this.endPromise.then(callback, callback);
    return undefined;
  }

  /** Runs `hook` when the pool is ended (pools that belong to this one, such as per-user pools, close with it). */
  onEnd(hook: () => Promise<void>): void {
    this.endHooks.push(hook);
  }

  /** Hands a checkout's outcome to a pg-style callback. */
  private settle(result: Promise<pg.PoolClient>, callback: ConnectCallback): void {
    result.then(
      (client) =>
        callback(undefined, client, (release?: unknown) => client.release(release as boolean | Error | undefined)),
      (error: Error) => callback(error, undefined, () => {}),
    );
  }

  /** A checkout with the login retries; `failedFirst` is a first attempt the fast path already made. */
  private async connectWithRetry(failedFirst?: FailedAttempt): Promise<pg.PoolClient> {
    const timeoutMs = this.options.connectionTimeoutMillis ?? this.lakebase.config.pool.connectionTimeoutMillis;
    const now = retryClock(this.connectRetry);
    const startedAt = failedFirst?.startedAt ?? now();
    // A pending connect ends with the pool (LAKEBASE_CLOSED), not when its token or lookup arrives. The lookups
    // (host, user, branch) are cancelled too when this pool owns the connector; a read pool only borrows the
    // primary's, whose lookups other pools may be waiting on.
    const signal = this.lifetime.signal;
    const before = () =>
      this.lakebase.beforeLogin(
        timeoutMs,
        () => now() - startedAt,
        () => this.prepare(),
      );
    await unlessAborted(
      this.lakebase.route === 'read' ? before() : withAbortSignal(signal, before),
      signal,
      () => signal.reason as LakebaseError,
    );
    return this.loginWithRetry(timeoutMs, failedFirst).catch((error: unknown) => {
      // A pooler that takes no OAuth tokens: the coded error with the fix (a native password role).
      throw (isPooledConnection(this) && pooledOAuthRefusal(error)) || error;
    });
  }

  private loginWithRetry(timeoutMs: number, failedFirst: FailedAttempt | undefined): Promise<pg.PoolClient> {
    return withLoginRetry(() => super.connect(), {
      timeoutMs,
      options: this.connectRetry,
      failedFirst,
      stopped: () => this.ending,
      onTokenRefused: async (error) => {
        const credentials = this.lakebase.credentials;
        if (!credentials) return false;
        this.authRetries++;
        this.lakebase.log('warn', 'login refused (28P01); retrying once with a fresh token', {
          message: (error as Error).message,
        });
        await credentials.forceRefresh(refusedPassword(error), { timeoutMs });
        return true;
      },
      onTransient: (error, attempt, delayMs) => {
        this.transientRetries++;
        this.lakebase.log('info', 'login failed transiently (waking endpoint?); retrying', {
          event: LOGIN_RETRY_EVENT,
          error: (error as Error).message,
          code: (error as { code?: string }).code,
          attempt,
          delayMs,
        });
      },
    });
  }

  /**
   * pg's `query`, plus one retry on a fresh connection when the pooled connection turned out to be closed by the
   * server (terminated backend, idle or lifetime limit) before the statement could run, so the caller sees no error.
   */
  // biome-ignore lint/suspicious/noExplicitAny: pg's query has many overloads; this forwards them unchanged.
  private queryWithRetry(...args: any[]): any {
    // biome-ignore lint/suspicious/noExplicitAny: forwarded as given
    const query = pg.Pool.prototype.query as (...forwarded: any[]) => any;
    const callback =
      typeof args.at(-1) === 'function' ? (args.pop() as (err: unknown, res?: unknown) => void) : undefined;
    const [text, values] = args as [unknown, unknown];
    const submittable =
      text !== null && typeof text === 'object' && typeof (text as { submit?: unknown }).submit === 'function';
    if (submittable || typeof text === 'function') return query.apply(this, callback ? [...args, callback] : args);
    // pg's callback form all the way down: no promise per query unless the caller asked for one.
    type Done = (error: unknown, result?: pg.QueryResult) => void;
    const run = (done: Done) => query.call(this, text, values, done);
    const runWithRetry = (done: Done) =>
      run((error, result) => {
        if (!error || !isServerClosedConnection(error) || this.ending) return done(error, result);
        this.lakebase.log('info', 'pooled connection was closed by the server; running the query on a fresh one', {
          code: (error as { code?: string }).code,
        });
        run(done);
      });
    if (callback) {
      runWithRetry(callback);
      return undefined;
    }
    return new Promise((resolve, reject) => runWithRetry((error, result) => (error ? reject(error) : resolve(result))));
  }

  /** Resolve host and user once, before the first connection; a failure is retried on the next connect. */
  private prepare(): Promise<ConnectionTarget> {
    this.ready ??= this.lakebase.target().then(
      async (target) => {
        // New clients take host and user from the connector's resolved target (clientClassFor): nothing is written
        // into pg-pool's options.
        await this.warnOnIdentityMismatch(target.user);
        this.prepared = true;
        return target;
      },
      (error: unknown) => {
        this.ready = undefined;
        throw error;
      },
    );
    return this.ready;
  }

  /** A configured user that is not the token's identity cannot log in: say so once, naming both. */
  private async warnOnIdentityMismatch(user: string): Promise<void> {
    const credentials = this.lakebase.credentials;
    const source = this.lakebase.config.sources.user;
    if (!credentials || !source) return;
    const credential = await credentials.getCredential().catch(() => undefined); // a failure surfaces at login
    const sub = credential?.role;
    if (sub && sub !== user) {
      this.lakebase.log(
        'warn',
        `${source}=${user} is not the identity the database token is for (${sub}); logins will fail`,
        {
          fix: `unset ${source} (or set it to ${sub})`,
        },
      );
    }
  }
}

/** pg-pool's own wording (callers may match it), with a code. */
function poolEnded(): LakebaseError {
  return new LakebaseError('LAKEBASE_CLOSED', 'Cannot use a pool after calling end on the pool.', {
    suggestion: 'Create a new pool; an ended pool cannot connect.',
  });
}

/**
 * A lifetime in `[interval * (1 - jitter), interval]` seconds, never below one second nor above what a timer can
 * honour (pg-pool arms `maxLifetimeSeconds * 1000` as a timer).
 */
export function jitteredLifetime(intervalSeconds: number, jitter: number, random: number): number {
  return Math.min(Math.floor(MAX_TIMER_DELAY_MS / 1000), Math.max(1, intervalSeconds * (1 - jitter * random)));
}

/**
 * Create a `pg.Pool` for Lakebase (or a static URL). Synchronous: configuration and auth errors throw here; the
 * first token and the host/user lookup happen on the first `connect()`/`query()`.
 * @throws LakebaseError `LAKEBASE_NOT_CONFIGURED`, `LAKEBASE_CONFIG_INVALID`, `LAKEBASE_AUTH_*`.
 */
export function createLakebasePool(options: LakebasePoolOptions = {}): LakebasePool {
  const connector = new LakebaseConnector(options);
  const pool = new LakebasePool(
    connector.config.readScaling.pooled ? routedConnector(connector, 'pooled') : connector,
    options,
  );
  if (connector.config.readScaling.pooled) enforceTransactionPooling(pool);
  return pool;
}
