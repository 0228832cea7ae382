/**
 * SQL migrations on Lakebase with node-pg-migrate, driven over a connection we provide (so tokens, TLS and the DNS
 * fallback are ours). What this adds around node-pg-migrate's `runner`:
 * - one transaction per migration (`singleTransaction: false`), so a failing migration leaves nothing half-applied
 *   and the ones before it stay applied;
 * - node-pg-migrate's own advisory lock (`PG_MIGRATE_LOCK_ID`), held by us across the whole run including our
 *   bookkeeping, so servers or CI jobs that migrate together queue and each migration runs exactly once, and so
 *   node-pg-migrate's CLI and our runs exclude each other;
 * - a sha256 of each applied file in `lakebase_migration_checksums` (beside `pgmigrations`), written in the same
 *   transaction as the migration, so an applied migration edited later is reported;
 * - errors that name the file and line of a failing statement.
 * Files are node-pg-migrate's: `<timestamp>_<name>.sql` with `-- Up Migration` / `-- Down Migration` sections.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Migration, type MigrationBuilder, PG_MIGRATE_LOCK_ID, type RunnerOption, runner } from 'node-pg-migrate';
import type pg from 'pg';
import { isPooledConnection, pooledHostUnsupported } from '../connection/pooled-host.js';
import { LakebaseError } from '../errors.js';
import { checksumOf, migrationFiles, migrationsDir, nameOf, sha256, splitSql } from './migration-files.js';
import { quoteIdent, quoteLiteral } from './quote.js';

export interface MigrationLogger {
  info(message: string): void;
  warn(message: string): void;
}

export interface MigrationOptions {
  /** Directory of migration files, resolved from the working directory. */
  dir: string;
  /** Schema for the migrations and the bookkeeping tables; created when missing. Default `public`. */
  schema?: string;
  /** node-pg-migrate's bookkeeping table (default `pgmigrations`, so its CLI sees the same history). */
  migrationsTable?: string;
  logger?: MigrationLogger;
}

export interface ApplyMigrationsOptions extends MigrationOptions {
  /** `up` (default) applies pending migrations; `down` reverts the last `count` (default 1). */
  direction?: 'up' | 'down';
  /** How many to apply or revert; default all pending (`up`) or 1 (`down`). */
  count?: number;
}

export interface AppliedMigration {
  name: string;
  path: string;
}

/** One migration as the database and the directory see it. */
export interface MigrationState {
  name: string;
  /** The file, or undefined when an applied migration's file is gone. */
  file: string | undefined;
  appliedAt: Date | undefined;
  /** `edited`: applied, but the file changed since. `missing`: applied, file deleted. */
  status: 'applied' | 'pending' | 'edited' | 'missing';
}

export interface MigrationStatus {
  /** The last applied migration (Alembic's "current"), or undefined. */
  current: string | undefined;
  migrations: MigrationState[];
  pending: string[];
  edited: string[];
}

/** A pool or one connected client: a pool lends a client for the run. */
export type MigrationDb = pg.Pool | pg.ClientBase;

export const CHECKSUMS_TABLE = 'lakebase_migration_checksums';
const SILENT: MigrationLogger = { info() {}, warn() {} };

/**
 * Apply (`up`) or revert (`down`) migrations. Returns what ran, empty when up to date.
 * @throws LakebaseError `LAKEBASE_MIGRATION_FAILED` naming the file and line; the failing migration is rolled back.
 */
export async function applyMigrations(db: MigrationDb, options: ApplyMigrationsOptions): Promise<AppliedMigration[]> {
  const logger = options.logger ?? SILENT;
  const dir = await migrationsDir(options.dir);
  const names = tableNames(options);
  const tracker: { current?: RunningSql } = {};
  return withLockedClient(db, options.schema !== undefined, async (client) => {
    await ensureChecksumsTable(client, names);
    await adoptUntracked(client, names, dir);
    const before = await migrationStatus(client, { ...options, dir });
    for (const name of before.edited) {
      logger.warn(`applied migration ${name} was edited after it was applied (checksum differs); edits are not re-run`);
    }
    try {
      const ran = await runner({
        dbClient: client,
        dir,
        direction: options.direction ?? 'up',
        ...(options.count === undefined ? {} : { count: options.count }),
        migrationsTable: names.migrations,
        ...(options.schema === undefined ? {} : { schema: options.schema, createSchema: true }),
        noLock: true, // we hold the same lock ourselves, around our bookkeeping too
        singleTransaction: false,
        checkOrder: true,
        migrationLoaderStrategies: [{ extensions: ['.sql'], loader: checksummedSqlLoader(names, tracker) }],
        logger: {
          debug() {},
          info: (message: string) => {
            if (message.startsWith('### MIGRATION')) logger.info(message.replace(/^### MIGRATION (.*) ###$/, '$1'));
          },
          warn: (message: string) => logger.warn(message),
          error() {}, // reported once, by the error we throw
        },
      });
      await forgetReverted(client, names);
      return ran.map(({ name, path: file }) => ({ name, path: file }));
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw migrationError(error, tracker.current);
    }
  });
}

/** Applied, pending and edited migrations. Read-only: creates nothing and takes no lock. */
export async function migrationStatus(db: MigrationDb, options: MigrationOptions): Promise<MigrationStatus> {
  const dir = await migrationsDir(options.dir);
  const names = tableNames(options);
  const files = await migrationFiles(dir);
  const applied = (await tableExists(db, names.schema, names.migrations))
    ? (
        await db.query<{ name: string; run_on: Date }>(
          `select name, run_on from ${names.qualifiedMigrations} order by run_on, id`,
        )
      ).rows
    : [];
  const checksums = new Map<string, string>();
  if (await tableExists(db, names.schema, CHECKSUMS_TABLE)) {
    const { rows } = await db.query<{ name: string; sha256: string }>(
      `select name, sha256 from ${names.qualifiedChecksums}`,
    );
    for (const row of rows) checksums.set(row.name, row.sha256);
  }
  const byName = new Map(files.map((file) => [nameOf(file), file]));
  const migrations: MigrationState[] = [];
  for (const row of applied) {
    const file = byName.get(row.name);
    const recorded = checksums.get(row.name);
    const edited = file !== undefined && recorded !== undefined && recorded !== (await checksumOf(file));
    migrations.push({
      name: row.name,
      file,
      appliedAt: row.run_on,
      status: file === undefined ? 'missing' : edited ? 'edited' : 'applied',
    });
  }
  const appliedNames = new Set(applied.map((row) => row.name));
  for (const file of files) {
    if (!appliedNames.has(nameOf(file))) {
      migrations.push({ name: nameOf(file), file, appliedAt: undefined, status: 'pending' });
    }
  }
  return {
    current: applied.at(-1)?.name,
    migrations,
    pending: migrations.filter((m) => m.status === 'pending').map((m) => m.name),
    edited: migrations.filter((m) => m.status === 'edited').map((m) => m.name),
  };
}

/** Create `<dir>/<timestamp>_<name>.sql` from node-pg-migrate's SQL template; returns its path. */
export async function createMigration(dir: string, name: string): Promise<string> {
  if (!/^[A-Za-z0-9][\w-]*$/.test(name)) {
    throw new LakebaseError('LAKEBASE_CONFIG_INVALID', `Invalid migration name '${name}'.`, {
      suggestion: 'Use letters, digits, - and _ only, e.g. `add-user-preferences`.',
    });
  }
  return Migration.create(name, path.resolve(dir), { language: 'sql' });
}

// ---------------------------------------------------------------------------------------------------------------------

interface TableNames {
  schema: string;
  migrations: string;
  qualifiedMigrations: string;
  qualifiedChecksums: string;
}

function tableNames(options: MigrationOptions): TableNames {
  const schema = options.schema ?? 'public';
  const migrations = options.migrationsTable ?? 'pgmigrations';
  return {
    schema,
    migrations,
    qualifiedMigrations: `${quoteIdent(schema)}.${quoteIdent(migrations)}`,
    qualifiedChecksums: `${quoteIdent(schema)}.${quoteIdent(CHECKSUMS_TABLE)}`,
  };
}

/** The SQL being run and where it sits in its file, so a server error position maps to a file line. */
interface RunningSql {
  file: string;
  content: string;
  offset: number;
}

type MigrationLoader = Extract<
  NonNullable<RunnerOption['migrationLoaderStrategies']>[number]['loader'],
  (...args: never[]) => unknown
>;

/** node-pg-migrate's SQL format, with the checksum written (or removed) in the migration's own transaction. */
function checksummedSqlLoader(names: TableNames, tracker: { current?: RunningSql }): MigrationLoader {
  return async (filePaths) =>
    Promise.all(
      filePaths.map(async (file) => {
        const content = await readFile(file, 'utf8');
        const name = nameOf(file);
        const sha = sha256(content);
        const { up, down } = splitSql(content);
        const run = (section: { sql: string; offset: number }, bookkeeping: string) => (pgm: MigrationBuilder) => {
          tracker.current = { file, content, offset: section.offset };
          pgm.sql(section.sql);
          pgm.sql(bookkeeping);
        };
        return {
          id: file,
          filePaths: [file],
          actions: {
            up: run(
              up,
              `insert into ${names.qualifiedChecksums} (name, sha256) values (${quoteLiteral(name)}, '${sha}') ` +
                'on conflict (name) do update set sha256 = excluded.sha256, recorded_at = now()',
            ),
            down: down
              ? run(down, `delete from ${names.qualifiedChecksums} where name = ${quoteLiteral(name)}`)
              : false,
          },
        };
      }),
    );
}

/** A failure as `LAKEBASE_MIGRATION_FAILED` with file and line (from the server's error position) when known. */
function migrationError(error: unknown, running: RunningSql | undefined): LakebaseError {
  if (error instanceof LakebaseError) return error;
  const pgError = error as { message?: string; position?: string; code?: string };
  const message = (pgError.message ?? String(error)).split('\n')[0] ?? '';
  if (!running) {
    return new LakebaseError('LAKEBASE_MIGRATION_FAILED', `Migration failed: ${message}`, {
      suggestion: 'See the message; fix the migration files and run `lakebase migrate up` again.',
      cause: error,
    });
  }
  const position = Number(pgError.position);
  const line =
    Number.isFinite(position) && position > 0
      ? running.content.slice(0, running.offset + position - 1).split('\n').length
      : undefined;
  const where = `${path.basename(running.file)}${line ? ` line ${line}` : ''}`;
  return new LakebaseError(
    'LAKEBASE_MIGRATION_FAILED',
    `Migration ${where} failed: ${message}${pgError.code ? ` (SQLSTATE ${pgError.code})` : ''}. It was rolled back.`,
    {
      suggestion: `Fix ${path.relative(process.cwd(), running.file) || running.file}${line ? `:${line}` : ''} and run \`lakebase migrate up\` again; migrations before it stay applied.`,
      cause: error,
      details: { file: running.file, ...(line ? { line } : {}), sqlstate: pgError.code },
    },
  );
}

/** Run `work` on one client holding node-pg-migrate's advisory lock (waiting for it), then release everything. */
async function withLockedClient<T>(
  db: MigrationDb,
  changesSession: boolean,
  work: (client: pg.ClientBase) => Promise<T>,
): Promise<T> {
  // The lock is a session lock: through a transaction pooler it would be taken and dropped on different server
  // connections, and two runners could migrate at once.
  if (isPooledConnection(db)) throw pooledHostUnsupported('migrations (their advisory lock needs a session)');
  const pooled = isPool(db);
  const client: pg.ClientBase = pooled ? await db.connect() : db;
  if (isPooledConnection(client)) {
    if (pooled) (client as pg.PoolClient).release();
    throw pooledHostUnsupported('migrations (their advisory lock needs a session)');
  }
  let healthy = true;
  try {
    await client.query(`select pg_advisory_lock(${PG_MIGRATE_LOCK_ID})`);
    try {
      return await work(client);
    } catch (error) {
      healthy = false;
      throw error;
    } finally {
      await client.query(`select pg_advisory_unlock(${PG_MIGRATE_LOCK_ID})`).catch(() => {
        healthy = false;
      });
      // node-pg-migrate sets search_path for a schema; don't hand that session state back.
      if (changesSession) await client.query('reset search_path').catch(() => {});
    }
  } finally {
    if (pooled) (client as pg.PoolClient).release(!healthy);
  }
}

function isPool(db: MigrationDb): db is pg.Pool {
  return typeof (db as pg.Pool).totalCount === 'number' && typeof (db as pg.Pool).connect === 'function';
}

/** Called under the lock, so concurrent first runs cannot race on `create table`. */
async function ensureChecksumsTable(client: pg.ClientBase, names: TableNames): Promise<void> {
  await client.query(`create schema if not exists ${quoteIdent(names.schema)}`);
  await client.query(
    `create table if not exists ${names.qualifiedChecksums} (name varchar(255) primary key, sha256 char(64) not null, recorded_at timestamptz not null default now())`,
  );
}

/** Migrations applied by other tools (node-pg-migrate's CLI, an app) get the checksum of their current file. */
async function adoptUntracked(client: pg.ClientBase, names: TableNames, dir: string): Promise<void> {
  if (!(await tableExists(client, names.schema, names.migrations))) return;
  const { rows } = await client.query<{ name: string }>(
    `select m.name from ${names.qualifiedMigrations} m left join ${names.qualifiedChecksums} c using (name) where c.name is null`,
  );
  const files = new Map((await migrationFiles(dir)).map((file) => [nameOf(file), file]));
  for (const { name } of rows) {
    const file = files.get(name);
    if (file === undefined) continue;
    await client.query(
      `insert into ${names.qualifiedChecksums} (name, sha256) values ($1, $2) on conflict do nothing`,
      [name, await checksumOf(file)],
    );
  }
}

/** Checksums of migrations reverted without our loader (e.g. JavaScript ones) are dropped. */
async function forgetReverted(client: pg.ClientBase, names: TableNames): Promise<void> {
  await client.query(
    `delete from ${names.qualifiedChecksums} c where not exists (select 1 from ${names.qualifiedMigrations} m where m.name = c.name)`,
  );
}

async function tableExists(db: MigrationDb, schema: string, table: string): Promise<boolean> {
  const { rows } = await db.query<{ found: string | null }>('select to_regclass($1)::text as found', [
    `${quoteIdent(schema)}.${quoteIdent(table)}`,
  ]);
  return rows[0]?.found != null;
}
