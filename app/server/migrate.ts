import { runner } from 'node-pg-migrate';
import type pg from 'pg';

/** Where the messages of a migration run go; pino and `console` both fit. */
export interface MigrationLogger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export interface ApplyMigrationsOptions {
  /** Directory of node-pg-migrate files (`<timestamp>_<name>.sql` with `-- Up Migration` / `-- Down Migration`). */
  dir: string;
  /** Default `up` (all pending). `down` reverts `count` migrations, default 1. */
  direction?: 'up' | 'down';
  count?: number;
  /** Schema for the tables and the bookkeeping table; created when missing. Default: the role's `search_path`. */
  schema?: string;
  /** Bookkeeping table, default `pgmigrations` (node-pg-migrate's, so its CLI sees the same history). */
  migrationsTable?: string;
  logger?: MigrationLogger;
}

export interface AppliedMigration {
  name: string;
  path: string;
}

const SILENT: MigrationLogger = { info() {}, warn() {}, error() {} };

/**
 * Apply (or revert) migrations over one connection borrowed from `pool`, so the pool's credentials and TLS
 * settings are used as-is. The run holds node-pg-migrate's PostgreSQL advisory lock in `wait` mode: servers that
 * start together queue on the lock and each migration runs exactly once. All pending migrations run in one
 * transaction. Returns the migrations that ran (empty when already up to date).
 */
export async function applyMigrations(pool: pg.Pool, options: ApplyMigrationsOptions): Promise<AppliedMigration[]> {
  const logger = options.logger ?? SILENT;
  const client = await pool.connect();
  let reusable = false;
  try {
    const ran = await runner({
      dbClient: client,
      dir: options.dir,
      direction: options.direction ?? 'up',
      ...(options.count === undefined ? {} : { count: options.count }),
      migrationsTable: options.migrationsTable ?? 'pgmigrations',
      ...(options.schema === undefined ? {} : { schema: options.schema, createSchema: true }),
      advisoryLockMode: 'wait',
      singleTransaction: true,
      checkOrder: true,
      logger: {
        debug() {},
        info: (message: string) => logger.info(message),
        warn: (message: string) => logger.warn(message),
        error: (message: string) => logger.error(message),
      },
    });
    // node-pg-migrate sets search_path on the session when a schema is given; don't hand that back to the pool.
    reusable = options.schema === undefined;
    return ran.map(({ name, path }) => ({ name, path }));
  } finally {
    client.release(!reusable);
  }
}
