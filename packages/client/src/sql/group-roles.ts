/**
 * The group role of per-user mode: one NOLOGIN role holds the app's table privileges, and the users allowed in are its
 * members, so adding a user is one `GRANT group TO user` and row-level security does the rest.
 * {@link grantToGroup} sets it all up idempotently: running it again changes nothing and says so.
 */
import type pg from 'pg';
import { parseRoleName } from '../config/names.js';
import { LakebaseError } from '../errors.js';
import { type GrantResult, grantAccess } from './grants.js';
import { CHECKSUMS_TABLE } from './migrations.js';
import { quoteIdent } from './quote.js';

type Queryable = Pick<pg.ClientBase, 'query'>;

/** The bookkeeping tables of `applyMigrations` (node-pg-migrate's default history table and our checksums). */
const MIGRATION_TABLES = ['pgmigrations', CHECKSUMS_TABLE];

export interface GroupGrantOptions {
  /** The group role (created NOLOGIN when missing). */
  group: string;
  /** Roles to add to the group: users' emails (or service principals' ids). */
  members?: string[];
  /** Make a missing member's role with `databricks_create_role(member, 'USER')` instead of failing. */
  createMemberRoles?: boolean;
  schema?: string;
  readOnly?: boolean;
}

export interface GroupGrantResult {
  group: string;
  /** True when this call created the group role. */
  createdGroup: boolean;
  /** The table and schema grants to the group (see {@link grantAccess}). */
  grant: GrantResult;
  /** Members added now, and those that were members already. */
  added: string[];
  alreadyMembers: string[];
  /** Member roles made now with `databricks_create_role`. */
  createdRoles: string[];
}

const ROLE_SUGGESTION =
  "Create the user's role with the roles API (`databricks postgres create-role <branch> --json " +
  '\'{"spec":{"postgres_role":"<email>","identity_type":"USER"}}\'`; Provisioned: the instance roles API with ' +
  "identity_type USER), or in SQL `CREATE EXTENSION IF NOT EXISTS databricks_auth; SELECT databricks_create_role('<email>', 'USER');`, " +
  'or pass --create-roles.';

/**
 * Creates `group` if missing (CREATE ROLE, else `databricks_create_role(group, 'GROUP')` where the caller may not
 * create roles), grants it the schema's tables, and adds `members` to it.
 * @throws LakebaseError `LAKEBASE_PERMISSION_DENIED` (cannot create the group), `LAKEBASE_ROLE_NOT_FOUND` (a member has
 *   no role), and what {@link grantAccess} throws.
 */
export async function grantToGroup(db: Queryable, options: GroupGrantOptions): Promise<GroupGrantResult> {
  const group = parseRoleName(options.group, 'group');
  for (const member of options.members ?? []) parseRoleName(member, 'members');
  const createdGroup = !(await roleExists(db, group));
  if (createdGroup) await createRole(db, group, 'GROUP');
  const grant = await grantAccess(db, {
    to: group,
    ...(options.schema ? { schema: options.schema } : {}),
    ...(options.readOnly ? { readOnly: true } : {}),
  });
  // The migration history is the owner's, not per-user data: users must neither read nor rewrite it.
  const schema = options.schema ?? 'public';
  for (const table of MIGRATION_TABLES) {
    const { rows } = await db.query<{ found: boolean }>('select to_regclass($1) is not null as found', [
      `${quoteIdent(schema)}.${quoteIdent(table)}`,
    ]);
    if (rows[0]?.found) {
      const statement = `REVOKE ALL ON ${quoteIdent(schema)}.${quoteIdent(table)} FROM ${quoteIdent(group)}`;
      await db.query(statement);
      grant.statements.push(statement);
    }
  }
  const result: GroupGrantResult = { group, createdGroup, grant, added: [], alreadyMembers: [], createdRoles: [] };
  for (const member of options.members ?? []) {
    if (!(await roleExists(db, member))) {
      if (!options.createMemberRoles) {
        throw new LakebaseError('LAKEBASE_ROLE_NOT_FOUND', `Role "${member}" does not exist in this database.`, {
          suggestion: ROLE_SUGGESTION.replaceAll('<email>', member),
          details: { role: member },
        });
      }
      await createRole(db, member, 'USER');
      result.createdRoles.push(member);
    }
    const { rows } = await db.query<{ member: boolean }>(
      `select exists (select 1 from pg_auth_members m join pg_roles g on g.oid = m.roleid join pg_roles u on u.oid = m.member
                      where g.rolname = $1 and u.rolname = $2) as member`,
      [group, member],
    );
    if (rows[0]?.member) {
      result.alreadyMembers.push(member);
      continue;
    }
    await db.query(`GRANT ${quoteIdent(group)} TO ${quoteIdent(member)}`);
    result.added.push(member);
  }
  return result;
}

async function roleExists(db: Queryable, role: string): Promise<boolean> {
  const { rows } = await db.query<{ found: boolean }>(
    'select exists (select 1 from pg_roles where rolname = $1) as found',
    [role],
  );
  return rows[0]?.found === true;
}

/** `CREATE ROLE`, or Lakebase's `databricks_create_role` when the caller may not create roles itself. */
async function createRole(db: Queryable, role: string, type: 'GROUP' | 'USER'): Promise<void> {
  if (type === 'GROUP') {
    try {
      await db.query(`CREATE ROLE ${quoteIdent(role)} NOLOGIN`);
      return;
    } catch (error) {
      if ((error as { code?: string }).code !== '42501') throw error;
    }
  }
  try {
    await db.query('select databricks_create_role($1, $2)', [role, type]);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code !== '42883' && code !== '42501') throw error;
    throw new LakebaseError('LAKEBASE_PERMISSION_DENIED', `Could not create role "${role}" as the connected role.`, {
      cause: error,
      suggestion:
        type === 'GROUP'
          ? 'Run this as a member of databricks_superuser (e.g. the project owner), or create the group with the roles API (identity_type GROUP or PG_ONLY).'
          : ROLE_SUGGESTION.replaceAll('<email>', role),
      details: { role, sqlstate: code },
    });
  }
}
