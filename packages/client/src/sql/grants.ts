/**
 * Ownership and grants. Tables created while developing locally belong to the developer's role, so a deployed app's
 * service principal then fails table by table with "permission denied". {@link grantAccess} grants a role what an
 * app needs on a schema (usage, the tables and sequences there, and the same for tables created later by the current
 * user), idempotently; {@link checkTableAccess} finds what the connected role is missing, and whom to ask.
 */
import type pg from 'pg';
import { parseRoleName } from '../config/names.js';
import { LakebaseError } from '../errors.js';
import { quoteIdent, shellQuote } from './quote.js';

type Queryable = Pick<pg.ClientBase, 'query'> | Pick<pg.Pool, 'query'>;

export interface GrantOptions {
  /** The role to grant to: a user's email or a service principal's client id (UUID). Quoted as an identifier. */
  to: string;
  /** Schema (default `public`). */
  schema?: string;
  /** Only SELECT on tables and sequences (default: SELECT, INSERT, UPDATE, DELETE; USAGE, SELECT, UPDATE). */
  readOnly?: boolean;
}

export interface GrantResult {
  role: string;
  schema: string;
  /** The role that ran the grants: default privileges are set FOR this role (tables it creates later). */
  grantor: string;
  readOnly: boolean;
  /** The statements run, in order, as one transaction. */
  statements: string[];
  /** Tables the role still cannot use after the grants (owned by someone else), with their owners. */
  notGranted: { table: string; owner: string }[];
}

const WRITE = ['INSERT', 'UPDATE', 'DELETE'] as const;

/**
 * Grant `to` usage on `schema`, privileges on all its tables and sequences, and default privileges for tables and
 * sequences the current user creates there later. Idempotent: running it again changes nothing. Returns what it ran.
 * @throws LakebaseError `LAKEBASE_ROLE_NOT_FOUND` (no such role), `LAKEBASE_CONFIG_INVALID` (no such schema, or a
 * role name no identity can have: see `parseRoleName`).
 */
export async function grantAccess(db: Queryable, options: GrantOptions): Promise<GrantResult> {
  const schema = options.schema ?? 'public';
  const role = parseRoleName(options.to, 'to');
  const readOnly = options.readOnly ?? false;
  const { rows } = await (db as pg.ClientBase).query<{ grantor: string; role: boolean; schema: boolean }>(
    `select current_user as grantor,
            exists (select 1 from pg_roles where rolname = $1) as role,
            exists (select 1 from pg_namespace where nspname = $2) as schema`,
    [role, schema],
  );
  const found = rows[0] as { grantor: string; role: boolean; schema: boolean };
  if (!found.role) {
    throw new LakebaseError('LAKEBASE_ROLE_NOT_FOUND', `Role "${role}" does not exist in this database.`, {
      suggestion:
        'The role is created when the identity is given access: add the Lakebase resource to the app (its service ' +
        'principal role is created then), or `databricks postgres create-role` / grant access in the Lakebase UI.',
    });
  }
  if (!found.schema) {
    throw new LakebaseError('LAKEBASE_CONFIG_INVALID', `Schema "${schema}" does not exist.`, {
      suggestion: 'Pass --schema with an existing schema (`lakebase tables` lists them), or run the migrations first.',
    });
  }
  const r = quoteIdent(role);
  const s = quoteIdent(schema);
  const grantor = quoteIdent(found.grantor);
  const tables = readOnly ? 'SELECT' : ['SELECT', ...WRITE].join(', ');
  const sequences = readOnly ? 'SELECT' : 'USAGE, SELECT, UPDATE';
  const statements = [
    `GRANT USAGE ON SCHEMA ${s} TO ${r}`,
    `GRANT ${tables} ON ALL TABLES IN SCHEMA ${s} TO ${r}`,
    `GRANT ${sequences} ON ALL SEQUENCES IN SCHEMA ${s} TO ${r}`,
    `ALTER DEFAULT PRIVILEGES FOR ROLE ${grantor} IN SCHEMA ${s} GRANT ${tables} ON TABLES TO ${r}`,
    `ALTER DEFAULT PRIVILEGES FOR ROLE ${grantor} IN SCHEMA ${s} GRANT ${sequences} ON SEQUENCES TO ${r}`,
  ];
  // One simple-query message: the statements run as one implicit transaction, all or nothing, on one connection.
  await (db as pg.ClientBase).query(statements.join(';\n'));
  const missing = await missingTableAccess(db, role, schema, readOnly);
  return {
    role,
    schema,
    grantor: found.grantor,
    readOnly,
    statements,
    notGranted: missing.map((m) => ({ table: m.table, owner: m.owner })),
  };
}

/** A table a role cannot fully use. */
export interface MissingTableAccess {
  table: string;
  owner: string;
  /** The privileges the role lacks, e.g. `['INSERT', 'UPDATE', 'DELETE']`. */
  missing: string[];
}

export interface TableAccessReport {
  role: string;
  schema: string;
  /** Ordinary and partitioned tables in the schema. */
  tables: number;
  /** False when the role has no USAGE on the schema (then every table is unusable). */
  schemaUsage: boolean;
  /** False when no schema of that name exists (a typo in `--schema`). */
  schemaExists: boolean;
  missing: MissingTableAccess[];
}

async function missingTableAccess(
  db: Queryable,
  role: string,
  schema: string,
  readOnly: boolean,
): Promise<MissingTableAccess[]> {
  const wanted = readOnly ? ['SELECT'] : ['SELECT', ...WRITE];
  const { rows } = await (db as pg.ClientBase).query<{ table: string; owner: string; missing: string[] }>(
    `select c.relname as table, pg_get_userbyid(c.relowner) as owner,
            array(select p from unnest($3::text[]) p where not has_table_privilege($1, c.oid, p)) as missing
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = $2 and c.relkind in ('r', 'p')
      order by 1`,
    [role, schema, wanted],
  );
  return rows.filter((row) => row.missing.length > 0);
}

/**
 * What the connected role (`current_user`) cannot do with the tables in `schema` (default `public`): the tables it
 * cannot read and write, with their owners, who can run `lakebase grant --to <role>`.
 */
export async function checkTableAccess(db: Queryable, options: { schema?: string } = {}): Promise<TableAccessReport> {
  const schema = options.schema ?? 'public';
  const { rows } = await (db as pg.ClientBase).query<{ role: string; usage: boolean | null; tables: number }>(
    `select current_user as role,
            (select has_schema_privilege(current_user, oid, 'USAGE') from pg_namespace where nspname = $1) as usage,
            (select count(*)::int from pg_class c join pg_namespace n on n.oid = c.relnamespace
              where n.nspname = $1 and c.relkind in ('r', 'p')) as tables`,
    [schema],
  );
  const row = rows[0] as { role: string; usage: boolean | null; tables: number };
  const missing = await missingTableAccess(db, row.role, schema, false);
  return {
    role: row.role,
    schema,
    tables: row.tables,
    schemaUsage: row.usage !== false,
    schemaExists: row.usage !== null,
    missing,
  };
}

/** The shell command that fixes a report, e.g. `lakebase grant --to 6f0c1a2b-... --schema app` (quoted when needed). */
export function grantCommand(role: string, schema = 'public'): string {
  return `lakebase grant --to ${shellQuote(role)}${schema === 'public' ? '' : ` --schema ${shellQuote(schema)}`}`;
}
