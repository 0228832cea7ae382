/**
 * `lakebase configure` with a resource already named in the environment or .env.local (as after `lakebase emulator`
 * printed its exports): that is the choice, not LAKEBASE_RESOURCE_AMBIGUOUS; `--check-only --instance X` checks X.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBed, type TestBed } from './fixture.js';

let bed: TestBed;

beforeAll(async () => {
  bed = await startTestBed();
});
afterAll(async () => {
  await bed?.stop();
});

/** The emulator's exports, as a user pastes them into .env.local; the workspace token stays in the environment. */
function emulatorExports(tier: 'provisioned' | 'autoscaling'): string {
  const { DATABRICKS_TOKEN: _secret, ...rest } = bed.emulator.env(tier);
  return Object.entries(rest)
    .map(([name, value]) => `export ${name}=${value}\n`)
    .join('');
}

describe('lakebase configure with a resource already known', () => {
  it('LAKEBASE_INSTANCE_NAME in .env.local is the choice, although the workspace has several resources', async () => {
    const dir = await bed.newDir();
    await writeFile(path.join(dir, '.env.local'), emulatorExports('provisioned'));
    // Without it, the same workspace is ambiguous: the test bed has an instance and an endpoint.
    const ambiguous = await bed.lakebase(['configure', '--yes'], { cwd: await bed.newDir(), env: bed.authOnlyEnv() });
    expect(ambiguous.stderr).toContain('[LAKEBASE_RESOURCE_AMBIGUOUS]');

    const result = await bed.lakebase(['configure', '--yes', '--json'], { cwd: dir, env: bed.authOnlyEnv() });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      tier: 'provisioned',
      source: 'LAKEBASE_INSTANCE_NAME',
      settings: { LAKEBASE_INSTANCE_NAME: bed.emulator.instanceName, LAKEBASE_PORT: String(bed.emulator.pgPort) },
    });
    const text = await readFile(path.join(dir, '.env.local'), 'utf8');
    expect(text).toContain(`LAKEBASE_INSTANCE_NAME=${bed.emulator.instanceName}\n`);
    bed.assertNoSecrets(text + result.stdout);
  });

  it('LAKEBASE_ENDPOINT in the environment is the choice; --instance still wins over it', async () => {
    const env = bed.authOnlyEnv({ LAKEBASE_ENDPOINT: bed.emulator.endpoint });
    const fromEnv = await bed.lakebase(['configure', '--yes', '--json'], { cwd: await bed.newDir(), env });
    expect(fromEnv.stderr).toBe('');
    expect(JSON.parse(fromEnv.stdout)).toMatchObject({
      tier: 'autoscaling',
      source: 'LAKEBASE_ENDPOINT',
      settings: { LAKEBASE_ENDPOINT: bed.emulator.endpoint },
    });
    const dir = await bed.newDir();
    const flag = await bed.lakebase(['configure', '--yes', '--json', '--instance', bed.emulator.instanceName], {
      cwd: dir,
      env,
    });
    expect(flag.stderr).toBe('');
    expect(JSON.parse(flag.stdout)).toMatchObject({ tier: 'provisioned', source: '--instance' });
  });

  it('both set, or a malformed one, fail before any request and write nothing', async () => {
    const dir = await bed.newDir();
    const both = await bed.lakebase(['configure', '--yes'], {
      cwd: dir,
      env: bed.authOnlyEnv({
        LAKEBASE_INSTANCE_NAME: bed.emulator.instanceName,
        LAKEBASE_ENDPOINT: bed.emulator.endpoint,
      }),
    });
    expect(both.code).toBe(1);
    expect(both.stderr).toMatch(
      /LAKEBASE_INSTANCE_NAME and LAKEBASE_ENDPOINT are both set\. \[LAKEBASE_CONFIG_INVALID\]/,
    );
    const malformed = await bed.lakebase(['configure', '--yes'], {
      cwd: dir,
      env: bed.authOnlyEnv({ LAKEBASE_ENDPOINT: 'projects/only-a-project' }),
    });
    expect(malformed.code).toBe(1);
    expect(malformed.stderr).toContain('[LAKEBASE_CONFIG_INVALID]');
    expect(malformed.stderr).toContain('LAKEBASE_ENDPOINT');
    await expect(readFile(path.join(dir, '.env.local'), 'utf8')).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('--check-only --instance X checks X, not what .env.local configures, and writes nothing', async () => {
    const dir = await bed.newDir();
    const configured = emulatorExports('autoscaling');
    await writeFile(path.join(dir, '.env.local'), configured);

    const good = await bed.lakebase(['configure', '--check-only', '--instance', bed.emulator.instanceName], {
      cwd: dir,
      env: bed.authOnlyEnv(),
    });
    expect(good.stderr).toBe('');
    expect(good.code).toBe(0);
    expect(good.stdout).toContain(`Configured: provisioned instance ${bed.emulator.instanceName}`);
    expect(good.stdout).toContain('All checks passed.');

    const unknown = await bed.lakebase(['configure', '--check-only', '--instance', 'no-such-db', '--json'], {
      cwd: dir,
      env: bed.authOnlyEnv(),
    });
    expect(unknown.code).toBe(1);
    expect(JSON.parse(unknown.stdout)).toMatchObject({ works: false, instanceName: 'no-such-db' });
    expect(unknown.stderr).toContain('no-such-db');
    expect(await readFile(path.join(dir, '.env.local'), 'utf8')).toBe(configured);
  });
});
