import { quoteIdent } from '@lakebase-kit/client/toolkit';
import type pg from 'pg';
import { catalogStatement, createRoleIfMissing } from './catalog-race.js';
import { adoptRole, assertAssignableRole, markRole } from './role-trust.js';
import type { Logger } from './storage.js';

/**
 * A role the roles API makes without provisioning it as an identity's login: NOLOGIN (a group, a NO_LOGIN role), or
 * LOGIN with no password (a native password role, whose password `adminRole` sets with `ALTER ROLE ... PASSWORD`; it
 * gets ADMIN OPTION on the role for that, as a CREATEROLE creator does in PostgreSQL 16+). A role found in storage is
 * adopted as role-trust.ts describes. `databricks_superuser` must exist.
 */
export async function makeApiRole(
  admin: pg.Pool,
  role: string,
  login: boolean,
  adminRole: string | undefined,
  logger: Logger,
): Promise<void> {
  assertAssignableRole(role);
  const kind = login ? 'LOGIN' : 'NOLOGIN';
  // A role that exists (or that a concurrent maker won) is adopted.
  const created = await createRoleIfMissing(admin, `CREATE ROLE ${quoteIdent(role)} ${kind}`);
  await (created ? markRole(admin, role) : adoptRole(admin, role, logger));
  if (!created) await catalogStatement(admin, `ALTER ROLE ${quoteIdent(role)} WITH ${kind}`);
  if (adminRole)
    await catalogStatement(admin, `GRANT ${quoteIdent(role)} TO ${quoteIdent(adminRole)} WITH ADMIN OPTION`);
}

/** The role's password verifier in the catalog (`SCRAM-SHA-256$...`), or undefined when it has none. */
export async function roleVerifier(admin: pg.Pool, role: string): Promise<string | undefined> {
  const { rows } = await admin.query<{ verifier: string | null }>(
    'SELECT rolpassword AS verifier FROM pg_authid WHERE rolname = $1',
    [role],
  );
  return rows[0]?.verifier ?? undefined;
}
