/**
 * `diagnoseUser()`: `lakebase doctor` for per-user mode. With a user's OAuth token it checks, in order, that the token
 * may mint a database credential (the `postgres` scope), that the user has a PostgreSQL role to log in with, and that
 * row-level security is on for every table of the schema the user can reach. Never throws for a broken setup; the
 * token never appears in the report.
 */
import { perUserToken } from '../config/per-user.js';
import { LakebaseConnector } from '../connection/connector.js';
import { LakebasePool } from '../connection/pool.js';
import { type UserLease, UserPools } from '../connection/user-pools.js';
import { isLakebaseError, LakebaseError, redact, registerSecret } from '../errors.js';
import { monotonicClock } from '../time.js';
import type { DiagnoseOptions } from './index.js';
import { withStepTimeout } from './step-timeout.js';
import type { DiagnosisReport, DiagnosticStep } from './steps.js';

export interface DiagnoseUserOptions extends DiagnoseOptions {
  /** The user's OAuth token (default: `LAKEBASE_USER_TOKEN` in `env`). */
  userToken?: string;
}

/** A table the user can read whose rows row-level security does not guard. */
interface Unguarded {
  table: string;
  rowSecurity: boolean;
  policies: number;
}

/** Run the per-user checks; the report has steps `user-scope`, `user-role` and `row-security`. */
export async function diagnoseUser(options: DiagnoseUserOptions = {}): Promise<DiagnosisReport> {
  const steps: DiagnosticStep[] = [];
  const schema = options.schema ?? 'public';
  const timeoutMs = options.stepTimeoutMs ?? 5000;
  // Each step's own duration: from the end of the previous one.
  let since = monotonicClock.now();
  const ms = () => {
    const now = monotonicClock.now();
    const taken = Math.round((now - since) * 10) / 10;
    since = now;
    return taken;
  };
  const fail = (name: DiagnosticStep['name'], error: unknown): DiagnosisReport => {
    const coded = isLakebaseError(error) ? error : undefined;
    steps.push({
      name,
      ok: false,
      ms: ms(),
      detail: redact(coded?.message ?? String(error)),
      suggestion: coded?.suggestion ?? 'See the error message.',
      ...(coded ? { code: coded.code } : {}),
    });
    return { ok: false, mode: undefined, steps };
  };

  const token = options.userToken ?? perUserToken(options.env);
  if (!token) {
    return fail(
      'user-scope',
      new LakebaseError('LAKEBASE_NOT_CONFIGURED', 'No user token to check per-user mode with.', {
        suggestion:
          "Set LAKEBASE_USER_TOKEN to a user's OAuth token (in an app: the X-Forwarded-Access-Token the proxy forwards; locally: POST /__emulator/users/token).",
      }),
    );
  }
  registerSecret(token);
  let main: LakebasePool;
  try {
    main = new LakebasePool(new LakebaseConnector(options), {});
  } catch (error) {
    return fail('user-scope', error);
  }
  const pools = new UserPools(main, { maxUsers: 1, maxConnectionsPerUser: 1, env: {} });
  let lease: UserLease | undefined;
  try {
    try {
      // Mint and log in: one bound, reported as user-scope when it runs out (the credential is the slow part).
      lease = await withStepTimeout('user-scope', timeoutMs, () => pools.acquire(token));
    } catch (error) {
      if (isLakebaseError(error, 'LAKEBASE_ROLE_NOT_FOUND')) {
        steps.push({ name: 'user-scope', ok: true, ms: ms(), detail: 'the token minted a database credential' });
        return fail('user-role', error);
      }
      return fail('user-scope', error);
    }
    steps.push({ name: 'user-scope', ok: true, ms: ms(), detail: 'the token minted a database credential' });
    steps.push({ name: 'user-role', ok: true, ms: ms(), detail: `logged in as ${lease.identity}` });
    try {
      const leased = lease;
      const unguarded = await withStepTimeout('row-security', timeoutMs, () => unguardedTables(leased, schema));
      if (unguarded.length > 0) {
        const names = unguarded.map((t) => `${schema}.${t.table}${t.rowSecurity ? ' (no policy)' : ''}`).join(', ');
        return fail(
          'row-security',
          new LakebaseError(
            'LAKEBASE_PERMISSION_DENIED',
            `${lease.identity} can read tables that row-level security does not guard: ${names}.`,
            {
              suggestion:
                "As the table owner: ALTER TABLE <table> ENABLE ROW LEVEL SECURITY and CREATE POLICY ... USING (<owner column> = current_user) (see app/migrations), or revoke the group role's access to tables that are not per user.",
            },
          ),
        );
      }
      steps.push({
        name: 'row-security',
        ok: true,
        ms: ms(),
        detail: `row-level security is on for every table of ${schema} that ${lease.identity} can read`,
      });
    } catch (error) {
      return fail('row-security', error);
    }
    return { ok: true, mode: main.lakebase.config.mode, steps };
  } finally {
    lease?.release();
    await main.end().catch(() => {});
    await pools.close();
  }
}

async function unguardedTables(lease: UserLease, schema: string): Promise<Unguarded[]> {
  const { rows } = await lease.pool.query<{ table: string; rowsecurity: boolean; policies: number }>(
    `select c.relname as table, c.relrowsecurity as rowsecurity,
            (select count(*)::int from pg_policy p where p.polrelid = c.oid) as policies
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = $1 and c.relkind in ('r', 'p') and has_table_privilege(current_user, c.oid, 'SELECT')
      order by 1`,
    [schema],
  );
  return rows
    .filter((row) => !row.rowsecurity || row.policies === 0)
    .map((row) => ({ table: row.table, rowSecurity: row.rowsecurity, policies: row.policies }));
}
