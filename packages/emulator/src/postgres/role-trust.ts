import { quoteIdent, quoteLiteral } from '@lakebase-kit/client/toolkit';
import type pg from 'pg';
import { catalogStatement, createRoleIfMissing } from './catalog-race.js';
import { type Logger, StorageError } from './storage.js';

/**
 * Who may make roles, and what a role the workspace takes over keeps. On Lakebase only members of
 * `databricks_superuser` (NOLOGIN; the project or instance owner is one) create roles, and a Databricks identity's role
 * is one the platform made. In the emulator a role may already exist in storage when the workspace provisions the
 * identity of that name: made by an earlier run of the workspace, by `databricks_create_role` (authorised), or by
 * someone else (by hand on an upstream server, or through the old `databricks_create_role` that any role could call).
 * Roles made through an authorised path carry {@link ROLE_MARK} as their comment, which only a superuser (or a
 * CREATEROLE role with ADMIN on it) can set. An unmarked role is adopted once: memberships in it are revoked (no one
 * else may `SET ROLE` to the identity), and so are its own memberships granted by anyone but a superuser or a
 * `databricks_superuser` member; then it is marked.
 */

/** Lakebase's administrative role; the owner is a member. */
export const SUPERUSER_ROLE = 'databricks_superuser';

/** The comment on every role made through an authorised path (the workspace, or `databricks_create_role`). */
export const ROLE_MARK = 'Databricks identity role (made by the Lakebase emulator)';

/** Refuses names the workspace must never make or adopt as an identity's role (42939, as PostgreSQL names it). */
export function assertAssignableRole(role: string): void {
  if (role === SUPERUSER_ROLE || role.startsWith('pg_')) {
    throw new StorageError('42939', `role name "${role}" is reserved`);
  }
}

/** What `databricks_superuser` inherits on Lakebase: read and write every table, and the monitoring views. */
export const SUPERUSER_INHERITS = ['pg_read_all_data', 'pg_write_all_data', 'pg_monitor'] as const;

/** The attributes Lakebase gives the owner's role (besides LOGIN and the databricks_superuser membership). */
export const OWNER_ATTRIBUTES = ['CREATEDB', 'CREATEROLE', 'BYPASSRLS'] as const;

/**
 * Makes `databricks_superuser` (NOLOGIN) if missing, a member of {@link SUPERUSER_INHERITS} (idempotent; a concurrent
 * maker winning is fine).
 */
export async function ensureSuperuserRole(admin: pg.Pool): Promise<void> {
  const found = await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [SUPERUSER_ROLE]);
  if (!found.rowCount) await createRoleIfMissing(admin, `CREATE ROLE ${quoteIdent(SUPERUSER_ROLE)} NOLOGIN`);
  await catalogStatement(admin, `GRANT ${SUPERUSER_INHERITS.join(', ')} TO ${quoteIdent(SUPERUSER_ROLE)}`);
}

/**
 * Makes `role` (the owner) a member of `databricks_superuser` with Lakebase's owner attributes (idempotent):
 * CREATEDB, CREATEROLE and BYPASSRLS, so it creates roles and databases and row-level security does not hold it.
 */
export async function grantSuperuser(admin: pg.Pool, role: string): Promise<void> {
  await grantSuperuserMembership(admin, role);
  await catalogStatement(admin, `ALTER ROLE ${quoteIdent(role)} WITH ${OWNER_ATTRIBUTES.join(' ')}`);
}

/** Makes `role` a member of `databricks_superuser` only (the roles API's `membership_roles`; idempotent). */
export async function grantSuperuserMembership(admin: pg.Pool, role: string): Promise<void> {
  assertAssignableRole(role);
  await catalogStatement(admin, `GRANT ${quoteIdent(SUPERUSER_ROLE)} TO ${quoteIdent(role)}`);
}

/** Marks a role the workspace just made. */
export async function markRole(admin: pg.Pool, role: string): Promise<void> {
  await catalogStatement(admin, `COMMENT ON ROLE ${quoteIdent(role)} IS ${quoteLiteral(ROLE_MARK)}`);
}

/** Every membership in `$1` and of `$1`, with its grantor and whether that grantor is trusted. */
const MEMBERSHIPS = `
SELECT r.rolname AS role, m.rolname AS member, g.rolname AS grantor,
       coalesce(g.rolsuper OR pg_has_role(g.oid, '${SUPERUSER_ROLE}', 'MEMBER'), false) AS trusted
  FROM pg_auth_members a
  JOIN pg_roles r ON r.oid = a.roleid
  JOIN pg_roles m ON m.oid = a.member
  LEFT JOIN pg_roles g ON g.oid = a.grantor
 WHERE r.rolname = $1 OR m.rolname = $1`;

/**
 * Takes over a role found in storage for an identity the workspace provisions (see the file comment). Idempotent:
 * a marked role is left as it is. `databricks_superuser` must exist.
 */
export async function adoptRole(admin: pg.Pool, role: string, logger: Logger): Promise<void> {
  const marked = await admin.query<{ note: string | null }>(
    "SELECT shobj_description(oid, 'pg_authid') AS note FROM pg_roles WHERE rolname = $1",
    [role],
  );
  if (marked.rows[0]?.note === ROLE_MARK) return;
  const { rows } = await admin.query<{ role: string; member: string; grantor: string | null; trusted: boolean }>(
    MEMBERSHIPS,
    [role],
  );
  const revoked: string[] = [];
  for (const row of rows) {
    // Anyone holding the identity's role could act as it; its own memberships count only from a trusted grantor.
    if (row.member === role && row.trusted) continue;
    const by = row.grantor ? ` GRANTED BY ${quoteIdent(row.grantor)}` : '';
    // CASCADE: grants the member made onwards with its ADMIN OPTION go too (PostgreSQL 16+ tracks them).
    await catalogStatement(admin, `REVOKE ${quoteIdent(row.role)} FROM ${quoteIdent(row.member)}${by} CASCADE`);
    revoked.push(`${row.role} from ${row.member}`);
  }
  await markRole(admin, role);
  if (revoked.length > 0) {
    logger.warn('a role found in storage was adopted for a Databricks identity; foreign memberships revoked', {
      role,
      revoked,
    });
  }
}
