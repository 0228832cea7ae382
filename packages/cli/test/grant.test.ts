/**
 * `lakebase grant` and the doctor's privileges and identity checks, driven as a user's shell would: the developer
 * creates a table, the app's service principal (OAuth M2M) is denied, doctor names the owner and the command, the
 * developer runs it (twice), and the app works.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBed, type TestBed } from './fixture.js';

let bed: TestBed;
let cwd: string;

beforeAll(async () => {
  bed = await startTestBed();
  cwd = await bed.newDir();
});
afterAll(async () => {
  await bed?.stop();
});

/** The deployed app's environment: the service principal's client id and secret instead of the developer's PAT. */
function appEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return bed.env('provisioned', {
    DATABRICKS_TOKEN: undefined,
    DATABRICKS_CLIENT_ID: bed.emulator.clientId,
    DATABRICKS_CLIENT_SECRET: bed.emulator.clientSecret,
    ...extra,
  });
}

describe('lakebase grant', () => {
  it('reproduces permission denied for the app, doctor names the owner and the command, grant fixes it', async () => {
    const { emulator } = bed;
    const sp = emulator.clientId;
    const create = await bed.lakebase(['psql', '--', '-c', 'create table notes (id serial primary key, body text)'], {
      cwd,
      env: bed.env(),
    });
    expect(create.stderr).toBe('');
    expect(create.code).toBe(0);

    const denied = await bed.lakebase(['psql', '--', '-c', 'select * from notes'], { cwd, env: appEnv() });
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain('permission denied for table notes');

    const doctor = await bed.lakebase(['doctor'], { cwd, env: appEnv() });
    expect(doctor.code).toBe(1);
    expect(doctor.stdout).toMatch(
      new RegExp(`^✓ identity .*workspace identity ${sp} \\(service principal client id\\)`, 'm'),
    );
    expect(doctor.stdout).toMatch(/^✓ query /m);
    expect(doctor.stdout).toMatch(
      /^✗ privileges .*notes \(owner dev@example\.com; no SELECT, INSERT, UPDATE, DELETE\)/m,
    );
    expect(doctor.stderr).toContain('[LAKEBASE_TABLE_ACCESS_DENIED]');
    expect(doctor.stderr).toContain(`fix: As ${emulator.user} (the owner), run \`lakebase grant --to ${sp}\``);

    const grant = await bed.lakebase(['grant', '--to', sp], { cwd, env: bed.env() });
    expect(grant.stderr).toBe('');
    expect(grant.code).toBe(0);
    expect(grant.stdout).toContain(`Granted read/write access on schema public to ${sp} (as ${emulator.user}):`);
    expect(grant.stdout).toContain(
      `  GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "public" TO "${sp}";`,
    );
    expect(grant.stdout).toContain(`  ALTER DEFAULT PRIVILEGES FOR ROLE "${emulator.user}" IN SCHEMA "public"`);

    const again = await bed.lakebase(['grant', '--to', sp, '--json'], { cwd, env: bed.env() });
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ role: sp, schema: 'public', readOnly: false, notGranted: [] });

    const works = await bed.lakebase(
      ['psql', '--', '-At', '-c', "insert into notes (body) values ('hi') returning body"],
      { cwd, env: appEnv() },
    );
    expect(works.stderr).toBe('');
    expect(works.stdout.trim().split('\n')[0]).toBe('hi');
    const healthy = await bed.lakebase(['doctor'], { cwd, env: appEnv() });
    expect(healthy.code).toBe(0);
    expect(healthy.stdout).toMatch(
      new RegExp(`^✓ privileges .*${sp} can read and write all 1 tables in schema public`, 'm'),
    );
    bed.assertNoSecrets(grant.stdout + healthy.stdout + doctor.stdout + doctor.stderr);
  });

  it('an unknown role is a clear error; --to is required', async () => {
    const ghost = await bed.lakebase(['grant', '--to', 'ghost@example.com'], { cwd, env: bed.env() });
    expect(ghost.code).toBe(1);
    expect(ghost.stderr).toMatch(
      /^error: Role "ghost@example.com" does not exist in this database. \[LAKEBASE_ROLE_NOT_FOUND\]/,
    );
    const missing = await bed.lakebase(['grant'], { cwd, env: bed.env() });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(
      "error: required option '--to <role>' not specified [LAKEBASE_USAGE_ERROR]\n" +
        'fix: Run `lakebase grant --help` for its options and an example.\n',
    );
  });
});

describe('lakebase doctor: identity mix-ups', () => {
  it('PGUSER set to the service principal with a personal token: warns, and the login failure says what to unset', async () => {
    const sp = bed.emulator.clientId;
    const result = await bed.lakebase(['doctor'], { cwd, env: bed.env('provisioned', { PGUSER: sp }) });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(
      /^! identity .*token is for PostgreSQL role dev@example\.com; connecting as .* \(from PGUSER\)/m,
    );
    expect(result.stdout).toContain(
      `  warning: PGUSER=${sp} is not the identity the token is for (dev@example.com): the login will fail`,
    );
    expect(result.stdout).toMatch(/^✗ login /m);
    expect(result.stderr).toContain(`password authentication failed for user "${sp}"`);
    expect(result.stderr).toContain('[LAKEBASE_IDENTITY_MISMATCH]');
    expect(result.stderr).toContain('fix: Unset PGUSER (check .env.local and app.yaml)');
  });

  it('Databricks Apps credentials plus a personal DATABRICKS_TOKEN: the auth step names both and which to remove', async () => {
    const result = await bed.lakebase(['doctor'], {
      cwd,
      env: appEnv({ DATABRICKS_TOKEN: bed.emulator.databricksToken }),
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      'more than one authorization method configured: oauth and pat [LAKEBASE_AUTH_CONFLICT]',
    );
    expect(result.stderr).toContain('remove DATABRICKS_TOKEN (a personal token)');
    bed.assertNoSecrets(result.stdout + result.stderr);
  });
});
