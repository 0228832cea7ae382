import { createHmac } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { quoteIdent, quoteLiteral, settlesWithin } from '@lakebase-kit/client/toolkit';
import pg from 'pg';
import type { CreatedDatabaseLookup } from '../contracts.js';
import type { CreatedDatabaseName } from '../database-names.js';
import { EmulatorError } from '../errors.js';
import { catalogStatement, createRoleIfMissing, ignoreCode } from './catalog-race.js';
import { commentOf, DatabaseMarks, isDatabaseMark } from './database-marks.js';
import { makeApiRole, roleVerifier } from './role-api.js';
import { installRoleFunctions } from './role-functions.js';
import { ScopedRoles } from './role-scoped.js';
import {
  adoptRole,
  assertAssignableRole,
  ensureSuperuserRole,
  grantSuperuser,
  grantSuperuserMembership,
  markRole,
} from './role-trust.js';
import { spliceSession } from './session-splice.js';
import {
  type Logger,
  roleGrantsSql,
  type SessionRequest,
  type SessionStorage,
  StorageError,
  type StorageSession,
  silentLogger,
} from './storage.js';
import { copyByTemplate, dropByForce } from './upstream-branches.js';
import { connectUpstream, sendUpstreamCancel, type UpstreamTarget } from './upstream-connect.js';
import { parseUpstreamUrl } from './upstream-url.js';

/** How long closing waits for the admin pools' queries before the server under them is stopped anyway. */
const POOL_END_MS = 5_000;

/** Where a session runs when it is not this storage's own server (see {@link UpstreamStorage.openSession}). */
export interface SessionRoute {
  target: UpstreamTarget;
  /** Resolves once the target has what the session needs (its role and database, replicated). */
  ready(): Promise<void>;
}

/** Options of {@link createUpstreamStorage}. */
export interface UpstreamStorageOptions {
  /**
   * Admin connection URL of a real PostgreSQL, e.g. `postgresql://postgres@127.0.0.1:5432/test`. The user must be
   * able to create roles and databases. `sslmode=require|verify-ca|verify-full` turns on TLS to the upstream.
   */
  url: string;
  /** The Lakebase database name that maps to the URL's database (others map to same-named databases). */
  defaultDatabase?: string;
  logger?: Logger;
  connectTimeoutMs?: number;
  /**
   * The server is the emulator's own (embedded): a branch copy may end every connection to its parent database.
   * Otherwise only this emulator's sessions are ended, and other users' connections are waited for (bounded).
   */
  ownsServer?: boolean;
}

/**
 * Storage on a real PostgreSQL. Each session gets its own upstream backend, logged in as the session's role itself
 * (so `session_user`, `current_user`, ownership and permissions are exactly as the role's, and a client cannot
 * `RESET SESSION AUTHORIZATION` its way to the admin). Roles are created on first login with a password derived from
 * the admin URL, so this works under trust, md5 and scram-sha-256 `pg_hba` rules alike. After the handshake the
 * bytes are spliced both ways without parsing.
 */
export function createUpstreamStorage(options: UpstreamStorageOptions): SessionStorage {
  return new UpstreamStorage(options);
}

/** See {@link createUpstreamStorage}. */
export class UpstreamStorage implements SessionStorage {
  readonly description: string;
  private readonly target: UpstreamTarget;
  private readonly admin: { user: string; password: string | undefined; database: string };
  private readonly defaultDatabase: string;
  private readonly logger: Logger;
  private readonly pools = new Map<string, pg.Pool>();
  private readonly roles = new Map<string, Promise<void>>();
  private readonly databases = new Map<string, Promise<void>>();
  private readonly grants = new Map<string, Promise<void>>();
  private readonly functions = new Map<string, Promise<void>>();
  private readonly superusers = new Map<string, Promise<void>>();
  private readonly sessions = new Map<
    number,
    { close(): void; secretKey: number; database: string; target: UpstreamTarget }
  >();
  private readonly passwordKey: string;
  private closing = false;
  private readonly ownsServer: boolean;
  /** Derived roles of table-scoped tokens. */
  private readonly scoped = new ScopedRoles();
  /** Which branch each database made with CREATE DATABASE belongs to. */
  private readonly marks: DatabaseMarks;

  constructor(options: UpstreamStorageOptions) {
    this.ownsServer = options.ownsServer ?? false;
    const url = parseUpstreamUrl(options.url);
    const user = decodeURIComponent(url.username) || 'postgres';
    const sslmode = url.searchParams.get('sslmode') ?? 'disable';
    // libpq's `?host=/dir` names a Unix socket directory (the embedded storage's private one).
    const socketDir = url.searchParams.get('host');
    const host = socketDir?.startsWith('/') ? socketDir : url.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1';
    this.target = {
      host,
      port: Number(url.port || 5432),
      ssl: ['require', 'verify-ca', 'verify-full'].includes(sslmode)
        ? { rejectUnauthorized: sslmode !== 'require', servername: host }
        : false,
      connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
    };
    this.admin = {
      user,
      password: url.password ? decodeURIComponent(url.password) : undefined,
      database: decodeURIComponent(url.pathname.slice(1)) || user,
    };
    this.defaultDatabase = options.defaultDatabase ?? 'databricks_postgres';
    this.logger = options.logger ?? silentLogger;
    // Stable across restarts and processes sharing the upstream, secret as long as the admin URL is.
    this.passwordKey = `lakebase-kit-emulator\0${options.url}`;
    const shown = new URL(options.url);
    shown.password = '';
    this.description = shown.toString();
    const admin = () => this.pool(this.admin.database);
    this.marks = new DatabaseMarks(admin, this.admin.database, () => this.adminConfig(), this.logger);
  }

  async prepare(database: string): Promise<void> {
    try {
      await this.ensureDatabase(this.upstreamDatabase(database));
      await this.pool(this.upstreamDatabase(database)).query('select 1');
      await this.marks.baseline();
    } catch (err) {
      throw new EmulatorError(
        'EMULATOR_UPSTREAM_UNREACHABLE',
        `The upstream PostgreSQL (${this.description}) could not be used for database "${database}": ${(err as Error).message}`,
        'Check that the server in --upstream is running and that the URL names a superuser (e.g. postgresql://postgres@127.0.0.1:5432/test).',
        { cause: err },
      );
    }
  }

  createdDatabase(name: CreatedDatabaseName, branchKey: string | undefined): Promise<CreatedDatabaseLookup> {
    return this.marks.lookup(name, branchKey);
  }

  dropCreatedDatabases(branchKey: string): Promise<void> {
    return this.marks.dropMarked(branchKey);
  }

  private upstreamDatabase(database: string): string {
    return database === this.defaultDatabase ? this.admin.database : database;
  }

  private rolePassword(role: string): string | undefined {
    if (role === this.admin.user) return this.admin.password;
    return createHmac('sha256', this.passwordKey).update(role).digest('base64url');
  }

  private pool(database: string): pg.Pool {
    let pool = this.pools.get(database);
    if (!pool) {
      pool = new pg.Pool({
        host: this.target.host,
        port: this.target.port,
        user: this.admin.user,
        password: this.admin.password,
        database,
        ssl: this.target.ssl || undefined,
        max: 2,
        idleTimeoutMillis: 10_000,
        allowExitOnIdle: true,
      });
      pool.on('error', (err) => this.logger.warn('upstream admin connection error', { error: err.message }));
      this.pools.set(database, pool);
    }
    return pool;
  }

  /** Caches one successful run of `fn` per key; a failure is retried by the next caller. */
  private once(cache: Map<string, Promise<void>>, key: string, fn: () => Promise<void>): Promise<void> {
    let done = cache.get(key);
    if (!done) {
      done = fn();
      done.catch(() => cache.delete(key));
      cache.set(key, done);
    }
    return done;
  }

  private ensureDatabase(database: string): Promise<void> {
    if (database === this.admin.database) return Promise.resolve();
    return this.once(this.databases, database, async () => {
      const pool = this.pool(this.admin.database);
      const comment = await commentOf(pool, database);
      // A client's CREATE DATABASE of a configured name (or a branch copy's) before its first use must not become it.
      if (isDatabaseMark(comment)) {
        throw new StorageError('42P04', `database "${database}" was made by a client with CREATE DATABASE: drop it`);
      }
      if (comment !== undefined) return;
      await ignoreCode(pool.query(`CREATE DATABASE ${quoteIdent(database)}`), '42P04', '23505'); // lost a race: fine
      this.logger.info('upstream database created', { database });
    });
  }

  private ensureRole(role: string): Promise<void> {
    if (role === this.admin.user) return Promise.resolve();
    return this.once(this.roles, role, async () => {
      assertAssignableRole(role);
      const pool = this.pool(this.admin.database);
      await this.ensureSuperuserRole();
      const password = quoteLiteral(this.rolePassword(role) ?? '');
      const created = await createRoleIfMissing(pool, `CREATE ROLE ${quoteIdent(role)} LOGIN PASSWORD ${password}`);
      // An existing role (earlier run, or made by hand) gets the derived password so the relay can log in as it.
      if (!created) await catalogStatement(pool, `ALTER ROLE ${quoteIdent(role)} WITH LOGIN PASSWORD ${password}`);
      else this.logger.info('upstream role created', { role });
      // A role someone else made keeps no member and no membership they granted (see role-trust.ts).
      await (created ? markRole(pool, role) : adoptRole(pool, role, this.logger));
    });
  }

  private ensureGrants(role: string, database: string): Promise<void> {
    if (role === this.admin.user) return Promise.resolve();
    return this.once(this.grants, `${role}\0${database}`, async () => {
      await catalogStatement(this.pool(database), roleGrantsSql(role, database));
    });
  }

  /** Makes `role` exist with a Lakebase app role's grants on `database` (what a first login does). */
  async provision(role: string, database: string): Promise<void> {
    const upstream = this.upstreamDatabase(database);
    await this.ensureDatabase(upstream);
    await this.ensureRole(role);
    await this.ensureGrants(role, upstream);
    await this.once(this.functions, upstream, () => installRoleFunctions(this.pool(upstream)));
  }

  /**
   * A role made through the roles API: a login role is provisioned; a group or NO_LOGIN role is a NOLOGIN role. With
   * `adminRole`, a native password role: LOGIN with no password until that role (the owner) sets one with `ALTER ROLE
   * ... PASSWORD`, for which it gets ADMIN OPTION on it, as a CREATEROLE creator does in PostgreSQL 16+.
   */
  async createRole(role: string, database: string, login: boolean, adminRole?: string): Promise<void> {
    if (login && !adminRole) return this.provision(role, database);
    await this.ensureSuperuserRole();
    const admin = adminRole === this.admin.user ? undefined : adminRole;
    await makeApiRole(this.pool(this.admin.database), role, login, admin, this.logger);
  }

  roleVerifier(role: string): Promise<string | undefined> {
    return roleVerifier(this.pool(this.admin.database), role);
  }

  /** Lakebase's `databricks_superuser` (NOLOGIN), made once per process; the owner's membership comes from below. */
  private ensureSuperuserRole(): Promise<void> {
    return this.once(this.superusers, '', () => ensureSuperuserRole(this.pool(this.admin.database)));
  }

  /** Provisions `role` and makes it a member of `databricks_superuser`, as Lakebase does for the owner. */
  async addSuperuser(role: string, database: string): Promise<void> {
    await this.provision(role, database);
    if (role === this.admin.user) return;
    await this.once(this.superusers, role, () => grantSuperuser(this.pool(this.admin.database), role));
  }

  /** Makes an existing role a member of `databricks_superuser` (the roles API's `membership_roles`). */
  async addSuperuserMember(role: string): Promise<void> {
    await this.ensureSuperuserRole();
    await grantSuperuserMembership(this.pool(this.admin.database), role);
  }

  async roleExists(role: string): Promise<boolean> {
    const found = await this.pool(this.admin.database).query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
    return (found.rowCount ?? 0) > 0;
  }

  /**
   * Opens a session. Roles, grants and databases are made on this storage's server; `route` sends the session itself
   * to another server that replicates it (the embedded storage's hot standby, for read-only hosts), after
   * `route.ready()`. A read-only session without a route is refused: one read-write server cannot make a session
   * read-only by PostgreSQL's own mechanism (see the README).
   */
  async openSession(request: SessionRequest, client: Duplex, route?: SessionRoute): Promise<StorageSession> {
    if (this.closing) throw new StorageError('57P01', 'terminating connection due to administrator command');
    if (request.readOnly && !route) {
      throw new StorageError(
        '0A000',
        'read-only endpoints are not modelled with --upstream storage; use the default (embedded PostgreSQL) storage',
      );
    }
    // A database a client made is used as it is: never created, no grants or functions added to it.
    const database = request.created ? request.database : this.upstreamDatabase(request.database);
    let role = request.role;
    try {
      // A native password role is the owner's to manage: only its database is made; its password is its own.
      if (request.created) {
        if (request.password === undefined) await this.ensureRole(request.role);
      } else if (request.password !== undefined) await this.ensureDatabase(database);
      else await this.provision(request.role, request.database);
      if (request.tables) role = await this.scopedRole(request.role, database, request.tables, request.created);
    } catch (err) {
      const code = (err as { code?: string }).code;
      this.logger.error('upstream provisioning failed', { role: request.role, database, error: String(err) });
      if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) {
        throw new StorageError(code, (err as Error).message, { cause: err });
      }
      throw new StorageError('57P03', 'the storage database is not available', { cause: err });
    }

    const params: Record<string, string> = {};
    for (const [k, v] of Object.entries(request.params)) if (!k.startsWith('_pq_.')) params[k] = v;
    params.user = role;
    params.database = database;
    const target = route?.target ?? this.target;
    await route?.ready();
    const upstream = await connectUpstream(target, params, request.password ?? this.rolePassword(role));
    if (client.destroyed || this.closing) {
      // The client gave up (or we are shutting down) while the upstream backend was starting: do not leak it.
      upstream.socket.destroy();
      throw new StorageError('57P01', 'terminating connection due to administrator command');
    }
    client.write(upstream.startup);
    if (request.pending && request.pending.length > 0) upstream.socket.write(request.pending);
    const close = spliceSession(client, upstream.socket, {
      onCreateDatabase: () => this.marks.report(request.branchKey),
      onClose: () => this.sessions.delete(upstream.processId),
    });
    this.sessions.set(upstream.processId, { close, secretKey: upstream.secretKey, database, target });
    return { processId: upstream.processId, close };
  }

  /** A table-scoped token's role; on a client's database a one-off admin pool (a kept one would block its DROP). */
  private async scopedRole(role: string, database: string, tables: string[], created = false): Promise<string> {
    const admin = created ? new pg.Pool({ ...this.adminConfig(), database, max: 1 }) : this.pool(database);
    try {
      return await this.scoped.ensure(admin, role, database, tables, (r) => this.rolePassword(r) ?? '');
    } finally {
      if (created) await admin.end().catch(() => {});
    }
  }

  async copyDatabase(source: string, target: string): Promise<void> {
    const from = this.upstreamDatabase(source);
    const to = this.upstreamDatabase(target);
    await this.ensureDatabase(from);
    await this.releaseDatabase(from);
    const ownPids = () => [...this.sessions].filter(([, s]) => s.database === from).map(([pid]) => pid);
    await copyByTemplate(from, to, { admin: this.adminConfig(), terminateAll: this.ownsServer, ownPids });
    this.logger.info('upstream branch database copied', { from, to });
  }

  async dropDatabase(name: string): Promise<void> {
    const database = this.upstreamDatabase(name);
    if (database === this.admin.database) throw new StorageError('55006', 'the default database cannot be dropped');
    for (const session of this.sessions.values()) if (session.database === database) session.close();
    await this.releaseDatabase(database);
    await dropByForce(database, this.adminConfig());
    this.databases.delete(database);
    for (const key of this.grants.keys()) if (key.endsWith(`\0${database}`)) this.grants.delete(key);
  }

  /** Closes this storage's own admin connections to `database` (they would block it as a template). */
  private async releaseDatabase(database: string): Promise<void> {
    const pool = this.pools.get(database);
    this.pools.delete(database);
    await pool?.end().catch(() => {});
  }

  private adminConfig(): pg.ClientConfig {
    return {
      host: this.target.host,
      port: this.target.port,
      user: this.admin.user,
      password: this.admin.password,
      ssl: this.target.ssl || undefined,
    };
  }

  cancel(processId: number, secretKey: number): void {
    // Only relay cancels for our own sessions; the upstream checks the secret key itself.
    const session = this.sessions.get(processId);
    if (!session || session.secretKey !== secretKey) return;
    sendUpstreamCancel(session.target, processId, secretKey);
  }

  async close(): Promise<void> {
    this.closing = true;
    this.marks.close();
    for (const session of this.sessions.values()) session.close();
    this.sessions.clear();
    // Bounded: a query still waiting (a lock held by a session) must not keep the storage, and the server under it,
    // from stopping; stopping the server ends it.
    await settlesWithin(Promise.allSettled([...this.pools.values()].map((p) => p.end())), POOL_END_MS);
    this.pools.clear();
  }
}
