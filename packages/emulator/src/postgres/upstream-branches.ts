/**
 * Branch copies on a real PostgreSQL: `CREATE DATABASE <branch> TEMPLATE <parent>`, a file-level copy that takes
 * well under a second for small databases. PostgreSQL refuses a template that has other connections (SQLSTATE 55006),
 * so those are ended first and the statement retried for a bounded time.
 */

import { quoteIdent } from '@lakebase-kit/client/toolkit';
import pg from 'pg';
import { StorageError } from './storage.js';

/** How long a copy keeps ending connections to the template and retrying before it gives up. */
const TEMPLATE_BUSY_DEADLINE_MS = 10_000;

export interface TemplateCopyOptions {
  /** A connection config for the admin user; `database` is replaced by a maintenance database. */
  admin: pg.ClientConfig;
  /** End every other backend on the template (our own server), or only `ownPids` (a shared upstream). */
  terminateAll: boolean;
  /** Backend pids of this emulator's own sessions on the template, read afresh on each attempt. */
  ownPids: () => number[];
}

/** A database to run CREATE/DROP DATABASE from: never the one being copied or dropped. */
function maintenanceDatabase(avoid: string[]): string {
  return ['postgres', 'template1'].find((db) => !avoid.includes(db)) as string;
}

async function withMaintenance<T>(
  admin: pg.ClientConfig,
  avoid: string[],
  fn: (client: pg.Client) => Promise<T>,
): Promise<T> {
  const client = new pg.Client({ ...admin, database: maintenanceDatabase(avoid), connectionTimeoutMillis: 10_000 });
  client.on('error', () => {}); // a terminated maintenance connection surfaces through the failing query
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

/** Makes `target` a copy of `source`, replacing a leftover `target` (an interrupted earlier copy). */
export async function copyByTemplate(source: string, target: string, options: TemplateCopyOptions): Promise<void> {
  await withMaintenance(options.admin, [source, target], async (client) => {
    await client.query(`DROP DATABASE IF EXISTS ${quoteIdent(target)} WITH (FORCE)`);
    const deadline = Date.now() + TEMPLATE_BUSY_DEADLINE_MS;
    for (let attempt = 1; ; attempt++) {
      await client.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
          WHERE datname = $1 AND pid <> pg_backend_pid() AND ($2::bool OR pid = ANY($3::int[]))`,
        [source, options.terminateAll, options.ownPids()],
      );
      try {
        await client.query(`CREATE DATABASE ${quoteIdent(target)} TEMPLATE ${quoteIdent(source)}`);
        return;
      } catch (error) {
        if ((error as { code?: string }).code !== '55006') throw error;
        if (Date.now() >= deadline) {
          throw new StorageError(
            '55006',
            `source database "${source}" is being accessed by other users: the branch cannot be copied from it until they disconnect`,
            { cause: error },
          );
        }
        await new Promise((resolve) => setTimeout(resolve, Math.min(500, 25 * attempt)));
      }
    }
  });
}

/** Drops `name` (ending its sessions); a missing database is fine. */
export async function dropByForce(name: string, admin: pg.ClientConfig): Promise<void> {
  await withMaintenance(admin, [name], (client) =>
    client.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`),
  );
}
