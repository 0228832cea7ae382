/**
 * What transaction pooling (the pooled host: PgBouncer in transaction mode) breaks, refused on a pooled pool before
 * the statement is sent. Each transaction may run on a different server connection, so anything that outlives a
 * transaction is lost or, worse, leaks to another client:
 * - session `SET` (use `SET LOCAL` inside a transaction, or `set_config(..., true)`),
 * - session advisory locks `pg_advisory_lock` / `pg_try_advisory_lock` (use the `_xact_` variants),
 * - `LISTEN` / `UNLISTEN` (notifications go to whichever server connection listened),
 * - named prepared statements and SQL `PREPARE` (the statement lives on one server connection).
 * Detection is by the statement's leading keyword and a substring test: cheap, and it only runs on pooled pools.
 * Not caught: these inside a function body or dynamic SQL, and `WITH HOLD` cursors.
 */
import type pg from 'pg';
import { LakebaseError } from '../errors.js';
import { hookPoolQueries, operationOf, type StatementInfo } from './query-hooks.js';

const SESSION_ADVISORY = /pg_(?:try_)?advisory_lock(?:_shared)?\s*\(/i;
const TRANSACTION_SCOPED_SET = /^\s*set\s+(?:local|transaction|constraints)\b/i;

/** Why `statement` cannot run through a transaction pooler, or undefined. */
export function transactionPoolingRefusal(statement: StatementInfo): string | undefined {
  if (statement.prepared) return 'named prepared statements (they live on one server connection)';
  const text = statement.text;
  const operation = operationOf(text);
  if (operation === 'LISTEN' || operation === 'UNLISTEN') return `${operation} (notifications need a session)`;
  if (operation === 'PREPARE') return 'PREPARE (the statement lives on one server connection)';
  if (operation === 'SET' && !TRANSACTION_SCOPED_SET.test(text as string)) {
    return 'session SET (it would apply to whichever client gets the server connection next; use SET LOCAL)';
  }
  if (text?.includes('advisory_lock') && SESSION_ADVISORY.test(text)) {
    return 'session advisory locks (use pg_advisory_xact_lock)';
  }
  return undefined;
}

/** The coded error for `reason`. */
export function pooledHostUnsupported(reason: string): LakebaseError {
  return new LakebaseError('LAKEBASE_POOLED_HOST_UNSUPPORTED', `The pooled host cannot run ${reason}.`, {
    suggestion:
      'Run it on a pool to the direct host (LAKEBASE_POOLED unset), or rewrite it to stay inside one transaction.',
    details: { reason },
  });
}

/** A pooler's refusal of an OAuth token login (the emulator's text; Lakebase's own wording is not documented). */
const POOLED_OAUTH_REFUSED = /oauth.*not supported on the pooled host|pooled host.*(?:oauth|token).*not supported/i;

/**
 * The coded error for a login the pooled host refused because it does not take OAuth tokens (SQLSTATE 28000 with a
 * pooler's message), or undefined for any other failure. The fix is a native password role.
 */
export function pooledOAuthRefusal(error: unknown): LakebaseError | undefined {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (code !== '28000' || typeof message !== 'string' || !POOLED_OAUTH_REFUSED.test(message)) return undefined;
  return new LakebaseError(
    'LAKEBASE_POOLED_HOST_UNSUPPORTED',
    `The pooled host refused an OAuth token login: ${message}`,
    {
      suggestion:
        'Connect to the pooled host as a native password role: `lakebase role create <name> --password --write-env` writes its LAKEBASE_PG_URL to .env.local (put the pooled host in it); or unset LAKEBASE_POOLED to use the direct host with tokens.',
      cause: error,
      details: { reason: 'pooled-oauth-refused' },
    },
  );
}

/** Connections of pooled pools (so a checked-out one is recognised without its pool). */
const pooledClients = new WeakSet<object>();
/** The pooled hosts' naming on Lakebase and in the emulator (`ep-...-pooler.<domain>`). */
const POOLER_HOST = /-pooler\./i;

/**
 * Whether `db` (a pool or a client) goes through a transaction pooler: a pool made with `pooled`, one of its
 * connections, or any connection whose host is named like a pooled host.
 */
export function isPooledConnection(db: pg.Pool | pg.ClientBase): boolean {
  if (pooledClients.has(db)) return true;
  const route = (db as { lakebase?: { route?: string } }).lakebase?.route;
  if (route === 'pooled') return true;
  const host = (db as { host?: unknown; options?: { host?: unknown } }).host ?? (db as pg.Pool).options?.host;
  return typeof host === 'string' && POOLER_HOST.test(host);
}

/** Refuses, on every connection of `pool`, what transaction pooling breaks. */
export function enforceTransactionPooling(pool: pg.Pool): void {
  pool.on('connect', (client: pg.PoolClient) => pooledClients.add(client));
  hookPoolQueries(pool, (statement, run, done) => {
    const reason = transactionPoolingRefusal(statement);
    if (reason) done(pooledHostUnsupported(reason));
    else run(done);
  });
}
