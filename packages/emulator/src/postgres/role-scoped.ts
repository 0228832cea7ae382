import { createHash } from 'node:crypto';
import { quoteIdent, quoteLiteral } from '@lakebase-kit/client/toolkit';
import type pg from 'pg';
import { catalogStatement, createRoleIfMissing } from './catalog-race.js';
import { StorageError } from './storage.js';

/**
 * The role a table-scoped database token logs in as (a credential whose claims are `READ_ONLY` on named tables). It
 * is derived from the identity and the tables, and holds SELECT on exactly those of the named tables the identity may
 * read itself, and USAGE on their schemas: nothing else, no membership, no attribute. So the session cannot widen its
 * own scope: it is not a member of the identity's role (`SET ROLE` fails), not a superuser (`SET SESSION
 * AUTHORIZATION` fails), and `RESET` / `set_config` only return to the derived role itself. What PUBLIC may read (the
 * catalogs, tables granted to PUBLIC) it reads too, as every role does.
 */

/** The comment on every derived role (only a superuser can set it): says what made it. */
export const SCOPED_ROLE_MARK = 'Table-scoped token role (made by the Lakebase emulator)';

/** A table named in a token's claims: `schema.table`, or `catalog.schema.table` (the catalog is not used here). */
export interface ScopedTable {
  schema: string;
  table: string;
}

/** `schema.table` or `catalog.schema.table` as parts; undefined for anything else (refused at login). */
export function parseScopedTable(text: string): ScopedTable | undefined {
  const parts = text.split('.');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => p.length === 0 || p.length > 63)) return undefined;
  const [schema, table] = parts.slice(-2) as [string, string];
  return { schema, table };
}

/** The derived role's name: stable for one identity, database and set of tables, at most 63 characters. */
export function scopedRoleName(identity: string, database: string, tables: readonly string[]): string {
  const key = [identity, database, ...[...tables].sort()].join('\0');
  return `lakebase_scoped_${createHash('sha256').update(key).digest('hex').slice(0, 24)}`;
}

/**
 * Makes (or refreshes) the derived role of `identity` for `tables` in the database `admin` reaches, with `password`
 * so the relay can log in as it, and returns its name. Grants follow the identity's own SELECT privilege at this
 * login: a table it may no longer read is revoked from the derived role too.
 */
export async function ensureScopedRole(
  admin: pg.Pool,
  identity: string,
  database: string,
  tables: readonly string[],
  password: (role: string) => string,
): Promise<string> {
  const parsed = tables.map((t) => {
    const table = parseScopedTable(t);
    if (!table) throw new StorageError('28000', `the token names a table that is not schema.table: "${t}"`);
    return table;
  });
  const role = scopedRoleName(identity, database, tables);
  const r = quoteIdent(role);
  const secret = quoteLiteral(password(role));
  if (await createRoleIfMissing(admin, `CREATE ROLE ${r} LOGIN NOINHERIT PASSWORD ${secret}`)) {
    await catalogStatement(admin, `COMMENT ON ROLE ${r} IS ${quoteLiteral(SCOPED_ROLE_MARK)}`);
  } else {
    await catalogStatement(admin, `ALTER ROLE ${r} WITH LOGIN NOINHERIT PASSWORD ${secret}`);
  }
  for (const { schema, table } of parsed) {
    const { rows } = await admin.query<{ readable: boolean | null }>(
      `SELECT CASE WHEN c.oid IS NULL THEN NULL ELSE has_table_privilege($1, c.oid, 'SELECT') END AS readable
         FROM (SELECT 1) one
         LEFT JOIN pg_class c ON c.relname = $3 AND c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = $2)`,
      [identity, schema, table],
    );
    const readable = rows[0]?.readable;
    if (readable === null || readable === undefined) continue; // no such table (yet): nothing to grant
    const name = `${quoteIdent(schema)}.${quoteIdent(table)}`;
    if (readable) {
      await catalogStatement(admin, `GRANT USAGE ON SCHEMA ${quoteIdent(schema)} TO ${r}`);
      await catalogStatement(admin, `GRANT SELECT ON TABLE ${name} TO ${r}`);
    } else {
      await catalogStatement(admin, `REVOKE ALL ON TABLE ${name} FROM ${r}`);
    }
  }
  return role;
}

/** Makes derived roles one at a time (concurrent GRANTs on one object fail "tuple concurrently updated"). */
export class ScopedRoles {
  private queue: Promise<unknown> = Promise.resolve();

  /** {@link ensureScopedRole}, after every earlier call has finished. */
  ensure(...args: Parameters<typeof ensureScopedRole>): Promise<string> {
    const made = this.queue.then(() => ensureScopedRole(...args));
    this.queue = made.catch(() => {});
    return made;
  }
}
