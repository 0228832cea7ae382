/** doctor, token, exec, psql and --help: the commands that connect, driven as a user's shell would. */
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBed, type TestBed } from './fixture.js';
import { runCommand } from './helpers.js';

let bed: TestBed;
let cwd: string;

beforeAll(async () => {
  bed = await startTestBed();
  cwd = await bed.newDir();
});
afterAll(async () => {
  await bed?.stop();
});

describe('lakebase doctor', () => {
  for (const tier of ['provisioned', 'autoscaling'] as const) {
    it(`passes every step on a healthy emulator (${tier})`, async () => {
      const result = await bed.lakebase(['doctor'], { cwd, env: bed.env(tier) });
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      for (const step of ['config', 'auth', 'target', 'credential', 'dns', 'tcp', 'tls', 'login', 'query']) {
        expect(result.stdout).toMatch(new RegExp(`^✓ ${step} +[\\d.]+ ms  \\S`, 'm'));
      }
      expect(result.stdout).toContain('All checks passed.');
      bed.assertNoSecrets(result.stdout);
    });
  }

  it('names the target step and how to start the instance when it is STOPPED', async () => {
    bed.emulator.workspace.setInstanceState(bed.emulator.instanceName, 'STOPPED');
    try {
      const result = await bed.lakebase(['doctor'], { cwd, env: bed.env() });
      expect(result.code).toBe(1);
      expect(result.stdout).toMatch(/^✓ auth/m);
      expect(result.stdout).toMatch(/^✗ target .*STOPPED/m);
      expect(result.stderr).toMatch(
        /^error: target step failed: .*STOPPED.* \[LAKEBASE_INSTANCE_NOT_READY\]\nfix: Start it/,
      );
      const json = await bed.lakebase(['doctor', '--json'], { cwd, env: bed.env() });
      expect(json.code).toBe(1);
      const report = JSON.parse(json.stdout);
      expect(report.ok).toBe(false);
      expect(report.steps.at(-1)).toMatchObject({ name: 'target', ok: false, code: 'LAKEBASE_INSTANCE_NOT_READY' });
    } finally {
      bed.emulator.workspace.setInstanceState(bed.emulator.instanceName, 'AVAILABLE');
    }
  });

  it('names the auth step when the PAT is wrong, without printing it', async () => {
    const wrongPat = 'dapi0123456789abcdef0123456789abcdef';
    const result = await bed.lakebase(['doctor'], { cwd, env: bed.env('provisioned', { DATABRICKS_TOKEN: wrongPat }) });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^✗ auth /m);
    expect(result.stderr).toMatch(/^error: auth step failed: .*\[LAKEBASE_AUTH_FAILED\]\nfix: .*databricks auth login/);
    expect(result.stdout + result.stderr).not.toContain(wrongPat);
  });
});

describe('lakebase token', () => {
  it('prints a token that logs in; --json adds expiry and user', async () => {
    const plain = await bed.lakebase(['token'], { cwd, env: bed.env() });
    expect(plain.code).toBe(0);
    expect(plain.stderr).toBe('');
    const token = plain.stdout.trim();
    expect(token).toMatch(/^eyJ[\w-]+\.[\w-]+\.[\w-]+$/);

    const { emulator } = bed;
    const psql = await runCommand('psql', ['-At', '-c', 'select current_user'], {
      cwd,
      env: { ...bed.env(), PGUSER: emulator.user, PGPASSWORD: token },
    });
    expect(psql.stderr).toBe('');
    expect(psql.stdout.trim()).toBe(emulator.user);

    const json = await bed.lakebase(['token', '--json'], { cwd, env: bed.env('autoscaling') });
    expect(json.code).toBe(0);
    const body = JSON.parse(json.stdout);
    expect(body).toMatchObject({ user: emulator.user, endpoint: emulator.endpoint, database: 'databricks_postgres' });
    expect(body.token).toMatch(/^eyJ/);
    const expiresIn = Date.parse(body.expiresAt) - Date.now();
    expect(expiresIn).toBeGreaterThan(50 * 60_000);
    expect(expiresIn).toBeLessThanOrEqual(60 * 60_000 + 5000);
    expect(json.stdout).not.toContain(emulator.databricksToken);
  });
});

describe('lakebase exec', () => {
  it('passes a working DATABASE_URL and the PG* variables (proved with psql)', async () => {
    // env -i: psql sees nothing but the URL, so the URL alone must carry user, password, database and TLS settings.
    // Then the PG* variables alone (host, port, password included), as libpq tools such as pg_dump read them.
    const script =
      'env -i PATH="$PATH" psql "$DATABASE_URL" -At -c "select current_user" && echo "$PGUSER|$PGDATABASE|$PGSSLMODE" && ' +
      'env -i PATH="$PATH" PGHOST="$PGHOST" PGPORT="$PGPORT" PGUSER="$PGUSER" PGDATABASE="$PGDATABASE" ' +
      'PGSSLMODE="$PGSSLMODE" PGSSLROOTCERT="$PGSSLROOTCERT" PGPASSWORD="$PGPASSWORD" ' +
      "psql -At -c \"select 'pg-vars:' || current_user || ':' || inet_server_port()\"";
    const result = await bed.lakebase(['exec', '--', 'sh', '-c', script], { cwd, env: bed.env() });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines.slice(0, 2)).toEqual([bed.emulator.user, `${bed.emulator.user}|databricks_postgres|verify-full`]);
    expect(lines[2]).toMatch(new RegExp(`^pg-vars:${bed.emulator.user.replace('.', '\\.')}:\\d*$`));
  });

  it("returns the child's exit code", async () => {
    const result = await bed.lakebase(['exec', '--', 'sh', '-c', 'exit 7'], { cwd, env: bed.env() });
    expect(result.code).toBe(7);
  });

  it('fails clearly for an unknown command', async () => {
    const result = await bed.lakebase(['exec', '--', 'no-such-tool-xyz'], { cwd, env: bed.env() });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('no-such-tool-xyz: command not found. [LAKEBASE_COMMAND_NOT_FOUND]');
  });
});

describe('lakebase psql', () => {
  it('connects with the token in the environment, not on the command line', async () => {
    // No password or URL is passed as an argument: psql finds everything in PG* variables.
    const result = await bed.lakebase(['psql', '--', '-At', '-c', 'select 40 + 2'], { cwd, env: bed.env() });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('42\n');
  });

  it("propagates psql's exit code", async () => {
    const result = await bed.lakebase(['psql', '--', '-v', 'ON_ERROR_STOP=1', '-c', 'select nope'], {
      cwd,
      env: bed.env(),
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('column "nope" does not exist');
  });

  it('says how to install psql when it is not on PATH', async () => {
    const emptyPath = await mkdtemp(path.join(os.tmpdir(), 'lakebase-no-psql-'));
    const result = await bed.lakebase(['psql'], { cwd, env: bed.env('provisioned', { PATH: emptyPath }) });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^error: psql is not installed \(not found on PATH\)\. \[LAKEBASE_COMMAND_NOT_FOUND\]\nfix: Install/,
    );
  });
});

describe('errors from below the library', () => {
  it('a PostgreSQL login error still gets a code and a next step', async () => {
    const result = await bed.lakebase(['tables'], {
      cwd,
      env: bed.env('provisioned', { PGUSER: 'someone-else@example.com' }),
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^error: .*someone-else@example\.com.* \[LAKEBASE_(ROLE_NOT_FOUND|LOGIN_FAILED)\]\nfix: Run `lakebase doctor`/,
    );
    bed.assertNoSecrets(result.stderr);
  });
});

describe('--help', () => {
  const commands = [
    ['configure'],
    ['doctor'],
    ['token'],
    ['exec'],
    ['psql'],
    ['tables'],
    ['grant'],
    ['migrate'],
    ['migrate', 'up'],
    ['migrate', 'down'],
    ['migrate', 'status'],
    ['migrate', 'history'],
    ['migrate', 'create'],
    ['emulator'],
  ];
  for (const command of commands) {
    it(`lakebase ${command.join(' ')} --help shows an example`, async () => {
      const result = await bed.lakebase([...command, '--help'], { cwd, env: bed.env() });
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/Example/);
      expect(result.stdout).toContain('$ lakebase');
    });
  }

  it('usage errors are one line with a code and the --help to read, not the whole help', async () => {
    const unknown = await bed.lakebase(['migrate', 'sideways'], { cwd, env: bed.env() });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe(
      "error: unknown command 'sideways' [LAKEBASE_USAGE_ERROR]\n" +
        'fix: Run `lakebase migrate --help` for its options and an example.\n',
    );
    const option = await bed.lakebase(['tables', '--colour'], { cwd, env: bed.env() });
    expect(option.code).toBe(1);
    expect(option.stderr).toBe(
      "error: unknown option '--colour' [LAKEBASE_USAGE_ERROR]\n" +
        'fix: Run `lakebase tables --help` for its options and an example.\n',
    );
  });
});
