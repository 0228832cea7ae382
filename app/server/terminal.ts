/**
 * What `npm start` shows a person at a terminal: one plain line with the URL and the database, and readable logs.
 * Production and anything that is not a terminal (CI, Databricks Apps, a pipe) keep pino's JSON lines.
 */
import type { DestinationStream } from 'pino';
import type { AppDatabase, DatabaseInfo } from './database.js';

/** Human-readable logs only for a person: stdout is a terminal and this is not production. */
export function wantsPrettyLogs(options: { isTTY: boolean | undefined; production: boolean }): boolean {
  return Boolean(options.isTTY) && !options.production;
}

/**
 * pino-pretty as the log destination, or undefined (JSON) when it is not installed: it is a development dependency,
 * so a deployed release never loads it.
 */
export async function prettyLogStream(): Promise<DestinationStream | undefined> {
  try {
    const { default: pretty } = await import('pino-pretty');
    // Synchronous, so that the lines written while shutting down are on the terminal before the process exits.
    return pretty({ colorize: true, sync: true, translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname' });
  } catch {
    return undefined;
  }
}

/** `Lakebase app ready at <url>, connected to <what>`: the line a person looks for after `npm start`. */
export function startLine(url: string, database: AppDatabase): string {
  return `Lakebase app ready at ${url}, ${describeDatabase(database)}`;
}

function describeDatabase(database: AppDatabase): string {
  if (!database.configured) return 'no Lakebase configured (the API answers 503 LAKEBASE_NOT_CONFIGURED)';
  const info: DatabaseInfo = typeof database.info === 'function' ? database.info() : database.info;
  if (info.emulator) return `connected to the embedded Lakebase emulator (database ${info.database})`;
  const target =
    info.tier === 'autoscaling'
      ? `Lakebase endpoint ${info.endpoint}`
      : info.tier === 'provisioned'
        ? `Lakebase instance ${info.instanceName ?? info.host}`
        : `PostgreSQL at ${info.host ?? 'LAKEBASE_PG_URL'}`;
  return `connected to ${target} (database ${info.database})`;
}
