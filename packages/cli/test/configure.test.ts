/** `lakebase configure`: writes .env.local for both tiers and from databricks.yml, checks, and fails clearly. */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInstance, startTestBed, type TestBed } from './fixture.js';
import { BIN } from './helpers.js';

let bed: TestBed;

beforeAll(async () => {
  bed = await startTestBed({ instanceStartMs: 1500 });
});
afterAll(async () => {
  await bed?.stop();
});

async function envLocal(dir: string): Promise<string> {
  return readFile(path.join(dir, '.env.local'), 'utf8');
}

describe('lakebase configure', () => {
  it('Provisioned from --instance: writes the five settings, keeps other lines, mode 0600, gitignored, no token', async () => {
    const dir = await bed.newDir();
    const before = '# my app\nAPI_KEY=keep-me\nPGHOST=stale.example.com\n\nexport FEATURE_FLAG="on # not a comment"\n';
    await writeFile(path.join(dir, '.env.local'), before, { mode: 0o644 });
    await writeFile(path.join(dir, '.gitignore'), 'node_modules\ndist'); // no trailing newline on purpose
    const { emulator } = bed;
    const result = await bed.lakebase(['configure', '--instance', emulator.instanceName, '--yes'], {
      cwd: dir,
      env: bed.authOnlyEnv(),
    });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Login verified');

    const text = await envLocal(dir);
    expect(text).toBe(
      '# my app\nAPI_KEY=keep-me\nPGHOST=localhost\n\nexport FEATURE_FLAG="on # not a comment"\n\n' +
        '# Lakebase (written by `lakebase configure`)\n' +
        `LAKEBASE_HOST=localhost\nLAKEBASE_PORT=${emulator.pgPort}\nLAKEBASE_DATABASE=databricks_postgres\n` +
        `LAKEBASE_INSTANCE_NAME=${emulator.instanceName}\n`,
    );
    expect((await stat(path.join(dir, '.env.local'))).mode & 0o777).toBe(0o600);
    expect(await readFile(path.join(dir, '.gitignore'), 'utf8')).toBe('node_modules\ndist\n.env.local\n');
    bed.assertNoSecrets(text + result.stdout + result.stderr);

    // Configured: --check-only passes, reading .env.local; running configure again changes nothing.
    const check = await bed.lakebase(['configure', '--check-only'], { cwd: dir, env: bed.authOnlyEnv() });
    expect(check.code).toBe(0);
    expect(check.stdout).toContain(`instance ${emulator.instanceName}`);
    expect(check.stdout).toContain('All checks passed.');
    const again = await bed.lakebase(['configure', '--instance', emulator.instanceName, '--json'], {
      cwd: dir,
      env: bed.authOnlyEnv(),
    });
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ created: false, gitignoreUpdated: false, tier: 'provisioned' });
    expect(await envLocal(dir)).toBe(text);
  });

  it('Autoscaling from --endpoint: writes LAKEBASE_ENDPOINT and drops a stale LAKEBASE_INSTANCE_NAME', async () => {
    const dir = await bed.newDir();
    await writeFile(path.join(dir, '.env.local'), 'LAKEBASE_INSTANCE_NAME=old-instance\nOTHER=1\n');
    const result = await bed.lakebase(['configure', '--endpoint', bed.emulator.endpoint, '--json'], {
      cwd: dir,
      env: bed.authOnlyEnv(),
    });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const output = JSON.parse(result.stdout);
    expect(output).toMatchObject({ created: false, gitignoreUpdated: true, tier: 'autoscaling' });
    expect(output.settings).toEqual({
      PGHOST: 'localhost',
      LAKEBASE_HOST: 'localhost',
      LAKEBASE_PORT: String(bed.emulator.pgPort),
      LAKEBASE_DATABASE: 'databricks_postgres',
      LAKEBASE_ENDPOINT: bed.emulator.endpoint,
    });
    const text = await envLocal(dir);
    expect(text).not.toContain('LAKEBASE_INSTANCE_NAME');
    expect(text).toContain('OTHER=1\n');
    expect(text).toContain(`LAKEBASE_ENDPOINT=${bed.emulator.endpoint}\n`);
    bed.assertNoSecrets(text + result.stdout);
  });

  it('from databricks.yml: the default target, with var and resources references resolved, waiting while STARTING', async () => {
    const dir = await bed.newDir();
    await writeFile(
      path.join(dir, 'databricks.yml'),
      `bundle:
  name: my-app
variables:
  suffix:
    default: prod
resources:
  database_instances:
    lakebase:
      name: app-lakebase-\${var.suffix}
      capacity: CU_1
  apps:
    app:
      name: my-app
      resources:
        - name: database
          database:
            instance_name: \${resources.database_instances.lakebase.name}
            database_name: databricks_postgres
            permission: CAN_CONNECT_AND_CREATE
targets:
  dev:
    default: true
    variables:
      suffix: emulator
  prod: {}
`,
    );
    // The dev target names "app-lakebase-emulator": create it, still STARTING, so configure must wait for it.
    await createInstance(bed.emulator, 'app-lakebase-emulator');
    const result = await bed.lakebase(['configure', '--json'], { cwd: dir, env: bed.authOnlyEnv() });
    // Its host is instance-<uid>.database.localhost, which the emulator serves by SNI and the client resolves itself.
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const output = JSON.parse(result.stdout);
    expect(output.source).toBe('databricks.yml (target dev)');
    expect(output.settings.LAKEBASE_INSTANCE_NAME).toBe('app-lakebase-emulator');
    expect(output.settings.PGHOST).toMatch(/^instance-[0-9a-f-]+\.database\.localhost$/);

    const unknownTarget = await bed.lakebase(['configure', '--target', 'staging'], {
      cwd: dir,
      env: bed.authOnlyEnv(),
    });
    expect(unknownTarget.code).toBe(1);
    expect(unknownTarget.stderr).toContain("Target 'staging' is not defined");
    expect(unknownTarget.stderr).toContain('dev, prod');
  });

  it('--check-only on an empty environment exits 1 with LAKEBASE_NOT_CONFIGURED and writes nothing', async () => {
    const dir = await bed.newDir();
    const result = await bed.lakebase(['configure', '--check-only'], { cwd: dir, env: bed.authOnlyEnv() });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^error: .*not configured.*\[LAKEBASE_NOT_CONFIGURED\]\nfix: .+\n$/);
    await expect(stat(path.join(dir, '.env.local'))).rejects.toThrow();
  });

  it('several resources and no terminal: fails naming every choice', async () => {
    const dir = await bed.newDir();
    const result = await bed.lakebase(['configure'], { cwd: dir, env: bed.authOnlyEnv() });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('[LAKEBASE_RESOURCE_AMBIGUOUS]');
    expect(result.stderr).toContain(`--instance ${bed.emulator.instanceName}`);
    expect(result.stderr).toContain(`--endpoint ${bed.emulator.endpoint}`);
    await expect(stat(path.join(dir, '.env.local'))).rejects.toThrow();
  });

  it.skipIf(!existsSync('/usr/bin/script'))('on a terminal: lists the choices, asks which one, confirms', async () => {
    const dir = await bed.newDir();
    // util-linux `script` gives the CLI a pseudo-terminal, so it behaves as in a developer's shell.
    const child = spawn('script', ['-qec', `${process.execPath} ${BIN} configure`, '/dev/null'], {
      cwd: dir,
      env: bed.authOnlyEnv(),
    });
    let output = '';
    let asked = false;
    let confirmed = false;
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const endpointChoice = /(\d+)\) endpoint /.exec(output)?.[1];
      if (!asked && output.includes('Which one?') && endpointChoice) {
        asked = true;
        child.stdin.write(`${endpointChoice}\n`);
      }
      if (!confirmed && output.includes('[Y/n]')) {
        confirmed = true;
        child.stdin.write('\n');
      }
    });
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
    expect(output).toMatch(new RegExp(`\\d\\) instance ${bed.emulator.instanceName} \\(workspace, AVAILABLE\\)`));
    expect(output).toMatch(new RegExp(`\\d\\) endpoint ${bed.emulator.endpoint} \\(workspace\\)`));
    expect(output).toContain('Write 5 settings to');
    expect(output).toContain('Verifying a login...'); // progress, on a terminal
    expect(await envLocal(dir)).toContain(`LAKEBASE_ENDPOINT=${bed.emulator.endpoint}\n`);
  });

  it.skipIf(!existsSync('/usr/bin/script'))('on a terminal in CI (CI=true): no progress lines', async () => {
    const dir = await bed.newDir();
    const command = `${process.execPath} ${BIN} configure --endpoint ${bed.emulator.endpoint} --yes`;
    const child = spawn('script', ['-qec', command, '/dev/null'], { cwd: dir, env: bed.authOnlyEnv({ CI: 'true' }) });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
    expect(await envLocal(dir)).toContain(`LAKEBASE_ENDPOINT=${bed.emulator.endpoint}\n`);
    expect(output).not.toContain('Verifying a login');
    expect(output).not.toContain('checking that it is running');
  });

  it("rejects an instance name with '_' before any request, suggesting the valid name", async () => {
    const dir = await bed.newDir();
    const result = await bed.lakebase(['configure', '--instance', 'my_app_db'], { cwd: dir, env: bed.authOnlyEnv() });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("Invalid instance name 'my_app_db' (--instance): it contains '_'");
    expect(result.stderr).toContain('[LAKEBASE_CONFIG_INVALID]');
    expect(result.stderr).toContain("fix: Did you mean 'my-app-db'?");
  });

  it("an '_' in databricks.yml or in LAKEBASE_INSTANCE_NAME fails at configure time, not as a DNS error later", async () => {
    const dir = await bed.newDir();
    await writeFile(
      path.join(dir, 'databricks.yml'),
      `bundle:
  name: my-app
resources:
  database_instances:
    lakebase:
      name: my_app_db
      capacity: CU_1
targets:
  dev:
    default: true
`,
    );
    const fromBundle = await bed.lakebase(['configure', '--yes'], { cwd: dir, env: bed.authOnlyEnv() });
    expect(fromBundle.code).toBe(1);
    expect(fromBundle.stderr).toContain("Invalid instance name 'my_app_db' (databricks.yml): it contains '_'");
    expect(fromBundle.stderr).toContain("fix: Did you mean 'my-app-db'?");
    await expect(readFile(path.join(dir, '.env.local'), 'utf8')).rejects.toMatchObject({ code: 'ENOENT' });

    const fromEnv = await bed.lakebase(['configure', '--check-only'], {
      cwd: await bed.newDir(),
      env: bed.authOnlyEnv({ LAKEBASE_INSTANCE_NAME: 'my_app_db' }),
    });
    expect(fromEnv.code).toBe(1);
    expect(fromEnv.stderr).toMatch(
      /^error: Invalid instance name 'my_app_db' \(LAKEBASE_INSTANCE_NAME\): it contains '_'.* \[LAKEBASE_CONFIG_INVALID\]/,
    );
    expect(fromEnv.stderr).not.toMatch(/ENOTFOUND|LAKEBASE_DNS_FAILED/);
  });

  it('an unknown instance names the ones that exist; a STOPPED one says how to start it; nothing is written', async () => {
    const dir = await bed.newDir();
    const unknown = await bed.lakebase(['configure', '--instance', 'no-such-db'], { cwd: dir, env: bed.authOnlyEnv() });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("Instance 'no-such-db' does not exist");
    expect(unknown.stderr).toContain(bed.emulator.instanceName);
    expect(unknown.stderr).toContain('[LAKEBASE_RESOURCE_NOT_FOUND]');

    bed.emulator.workspace.setInstanceState(bed.emulator.instanceName, 'STOPPED');
    try {
      const stopped = await bed.lakebase(['configure', '--instance', bed.emulator.instanceName], {
        cwd: dir,
        env: bed.authOnlyEnv(),
      });
      expect(stopped.code).toBe(1);
      expect(stopped.stderr).toContain('is STOPPED. [LAKEBASE_INSTANCE_NOT_READY]');
      expect(stopped.stderr).toContain('update-database-instance');
    } finally {
      bed.emulator.workspace.setInstanceState(bed.emulator.instanceName, 'AVAILABLE');
    }
    await expect(stat(path.join(dir, '.env.local'))).rejects.toThrow();
  });

  it('not authenticated: says how (databricks auth login / DATABRICKS_HOST)', async () => {
    const dir = await bed.newDir();
    const result = await bed.lakebase(['configure'], {
      cwd: dir,
      env: bed.authOnlyEnv({ DATABRICKS_HOST: undefined, DATABRICKS_TOKEN: undefined }),
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('[LAKEBASE_AUTH_NOT_CONFIGURED]');
    expect(result.stderr).toMatch(/DATABRICKS_HOST|databricks auth login/);
  });

  it('an unreadable .env.local is a clear error', async () => {
    const dir = await bed.newDir();
    // A directory in its place is unreadable even for root (a mode-000 file is not).
    await mkdir(path.join(dir, '.env.local'));
    const result = await bed.lakebase(['configure', '--check-only'], { cwd: dir, env: bed.authOnlyEnv() });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: Cannot read .*\.env\.local.* \[LAKEBASE_CONFIG_INVALID\]\nfix: /);
  });
});
