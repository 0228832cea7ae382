import type pg from 'pg';

/**
 * PostgreSQL refuses a catalog change with "tuple concurrently updated" (XX000) when another session changed the same
 * catalog row at the same moment: two emulators on one upstream server (test suites running in parallel) making or
 * granting the same role, or replacing the same function. Every statement run through here is idempotent, so the
 * loser simply runs it again.
 */
const ATTEMPTS = 5;

function isCatalogRace(err: unknown): boolean {
  const { code, message } = err as { code?: string; message?: string };
  return code === 'XX000' && /tuple concurrently (updated|deleted)/.test(message ?? '');
}

/** Runs one idempotent catalog statement (CREATE/ALTER ROLE, GRANT, REVOKE, COMMENT, CREATE FUNCTION), retrying a race. */
export async function catalogStatement(admin: pg.Pool | pg.ClientBase, sql: string): Promise<pg.QueryResult> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await admin.query(sql);
    } catch (err) {
      if (attempt >= ATTEMPTS || !isCatalogRace(err)) throw err;
      // The winner's transaction is committing; yield a moment (bounded: a few ms in all) before running again.
      await new Promise((resolve) => setTimeout(resolve, attempt * 2));
    }
  }
}

/**
 * Runs `createRole` (a `CREATE ROLE` statement) through {@link catalogStatement}: true when it made the role, false when
 * the role exists (42710) or a concurrent maker won (23505); anything else is thrown.
 */
export function createRoleIfMissing(admin: pg.Pool | pg.ClientBase, createRole: string): Promise<boolean> {
  return ignoreCode(catalogStatement(admin, createRole), '42710', '23505');
}

/** Resolves true when `query` succeeded, false when it failed with one of the SQLSTATE `codes`; rethrows anything else. */
export async function ignoreCode(query: Promise<unknown>, ...codes: string[]): Promise<boolean> {
  try {
    await query;
    return true;
  } catch (err) {
    if (codes.includes((err as { code?: string }).code ?? '')) return false;
    throw err;
  }
}
