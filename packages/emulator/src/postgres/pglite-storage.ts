import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { PGlite } from '@electric-sql/pglite';
import { pgWire, quoteIdent } from '@lakebase-kit/client/toolkit';
import type { CreatedDatabaseLookup } from '../contracts.js';
import { EmulatorError } from '../errors.js';
import { PgliteSession, type SharedBackend } from './pglite-session.js';
import {
  FifoLock,
  type Logger,
  roleGrantsSql,
  type SessionRequest,
  type SessionStorage,
  StorageError,
  type StorageSession,
  silentLogger,
} from './storage.js';

const { authenticationOk, backendKeyData, parameterStatus, parseErrorFields, query, readyForQuery, newCancelKey } =
  pgWire;

/** Options of {@link createPgliteStorage}. */
export interface PgliteStorageOptions {
  /** Databases live in `<dataDir>/pglite/<database>`. Omit for in-memory databases (lost on close). */
  dataDir?: string;
  logger?: Logger;
  /**
   * How long a query waits while another session holds the database (an open transaction) before it fails with
   * SQLSTATE 55P03 instead of hanging. Default 60 000 ms.
   */
  turnTimeoutMs?: number;
}

/**
 * Storage on embedded PGlite: one PGlite instance per Lakebase database name. PGlite runs a single backend, so all
 * client sessions of a database share it; a session holds the database from the first message of a "turn" until
 * PGlite is idle again (ReadyForQuery 'I'), so transactions never interleave, and the session's role is switched in
 * with `SET SESSION AUTHORIZATION` whenever the turn passes to another session.
 */
export function createPgliteStorage(options: PgliteStorageOptions = {}): SessionStorage {
  return new PgliteStorage(options);
}

// Reported to clients in ParameterStatus, read from PGlite once per database.
const SERVER_PARAMS = [
  'server_version',
  'server_encoding',
  'client_encoding',
  'DateStyle',
  'IntervalStyle',
  'integer_datetimes',
  'standard_conforming_strings',
  'TimeZone',
];

/** See {@link createPgliteStorage}. */
export class PgliteStorage implements SessionStorage {
  readonly description: string;
  private readonly logger: Logger;
  private readonly databases = new Map<string, Promise<PgliteDatabase>>();
  private readonly sessions = new Map<number, PgliteSession>();
  /** In-memory branch copies not opened yet: the parent's data directory as a tarball. */
  private readonly seeds = new Map<string, Blob>();
  private readonly sessionDatabase = new WeakMap<PgliteSession, PgliteDatabase>();
  private closing = false;

  constructor(private readonly options: PgliteStorageOptions) {
    this.logger = options.logger ?? silentLogger;
    this.description = options.dataDir ? `pglite:${join(options.dataDir, 'pglite')}` : 'pglite:memory';
  }

  private database(name: string): Promise<PgliteDatabase> {
    let db = this.databases.get(name);
    if (!db) {
      const opening = PgliteDatabase.open(
        name,
        this.options.dataDir,
        this.logger,
        this.options.turnTimeoutMs ?? 60_000,
        this.seeds.get(name),
      );
      opening.then(
        (open) => {
          // A PGlite that died (WASM exit) is dropped; the next login reopens the database from disk.
          open.onBroken = () => {
            if (this.databases.get(name) === opening) this.databases.delete(name);
            open.close().catch(() => {});
          };
        },
        () => this.databases.delete(name),
      );
      db = opening;
      this.databases.set(name, db);
    }
    return db;
  }

  async prepare(database: string): Promise<void> {
    try {
      await this.database(database);
    } catch (err) {
      const where = this.options.dataDir ? join(this.options.dataDir, 'pglite') : 'memory';
      throw new EmulatorError(
        'EMULATOR_STORAGE_UNREADABLE',
        `The PGlite data of database "${database}" in ${where} could not be opened: ${(err as Error).message}`,
        `The data dir may be damaged (e.g. the emulator was killed while flushing). Move ${where} aside to start with an empty database, or use another --data-dir.`,
        { cause: err },
      );
    }
  }

  /** PGlite's CREATE DATABASE only adds a catalog row: an instance serves just the database it was opened on. */
  async createdDatabase(): Promise<CreatedDatabaseLookup> {
    return { unsupported: 'PGlite storage serves only the configured databases; use the default storage' };
  }

  async openSession(request: SessionRequest, client: Duplex): Promise<StorageSession> {
    if (this.closing) throw new StorageError('57P01', 'terminating connection due to administrator command');
    if (request.created) throw new StorageError('3D000', `database "${request.database}" does not exist`);
    if (request.readOnly) {
      throw new StorageError(
        '0A000',
        'read-only endpoints are not modelled with --storage pglite; use the default storage',
      );
    }
    if (request.tables) {
      // Running it as the identity would give a table-scoped token everything the identity may read.
      throw new StorageError(
        '0A000',
        'table-scoped tokens are not modelled with --storage pglite; use the default storage',
      );
    }
    let db: PgliteDatabase;
    try {
      db = await this.database(request.database);
    } catch (err) {
      this.logger.error('pglite database failed to open', { database: request.database, error: String(err) });
      throw new StorageError('57P03', `database "${request.database}" is not available`, { cause: err });
    }
    await db.provision(request.role);

    let key = newCancelKey();
    while (this.sessions.has(key.processId)) key = newCancelKey();
    const { processId } = key;
    const params: [string, string][] = [
      ...db.serverParams,
      ['application_name', request.params.application_name ?? ''],
      ['session_authorization', request.role],
      ['is_superuser', 'off'],
      ['default_transaction_read_only', 'off'],
      ['in_hot_standby', 'off'],
    ];
    client.write(
      Buffer.concat([
        authenticationOk(),
        ...params.map(([k, v]) => parameterStatus(k, v)),
        backendKeyData(processId, key.secretKey),
        readyForQuery('I'),
      ]),
    );
    db.openSessions++;
    const session = new PgliteSession(processId, db, request.role, client, this.logger, () => {
      db.openSessions--;
      this.sessions.delete(processId);
    });
    this.sessions.set(processId, session);
    this.sessionDatabase.set(session, db);
    session.start(request.pending);
    return session;
  }

  /**
   * A branch copy: the parent's whole PGlite data directory, dumped between two sessions' turns (so no transaction is
   * half in it) and loaded into the branch's own directory. The copy keeps the parent's database name inside.
   */
  async copyDatabase(source: string, target: string): Promise<void> {
    const data = await (await this.database(source)).dump();
    await this.dropDatabase(target);
    const dir = this.options.dataDir ? databaseDir(this.options.dataDir, target) : undefined;
    if (!dir) {
      this.seeds.set(target, data);
      return;
    }
    const copy = new PGlite({ dataDir: dir, loadDataDir: data });
    await copy.waitReady;
    await copy.close();
    await writeFile(join(dir, 'lakebase-database'), lakebaseName(target));
  }

  async dropDatabase(name: string): Promise<void> {
    const open = this.databases.get(name);
    this.databases.delete(name);
    this.seeds.delete(name);
    if (open) {
      const db = await open.catch(() => undefined);
      for (const session of [...this.sessions.values()]) if (this.sessionDatabase.get(session) === db) session.close();
      await db?.close();
    }
    if (this.options.dataDir) await rm(databaseDir(this.options.dataDir, name), { recursive: true, force: true });
  }

  /** A login role made through the roles API (made now, so grants to it work); group roles are not modelled here. */
  async createRole(role: string, database: string, login: boolean): Promise<void> {
    if (login) await (await this.database(database)).provision(role);
  }

  cancel(processId: number): void {
    // PGlite runs a statement synchronously on the event loop: by the time a CancelRequest is read nothing is running.
    this.logger.info('pglite ignores cancel request', { processId });
  }

  async close(): Promise<void> {
    this.closing = true;
    for (const session of this.sessions.values()) session.close();
    const dbs = await Promise.allSettled(this.databases.values());
    this.databases.clear();
    for (const result of dbs) if (result.status === 'fulfilled') await result.value.close();
  }
}

/** One PGlite instance plus the bookkeeping that lets sessions take turns on it. */
class PgliteDatabase implements SharedBackend {
  readonly lock = new FifoLock();
  /** The session whose role PGlite runs as (undefined: the bootstrap superuser, after provisioning). */
  private current: PgliteSession | undefined;
  /** Sessions that have had a turn: a session's first turn may reset the backend. */
  private readonly started = new WeakSet<PgliteSession>();
  /** Client sessions open on this database. */
  openSessions = 0;
  private readonly provisioned = new Map<string, Promise<void>>();
  serverParams: [string, string][] = [];
  private databaseName = 'postgres';
  private superuser = 'postgres';
  /** Called once if PGlite fails underneath a session (the instance is unusable afterwards). */
  onBroken: (() => void) | undefined;

  markBroken(): void {
    const notify = this.onBroken;
    this.onBroken = undefined;
    notify?.();
  }

  private constructor(
    readonly name: string,
    private readonly db: PGlite,
    readonly turnTimeoutMs: number,
  ) {}

  static async open(
    name: string,
    dataDir: string | undefined,
    logger: Logger,
    turnTimeoutMs: number,
    seed?: Blob,
  ): Promise<PgliteDatabase> {
    let dir: string | undefined;
    if (dataDir) {
      dir = databaseDir(dataDir, name);
      await mkdir(join(dataDir, 'pglite'), { recursive: true });
    }
    const started = Date.now();
    const db = dir ? await openNamed(dir, lakebaseName(name)) : new PGlite(seed ? { loadDataDir: seed } : {});
    await db.waitReady;
    const self = new PgliteDatabase(name, db, turnTimeoutMs);
    const settings = await db.query<{ name: string; setting: string }>(
      'select name, current_setting(name) as setting from unnest($1::text[]) as name',
      [SERVER_PARAMS],
    );
    self.serverParams = settings.rows.map((r) => [r.name, r.setting]);
    const who = await db.query<{ d: string; u: string }>('select current_database() as d, session_user as u');
    self.databaseName = who.rows[0]?.d ?? 'postgres';
    self.superuser = who.rows[0]?.u ?? 'postgres';
    logger.info('pglite database ready', { database: name, dir, ms: Date.now() - started });
    return self;
  }

  /** Feeds protocol bytes to PGlite. Not synced per call: PGlite writes through to the data dir; close() flushes. */
  exec(bytes: Uint8Array): Promise<Uint8Array> {
    return this.db.execProtocolRaw(bytes, { syncToFs: false });
  }

  /** Runs SQL outside any session (caller holds the lock); throws the first ErrorResponse as a StorageError. */
  async simple(sql: string): Promise<void> {
    const out = Buffer.from(await this.exec(query(sql)));
    const error = firstError(out);
    if (error) throw error;
  }

  /** Creates the role on first login (LOGIN, not superuser) with the grants of a Lakebase app role. */
  provision(role: string): Promise<void> {
    let done = this.provisioned.get(role);
    if (!done) {
      done = this.withLock(async () => {
        // RESET SESSION AUTHORIZATION is a no-op in PGlite; name the bootstrap superuser instead.
        await this.simple(`SET SESSION AUTHORIZATION ${quoteIdent(this.superuser)}`);
        this.current = undefined;
        try {
          await this.simple(`CREATE ROLE ${quoteIdent(role)} LOGIN`);
        } catch (err) {
          if (!(err instanceof StorageError && err.sqlstate === '42710')) throw err; // 42710: already exists
        }
        await this.simple(roleGrantsSql(role, this.databaseName));
      });
      done.catch(() => this.provisioned.delete(role));
      this.provisioned.set(role, done);
    }
    return done;
  }

  /**
   * Makes PGlite run as `session`'s role whenever the turn passes to another session: a session's role is set anew
   * rather than trusted from the last one, so what one connection did to its user never carries to the next. A new
   * connection with no other one open gets `DISCARD ALL` first (settings, temp tables, prepared statements, listens),
   * so a pool's next connection starts clean as on PostgreSQL. Caller holds the lock.
   */
  async switchTo(session: PgliteSession): Promise<void> {
    if (this.current === session) return;
    if (!this.started.has(session)) {
      this.started.add(session);
      if (this.openSessions === 1) await this.simple('DISCARD ALL');
    }
    await this.simple(`SET SESSION AUTHORIZATION ${quoteIdent(session.role)}`);
    this.current = session;
  }

  /** The data directory as a tarball, taken between turns. */
  dump(): Promise<Blob> {
    return this.withLock(async () => {
      // Back to the bootstrap superuser, so the copy does not start inside a session's role.
      await this.simple(`SET SESSION AUTHORIZATION ${quoteIdent(this.superuser)}`);
      this.current = undefined;
      return this.db.dumpDataDir('none');
    });
  }

  private async withLock<T>(fn: () => Promise<T>): Promise<T> {
    await this.lock.acquire();
    try {
      return await fn();
    } finally {
      this.lock.release();
    }
  }

  private closing: Promise<void> | undefined;

  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    // Let a session that is mid-statement finish; sessions were closed already, so this does not wait long.
    await this.lock.acquire(2_000); // the lock's own bounded wait: no waiter is left behind after it
    await this.db.close(); // flushes to the data dir
  }
}

/** Database names become directory names; escape anything that could leave the directory. */
function databaseDir(dataDir: string, name: string): string {
  return join(dataDir, 'pglite', encodeURIComponent(name).replaceAll('.', '%2E'));
}

/** A branch's storage name is `<database>@<branch key>`; inside PGlite the database keeps its Lakebase name. */
function lakebaseName(storageName: string): string {
  return storageName.split('@')[0] as string;
}

function firstError(out: Buffer): StorageError | undefined {
  let i = 0;
  while (i + 5 <= out.length) {
    const len = out.readInt32BE(i + 1);
    if (out[i] === 0x45 /* E */) {
      const f = parseErrorFields(out.subarray(i + 5, i + 1 + len));
      return new StorageError(f.C ?? 'XX000', f.M ?? 'unknown error');
    }
    i += 1 + len;
  }
  return undefined;
}

/**
 * Opens the PGlite in `dir` connected to a database really named `name`, so `current_database()` and
 * `GRANT ... ON DATABASE databricks_postgres` work as on Lakebase. PGlite's initdb only makes `postgres`, so the
 * first open creates the database and reopens; a marker file in the data dir records that it exists.
 */
async function openNamed(dir: string, name: string): Promise<PGlite> {
  if (name === 'postgres') return new PGlite({ dataDir: dir });
  const marker = join(dir, 'lakebase-database');
  const known = await readFile(marker, 'utf8').catch(() => undefined);
  if (known !== name) {
    const bootstrap = new PGlite({ dataDir: dir });
    await bootstrap.waitReady;
    const found = await bootstrap.query('select 1 from pg_database where datname = $1', [name]);
    if (found.rows.length === 0) await bootstrap.exec(`CREATE DATABASE ${quoteIdent(name)}`);
    await bootstrap.close();
    await writeFile(marker, name);
  }
  return new PGlite({ dataDir: dir, database: name });
}
