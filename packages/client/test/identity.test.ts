/**
 * Identity mix-ups: which identity the workspace auth is, which PostgreSQL role the token is for, and a PGUSER that
 * disagrees with it (the `password authentication failed for user "<uuid>"` / `role "token" does not exist` family).
 * Plus the Databricks Apps auth conflict: injected service-principal credentials and a personal token at once.
 */
import { describe, expect, it } from 'vitest';
import { createLakebasePool, diagnose, type LakebaseError } from '../src/index.js';
import { resolveWorkspaceConfig, WorkspaceAuth } from '../src/toolkit.js';
import { useEmulatorPools } from './helpers/emulator.js';

const { emulator } = useEmulatorPools();

function m2mEnv(): Record<string, string> {
  const { DATABRICKS_TOKEN: _pat, ...rest } = emulator().env('provisioned');
  return { ...rest, DATABRICKS_CLIENT_ID: emulator().clientId, DATABRICKS_CLIENT_SECRET: emulator().clientSecret };
}

describe('doctor shows the identity in use and the role the token is for', () => {
  it('the connector exposes the looked-up user (and host); the pool does not write it into pg-pool options', async () => {
    const pool = createLakebasePool({ env: emulator().env('provisioned') });
    try {
      expect(pool.lakebase.resolvedTarget).toBeUndefined();
      const { rows } = await pool.query<{ user: string }>('select current_user as user');
      expect(pool.lakebase.resolvedTarget).toMatchObject({ user: emulator().user, host: expect.any(String) });
      expect(rows[0]?.user).toBe(pool.lakebase.resolvedTarget?.user);
      expect(pool.options.user).toBeUndefined();
    } finally {
      await pool.end();
    }
  });

  it('the credential carries the role its token is for, decoded once when it arrived', async () => {
    const pool = createLakebasePool({ env: emulator().env('provisioned') });
    try {
      const credential = await pool.lakebase.credentials?.getCredential();
      expect(credential?.role).toBe(emulator().user);
      expect(JSON.stringify(credential)).not.toContain(credential?.token ?? 'no token');
    } finally {
      await pool.end();
    }
  });

  it('a user (PAT): the email, the token role, connecting as the token identity', async () => {
    const report = await diagnose({ env: emulator().env('provisioned') });
    expect(report.ok).toBe(true);
    const step = report.steps.find((s) => s.name === 'identity');
    expect(step?.detail).toBe(
      `workspace identity ${emulator().user} (user); token is for PostgreSQL role ${emulator().user}; ` +
        `connecting as ${emulator().user} (the token identity)`,
    );
    expect(step?.warning).toBeUndefined();
  });

  it('a service principal (M2M, as in Databricks Apps with PGUSER set to its client id): no warning', async () => {
    const id = emulator().clientId;
    const report = await diagnose({ env: { ...m2mEnv(), PGUSER: id } });
    expect(report.ok).toBe(true);
    const step = report.steps.find((s) => s.name === 'identity');
    expect(step?.detail).toBe(
      `workspace identity ${id} (service principal client id); token is for PostgreSQL role ${id}; connecting as ${id} (from PGUSER)`,
    );
    expect(step?.warning).toBeUndefined();
  });
});

describe('PGUSER disagreeing with the token identity', () => {
  it('PGUSER=<service principal uuid> with a user token: warned, and the login failure names both', async () => {
    const id = emulator().clientId;
    const report = await diagnose({ env: { ...emulator().env('provisioned'), PGUSER: id } });
    const identity = report.steps.find((s) => s.name === 'identity');
    expect(identity).toMatchObject({ ok: true, code: 'LAKEBASE_IDENTITY_MISMATCH' });
    expect(identity?.warning).toContain(`PGUSER=${id} is not the identity the token is for (${emulator().user})`);
    const login = report.steps.at(-1);
    expect(login).toMatchObject({ name: 'login', ok: false, code: 'LAKEBASE_IDENTITY_MISMATCH' });
    expect(login?.detail).toContain(`password authentication failed for user "${id}"`);
    expect(login?.suggestion).toBe(
      `Unset PGUSER (check .env.local and app.yaml) so the token identity ${emulator().user} is used, or set PGUSER=${emulator().user}.`,
    );
  });

  it('PGUSER=token (a hand-written config): role "token" does not exist, same diagnosis', async () => {
    const report = await diagnose({ env: { ...emulator().env('provisioned'), LAKEBASE_USERNAME: 'token' } });
    const login = report.steps.at(-1);
    expect(login).toMatchObject({ name: 'login', ok: false, code: 'LAKEBASE_IDENTITY_MISMATCH' });
    expect(login?.detail).toContain('role "token" does not exist');
    expect(login?.suggestion).toContain('Unset LAKEBASE_USERNAME');
  });

  it('the pool warns once, naming both identities, before its first login', async () => {
    const lines: string[] = [];
    const pool = createLakebasePool({
      env: { ...emulator().env('provisioned'), PGUSER: emulator().clientId },
      logger: { warn: (message) => lines.push(message) },
    });
    try {
      await expect(pool.query('select 1')).rejects.toMatchObject({ code: '28P01' });
    } finally {
      await pool.end();
    }
    expect(lines.filter((l) => l.includes('is not the identity the database token is for'))).toEqual([
      `PGUSER=${emulator().clientId} is not the identity the database token is for (${emulator().user}); logins will fail`,
    ]);
  });
});

describe('the Databricks Apps auth conflict', () => {
  it('injected DATABRICKS_CLIENT_ID/SECRET plus a personal DATABRICKS_TOKEN: says which to remove', () => {
    const env = { ...m2mEnv(), DATABRICKS_TOKEN: emulator().databricksToken };
    let error: LakebaseError | undefined;
    try {
      new WorkspaceAuth(resolveWorkspaceConfig({}, env));
    } catch (e) {
      error = e as LakebaseError;
    }
    expect(error?.code).toBe('LAKEBASE_AUTH_CONFLICT');
    expect(error?.message).toBe('validate: more than one authorization method configured: oauth and pat');
    expect(error?.suggestion).toContain('DATABRICKS_TOKEN, DATABRICKS_CLIENT_ID, DATABRICKS_CLIENT_SECRET are all set');
    expect(error?.suggestion).toContain('remove DATABRICKS_TOKEN (a personal token)');
    expect(error?.suggestion).toContain('DATABRICKS_AUTH_TYPE');
  });

  it('doctor reports it at the auth step', async () => {
    const report = await diagnose({ env: { ...m2mEnv(), DATABRICKS_TOKEN: emulator().databricksToken } });
    expect(report.steps.at(-1)).toMatchObject({ name: 'auth', ok: false, code: 'LAKEBASE_AUTH_CONFLICT' });
    expect(report.steps.at(-1)?.suggestion).toContain('remove DATABRICKS_TOKEN');
  });
});
