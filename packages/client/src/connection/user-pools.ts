/**
 * Per-user pools: connections made on behalf of a signed-in user, with the user's own PostgreSQL role, so grants and
 * row-level security decide what each user sees. In Databricks Apps with `user_api_scopes: [postgres]`, the proxy
 * forwards the user's OAuth token in `X-Forwarded-Access-Token`; that token mints a database credential for the user.
 *
 * Bounded: at most `maxUsers` pools (least recently used first out, only when idle), `maxConnectionsPerUser` each, so
 * never more than their product of open connections; a pool unused for `idleSeconds` is closed. The identity of a
 * pool comes from the credential the workspace minted for the token, never from a header or an unverified claim of
 * the user's token, and a token is remembered only by its SHA-256: one user's token can never serve another user.
 *
 * A token stops working when it expires (its `exp`, checked on every acquire without a network call) or when the
 * workspace stops accepting it: a known token is checked again (a credential minted with it) once it was last
 * accepted `userTokenRecheckSeconds` ago, so a revoked token is refused within that bound. A refused token is
 * forgotten, and the user's idle pool is closed if that token was the one it minted with.
 */
import { type PerUserOptions, type PerUserSettings, resolvePerUserSettings } from '../config/per-user.js';
import { isLakebaseError, LakebaseError, registerSecret } from '../errors.js';
import type { Clock } from '../time.js';
import { type DatabaseCredential, jwtClaims } from '../workspace/api.js';
import type { FetchFn } from '../workspace/http.js';
import { type ConnectionTarget, LakebaseConnector } from './connector.js';
import { LakebasePool } from './pool.js';
import { mintUserCredential, userApi } from './user-credentials.js';
import {
  fresh,
  loginError,
  noUserToken,
  scopeError,
  userPoolsClosed,
  userPoolsFull,
  userTokenError,
} from './user-pool-errors.js';
import { type KnownToken, KnownTokens } from './user-tokens.js';

/** Options of {@link createUserPools}: the per-user settings, plus test seams. */
export interface UserPoolsOptions extends PerUserOptions {
  /** Environment to read the settings from (default `process.env`). */
  env?: Record<string, string | undefined>;
  /** Replace the credential call made with a user's token (tests). */
  mintCredential?: (userToken: string) => Promise<DatabaseCredential>;
  /** The `fetch` of the credential calls made with users' tokens (default: the main pool's REST settings' fetch). */
  fetch?: FetchFn;
  /** The clock user tokens' `exp` and re-checks are read on (default: the main pool's; tests inject one). */
  clock?: Clock;
}

/** Counters of the per-user pools, for `/api/health`, logs and tests. */
export interface UserPoolsStats {
  /** Users whose pools are open. */
  users: number;
  /** Open connections over all user pools (including pools being closed). */
  connections: number;
  /** The highest `connections` seen. */
  peakConnections: number;
  /** The bound: `maxUsers * maxConnectionsPerUser`. */
  maxConnections: number;
  /** Database credentials minted with user tokens. */
  credentialRequests: number;
  poolsOpened: number;
  poolsClosed: number;
}

/** A user's pool, held for one unit of work (a request); `release()` once done so the pool may be closed. */
export interface UserLease {
  /** The PostgreSQL role the pool connects as (the user's email, or a service principal's id). */
  readonly identity: string;
  readonly pool: LakebasePool;
  release(): void;
}

const SWEEP_MIN_MS = 1000;

class UserEntry {
  leases = 0;
  lastUsed = 0;
  /** A credential minted to learn the identity, handed to the pool's first refresh instead of minting again. */
  seed: DatabaseCredential | undefined;
  pool!: LakebasePool;
  /** Resolves once the first login succeeded (or rejects with the coded reason it cannot). */
  ready!: Promise<void>;
  /** The newest token seen for this identity: later credentials are minted with it. Non-enumerable. */
  declare token: string;

  constructor(
    readonly identity: string,
    token: string,
  ) {
    Object.defineProperty(this, 'token', { value: token, enumerable: false, writable: true });
  }
}

/** `entry` serves another token of its user: the newest token mints the next credentials. */
function adopt(entry: UserEntry, userToken: string, credential: DatabaseCredential): UserEntry {
  entry.token = userToken;
  entry.seed ??= credential;
  return entry;
}

/** See the module comment. Make one with {@link createUserPools}. */
export class UserPools {
  readonly settings: PerUserSettings;
  private readonly entries = new Map<string, UserEntry>();
  private readonly known: KnownTokens;
  private readonly resolving = new Map<string, Promise<UserEntry>>();
  /** Identity -> its pool being opened (waiting for a slot): every token of that user joins it. */
  private readonly opening = new Map<string, Promise<UserEntry>>();
  private readonly closing = new Set<LakebasePool>();
  private reserved = 0;
  private waiters: (() => void)[] = [];
  private sweeper: NodeJS.Timeout | undefined;
  private closed = false;
  private counters = { credentialRequests: 0, poolsOpened: 0, poolsClosed: 0, peakConnections: 0 };

  constructor(
    private readonly main: LakebasePool,
    private readonly options: UserPoolsOptions = {},
  ) {
    this.settings = resolvePerUserSettings(options, options.env);
    const clock = options.clock ?? main.lakebase.clock;
    this.known = new KnownTokens(this.settings.maxUsers, clock, this.settings.userTokenRecheckSeconds * 1000);
  }

  /**
   * The pool of the user whose OAuth token this is, leased until `release()`. The first call for a token mints a
   * credential with it (which names the user) and, for a new user, opens the pool and logs in once.
   * @throws LakebaseError `LAKEBASE_AUTH_FAILED` (no token; an expired, revoked or bad one: `details.reason`
   *   `user_token_expired` or `user_token_rejected`), `LAKEBASE_PERMISSION_DENIED` (the token lacks the
   *   `postgres` scope), `LAKEBASE_ROLE_NOT_FOUND` (the user has no PostgreSQL role), `LAKEBASE_CONNECT_FAILED`
   *   (every pool busy for `waitMs`), `LAKEBASE_CLOSED`.
   */
  async acquire(userToken: string): Promise<UserLease> {
    if (typeof userToken !== 'string' || userToken.trim() === '') throw noUserToken();
    registerSecret(userToken);
    this.ensureOpen();
    const hash = KnownTokens.hash(userToken);
    this.known.refuseExpired(hash, userToken);
    let entry = this.entryFor(hash);
    if (!entry) {
      let pending = this.resolving.get(hash);
      if (!pending) {
        pending = this.resolve(hash, userToken).finally(() => this.resolving.delete(hash));
        this.resolving.set(hash, pending);
      }
      entry = await pending;
    }
    this.ensureOpen();
    if (this.entries.get(entry.identity) !== entry) return this.acquire(userToken); // closed meanwhile: reopen
    // Leased before the first login finishes, so the pool cannot be taken as idle and closed under us.
    const lease = this.lease(entry);
    try {
      await entry.ready;
    } catch (error) {
      lease.release();
      throw error;
    }
    return lease;
  }

  /** Runs `fn` with the user's pool, released afterwards. */
  async withUser<T>(userToken: string, fn: (pool: LakebasePool, identity: string) => Promise<T>): Promise<T> {
    const lease = await this.acquire(userToken);
    try {
      return await fn(lease.pool, lease.identity);
    } finally {
      lease.release();
    }
  }

  stats(): UserPoolsStats {
    return {
      users: this.entries.size,
      connections: this.connections(),
      peakConnections: this.counters.peakConnections,
      maxConnections: this.settings.maxUsers * this.settings.maxConnectionsPerUser,
      credentialRequests: this.counters.credentialRequests,
      poolsOpened: this.counters.poolsOpened,
      poolsClosed: this.counters.poolsClosed,
    };
  }

  /** Closes every user pool; later `acquire` calls fail with `LAKEBASE_CLOSED`. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweeper);
    this.notify();
    await Promise.all([...this.entries.values()].map((entry) => this.closeEntry(entry)));
    await Promise.all([...this.closing].map((pool) => pool.end()));
  }

  private ensureOpen(): void {
    if (this.closed || this.main.ending) throw userPoolsClosed();
  }

  /** The pool of a token the workspace accepted less than `userTokenRecheckSeconds` ago. */
  private entryFor(hash: string): UserEntry | undefined {
    const known = this.known.trusted(hash);
    return known === undefined ? undefined : this.entries.get(known.identity);
  }

  private lease(entry: UserEntry): UserLease {
    entry.leases++;
    entry.lastUsed = Date.now();
    // Most recently used last: eviction takes the first idle one.
    this.entries.delete(entry.identity);
    this.entries.set(entry.identity, entry);
    let released = false;
    return {
      identity: entry.identity,
      pool: entry.pool,
      release: () => {
        if (released) return;
        released = true;
        entry.leases--;
        entry.lastUsed = Date.now();
        this.notePeak();
        this.notify();
      },
    };
  }

  /** Mints with the token to learn whose it is, then finds or opens that user's pool. */
  private async resolve(hash: string, userToken: string): Promise<UserEntry> {
    let known = this.known.reusable(hash);
    if (known) this.known.remember(hash, known);
    else {
      let credential: DatabaseCredential;
      try {
        credential = await this.mint(userToken);
      } catch (error) {
        if (isLakebaseError(error, 'LAKEBASE_AUTH_FAILED')) await this.refused(hash, this.known.get(hash), userToken);
        throw error;
      }
      const identity =
        jwtClaims(credential.token).sub ?? (await userApi(this.main, userToken, this.options.fetch).me()).userName;
      known = this.known.accepted(hash, userToken, identity, credential);
    }
    const { identity, credential } = known;
    const existing = this.entries.get(identity);
    if (existing) return adopt(existing, userToken, credential);
    // One pool per user: another token of this user already waiting for a slot opens it, and this one joins it
    // (two openers would leave one pool unended and uncounted).
    const opening = this.opening.get(identity);
    if (opening) return adopt(await opening, userToken, credential);
    const pending = this.openWhenFree(identity, userToken, credential).finally(() => this.opening.delete(identity));
    this.opening.set(identity, pending);
    return pending;
  }

  /**
   * The workspace refused `userToken`: forget it, and close its user's pool if idle and minting with that token
   * (a user whose only token was revoked keeps no session open).
   */
  private async refused(hash: string, known: KnownToken | undefined, userToken: string): Promise<void> {
    this.known.forget(hash);
    const entry = known && this.entries.get(known.identity);
    if (entry && entry.token === userToken && entry.leases === 0) await this.closeEntry(entry);
  }

  /** Waits for a slot, then opens the pool of `identity`. */
  private async openWhenFree(identity: string, userToken: string, credential: DatabaseCredential): Promise<UserEntry> {
    // Host and instance come from the app's own pool, looked up once for all users.
    const target = await this.main.lakebase.target();
    await this.reserveSlot();
    try {
      this.ensureOpen();
      return this.open(identity, userToken, credential, target);
    } finally {
      this.reserved--;
    }
  }

  private open(
    identity: string,
    userToken: string,
    credential: DatabaseCredential,
    target: ConnectionTarget,
  ): UserEntry {
    const entry = new UserEntry(identity, userToken);
    entry.seed = credential;
    const base = this.main.lakebase.config;
    const connector = new LakebaseConnector({
      config: {
        ...base,
        host: target.host,
        user: identity,
        instanceName: target.instanceName ?? base.instanceName,
        pool: { ...base.pool, size: 0, max: this.settings.maxConnectionsPerUser },
      },
      logger: this.main.lakebase.logger,
      credentialSource: () => this.credentialFor(entry),
    });
    const telemetry = this.main.telemetry.settings;
    entry.pool = new LakebasePool(connector, {
      pg: { max: this.settings.maxConnectionsPerUser, min: 0, idleTimeoutMillis: this.settings.idleSeconds * 1000 },
      // The main pool's telemetry settings; one pool name for all per-user pools (no identity in a metric).
      telemetry: telemetry !== false && { ...(telemetry === true ? {} : telemetry), poolName: 'per-user' },
    });
    entry.pool.on('connect', () => this.notePeak());
    entry.lastUsed = Date.now();
    this.entries.set(identity, entry);
    this.counters.poolsOpened++;
    this.startSweeper();
    // One login now, so a user without a role gets the coded error here rather than from a query.
    entry.ready = entry.pool.connect().then(
      (client) => client.release(),
      async (error: unknown) => {
        await this.closeEntry(entry);
        throw loginError(error, identity);
      },
    );
    entry.ready.catch(() => {}); // awaited by acquire; a concurrent caller may not be there
    return entry;
  }

  /** The pool's credential source: the seed first, then a credential minted with the user's newest token. */
  private async credentialFor(entry: UserEntry): Promise<DatabaseCredential> {
    const seed = entry.seed;
    entry.seed = undefined;
    if (seed && fresh(seed)) return seed;
    const credential = await this.mint(entry.token);
    const sub = jwtClaims(credential.token).sub;
    if (sub !== undefined && sub !== entry.identity) {
      // Never: a token is only ever stored on its own identity's entry. If it happens, the pool must go.
      void this.closeEntry(entry);
      throw new LakebaseError(
        'LAKEBASE_IDENTITY_MISMATCH',
        `A credential for "${sub}" was minted for the pool of "${entry.identity}"; the pool was closed.`,
        { suggestion: 'Report this: per-user pools must never mix identities.' },
      );
    }
    return credential;
  }

  private async mint(userToken: string): Promise<DatabaseCredential> {
    this.counters.credentialRequests++;
    try {
      if (this.options.mintCredential) return await this.options.mintCredential(userToken);
      return await mintUserCredential(this.main, userToken, this.options.fetch);
    } catch (error) {
      throw userTokenError(scopeError(error));
    }
  }

  /** Waits until a pool may be opened without passing `maxUsers`, closing the least recently used idle pool. */
  private async reserveSlot(): Promise<void> {
    const deadline = Date.now() + this.settings.waitMs;
    for (;;) {
      this.ensureOpen();
      if (this.entries.size + this.closing.size + this.reserved < this.settings.maxUsers) {
        this.reserved++;
        return;
      }
      const idle = [...this.entries.values()].find((e) => e.leases === 0);
      if (idle) {
        await this.closeEntry(idle);
        continue;
      }
      const left = deadline - Date.now();
      if (left <= 0) throw userPoolsFull(this.settings.maxUsers, this.settings.waitMs);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, left);
        function done() {
          clearTimeout(timer);
          resolve();
        }
        this.waiters.push(done);
      });
    }
  }

  private async closeEntry(entry: UserEntry): Promise<void> {
    if (this.entries.get(entry.identity) === entry) this.entries.delete(entry.identity);
    if (!entry.pool || this.closing.has(entry.pool)) return;
    this.closing.add(entry.pool);
    try {
      await entry.pool.end();
    } finally {
      this.closing.delete(entry.pool);
      this.counters.poolsClosed++;
      this.notify();
    }
  }

  private notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  private connections(): number {
    let n = 0;
    for (const entry of this.entries.values()) n += entry.pool.totalCount;
    for (const pool of this.closing) n += pool.totalCount;
    return n;
  }

  private notePeak(): void {
    this.counters.peakConnections = Math.max(this.counters.peakConnections, this.connections());
  }

  /** Closes pools unused for `idleSeconds`, checking at most every second. */
  private startSweeper(): void {
    if (this.sweeper) return;
    const idleMs = this.settings.idleSeconds * 1000;
    this.sweeper = setInterval(
      () => {
        const now = Date.now();
        for (const entry of [...this.entries.values()]) {
          if (entry.leases === 0 && now - entry.lastUsed >= idleMs) void this.closeEntry(entry);
        }
      },
      Math.max(SWEEP_MIN_MS, Math.floor(idleMs / 2)),
    );
    this.sweeper.unref();
  }
}

/**
 * Per-user pools that share `main`'s target (host, database, instance or endpoint) and end with it: `main.end()`
 * closes them all.
 */
export function createUserPools(main: LakebasePool, options: UserPoolsOptions = {}): UserPools {
  const pools = new UserPools(main, options);
  main.onEnd(() => pools.close());
  return pools;
}
