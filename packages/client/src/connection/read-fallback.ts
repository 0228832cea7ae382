/**
 * The read pool's fallback sessions: connections to the primary host made for reads while the read host is down.
 * They must not write, as the read host cannot:
 * - every session starts with `default_transaction_read_only=on` as a startup option (after the user's own options,
 *   so it wins), which `RESET ALL`, `DISCARD ALL` and `RESET default_transaction_read_only` return to;
 * - 25006 read_only_sql_transaction is `LAKEBASE_READ_POOL_WRITE`, as on the read host;
 * - a session that turns the setting off (`SET default_transaction_read_only = off`, `SET SESSION CHARACTERISTICS AS
 *   TRANSACTION READ WRITE`, `set_config(...)`) is seen by the ParameterStatus PostgreSQL (14+) sends for it: every
 *   later statement is refused with `LAKEBASE_READ_POOL_WRITE` and the session is discarded on release, never pooled.
 * Not covered (PostgreSQL reports nothing for them, and the session's role may write): a transaction that asks for
 * READ WRITE itself (`BEGIN READ WRITE`, `SET TRANSACTION READ WRITE`), and statements sent in the same query string
 * as the `SET` that turned it off. The guard is against mistakes, not a privilege boundary; see the README.
 */
import type pg from 'pg';
import { pgOptionsFromEnv } from '../config/pg-options.js';
import { LakebaseError } from '../errors.js';
import { LakebasePool, type LakebasePoolOptions } from './pool.js';
import { hookClientQueries } from './query-hooks.js';
import { fallbackConnector } from './routes.js';

/** What makes a fallback session read-only. */
export const READ_ONLY_STARTUP_OPTION = '-c default_transaction_read_only=on';

/** The user's startup options (pool option, else `PGOPTIONS`) followed by ours, so ours wins over a duplicate. */
export function readOnlyStartupOptions(userOptions: string | undefined): string {
  const user = (userOptions ?? pgOptionsFromEnv())?.trim();
  return user ? `${user} ${READ_ONLY_STARTUP_OPTION}` : READ_ONLY_STARTUP_OPTION;
}

/** Sessions that reported `default_transaction_read_only` off. */
const leftReadOnly = new WeakSet<pg.ClientBase>();

/**
 * A pool of read-only sessions on `primary`'s direct host, sharing its credentials (ending it leaves them running).
 * `options` are the read pool's own.
 */
export function createFallbackPool(primary: LakebasePool, options: LakebasePoolOptions): LakebasePool {
  const userOptions = options.pg?.options ?? (primary.options as pg.PoolConfig).options;
  const pool = new LakebasePool(fallbackConnector(primary.lakebase), {
    ...options,
    pg: { ...options.pg, options: readOnlyStartupOptions(userOptions) },
  });
  pool.on('connect', (client: pg.PoolClient) => {
    client.connection.on('parameterStatus', (message: { parameterName?: string; parameterValue?: string }) => {
      if (message.parameterName !== 'default_transaction_read_only') return;
      if (message.parameterValue === 'on') leftReadOnly.delete(client);
      else leftReadOnly.add(client);
    });
    hookClientQueries(client, (_statement, run, done) => {
      if (leftReadOnly.has(client)) return done(sessionLeftReadOnly());
      run((error, result) => done(isReadOnlyRefusal(error) ? readPoolWrite(error) : error, result));
    });
  });
  return pool;
}

/** A checkout of `pool` whose release discards the session if it left read-only. */
export async function fallbackCheckout(pool: LakebasePool): Promise<pg.PoolClient> {
  const client = await pool.connect();
  const release = client.release;
  client.release = (error?: Error | boolean) => release.call(client, error || leftReadOnly.has(client) || undefined);
  return client;
}

/** PostgreSQL's 25006 read_only_sql_transaction. */
export function isReadOnlyRefusal(error: unknown): boolean {
  return error !== null && typeof error === 'object' && (error as { code?: unknown }).code === '25006';
}

/** A write refused by a read-only session (the read host, or a fallback session). */
export function readPoolWrite(cause: unknown): LakebaseError {
  return new LakebaseError(
    'LAKEBASE_READ_POOL_WRITE',
    `You used the read pool for a write: the read host is read-only (${(cause as Error).message}).`,
    {
      suggestion: 'Send INSERT/UPDATE/DELETE/DDL (and SELECT ... FOR UPDATE) to the write pool.',
      cause,
      details: { sqlstate: '25006' },
    },
  );
}

function sessionLeftReadOnly(): LakebaseError {
  return new LakebaseError(
    'LAKEBASE_READ_POOL_WRITE',
    'This read pool session turned default_transaction_read_only off, so the read pool refuses it (it is discarded on release).',
    {
      suggestion:
        'Send writes to the write pool; do not change default_transaction_read_only on a read pool connection.',
      details: { sqlstate: '25006', reason: 'session_left_read_only' },
    },
  );
}
