/**
 * What is in the database: tables, views and their rough size (the "Check Database Tables" step of the guide), for
 * `lakebase tables`. Only the CLI uses it, so it lives here rather than in the client.
 */
import type pg from 'pg';

export interface TableInfo {
  schema: string;
  name: string;
  /** `table`, `partitioned table`, `view`, `materialized view` or `foreign table`. */
  type: string;
  /** The planner's row estimate (`pg_class.reltuples`); null before the first ANALYZE/VACUUM. */
  estimatedRows: number | null;
  /** Total size in bytes including indexes and TOAST; 0 for views. */
  bytes: number;
}

export interface ListTablesOptions {
  /** Only this schema. Default: every schema but the system ones. */
  schema?: string;
}

/** Tables and views visible to the connected role, by schema and name. Accepts a pool or a client. */
export async function listTables(
  db: Pick<pg.ClientBase, 'query'> | Pick<pg.Pool, 'query'>,
  options: ListTablesOptions = {},
): Promise<TableInfo[]> {
  const { rows } = await (db as pg.ClientBase).query<{
    schema: string;
    name: string;
    kind: string;
    reltuples: number;
    bytes: string;
  }>(
    `select n.nspname as schema, c.relname as name, c.relkind as kind, c.reltuples::float8 as reltuples,
            case when c.relkind in ('r', 'p', 'm') then pg_total_relation_size(c.oid) else 0 end::text as bytes
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where c.relkind in ('r', 'p', 'v', 'm', 'f')
        and ($1::text is null and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname !~ '^pg_toast'
             or n.nspname = $1::text)
        and has_schema_privilege(n.oid, 'USAGE')
      order by 1, 2`,
    [options.schema ?? null],
  );
  return rows.map((row) => ({
    schema: row.schema,
    name: row.name,
    type: KINDS[row.kind] ?? row.kind,
    estimatedRows: row.reltuples < 0 || row.kind === 'v' ? null : Math.round(row.reltuples),
    bytes: Number(row.bytes),
  }));
}

const KINDS: Record<string, string> = {
  r: 'table',
  p: 'partitioned table',
  v: 'view',
  m: 'materialized view',
  f: 'foreign table',
};
