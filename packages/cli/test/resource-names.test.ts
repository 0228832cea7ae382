/**
 * Issue 22 finding 1 from the shell: every command that takes a resource name (branch, project via endpoint,
 * endpoint, instance, role) exits 1 with LAKEBASE_CONFIG_INVALID for a path-shaped or dotted name, before any
 * request. The built bin talks to the emulator through a counting proxy on loopback, so "no request reached the
 * workspace" is observed, not assumed; the emulator's own counters show no login and no credential either.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CountingProxy } from '../../../test/helpers/counting-proxy.js';
import { type CliResult, createInstance, startTestBed, type TestBed } from './fixture.js';

let bed: TestBed;
let proxy: CountingProxy;
let dir: string;
const VICTIM = 'victim-instance';

beforeAll(async () => {
  bed = await startTestBed();
  dir = await bed.newDir();
  await createInstance(bed.emulator, VICTIM);
  proxy = await new CountingProxy(bed.emulator.databricksHost).start();
});
afterAll(async () => {
  await proxy?.stop();
  await bed?.stop();
});

function env(tier: 'provisioned' | 'autoscaling', extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return bed.env(tier, { DATABRICKS_HOST: proxy.url, ...extra });
}

/** Runs the bin and asserts: exit 1, the code in stderr, and no request, login or credential anywhere. */
async function refusedOffline(
  args: string[],
  tier: 'provisioned' | 'autoscaling' = 'autoscaling',
  extra: Record<string, string> = {},
): Promise<CliResult> {
  const before = bed.emulator.stats();
  proxy.seen.length = 0;
  const result = await bed.lakebase(args, { cwd: dir, env: env(tier, extra) });
  const label = `lakebase ${args.map((a) => JSON.stringify(a)).join(' ')}`;
  expect(result.code, `${label}\n${result.stderr}`).toBe(1);
  expect(result.stderr, label).toContain('[LAKEBASE_CONFIG_INVALID]');
  expect(result.stderr, label).toContain('fix: ');
  expect(proxy.seen, label).toEqual([]);
  const after = bed.emulator.stats();
  expect(after.logins.attempted, label).toBe(before.logins.attempted);
  expect(after.credentialRequests.total, label).toBe(before.credentialRequests.total);
  return result;
}

async function instanceStatus(name: string): Promise<number> {
  const response = await fetch(`${bed.emulator.databricksHost}/api/2.0/database/instances/${name}`, {
    headers: { Authorization: `Bearer ${bed.emulator.databricksToken}` },
  });
  await response.arrayBuffer();
  return response.status;
}

/** Path-shaped and dotted names no resource of any kind may have. */
const HOSTILE = [
  `dev/../../database/instances/${VICTIM}`,
  'x/../../preview/scim/v2/Me',
  '..',
  '.',
  '%2e%2e',
  'a%2Fb',
  'dev\\..\\x',
  'dev.alice',
];

describe('the two attacks of the issue', () => {
  it(`branch delete "dev/../../database/instances/<instance>" exits 1 before any request; the instance survives`, async () => {
    expect(await instanceStatus(VICTIM)).toBe(200);
    await refusedOffline(['branch', 'delete', `dev/../../database/instances/${VICTIM}`]);
    expect(await instanceStatus(VICTIM)).toBe(200);
  });

  it('branch info "x/../../preview/scim/v2/Me" exits 1 before any request and prints no identity', async () => {
    const result = await refusedOffline(['branch', 'info', 'x/../../preview/scim/v2/Me']);
    expect(result.stdout).toBe('');
    expect(result.stdout + result.stderr).not.toContain(bed.emulator.user);
  });
});

describe('every command that takes a resource name refuses a path-shaped or dotted one offline', () => {
  const endpoint = (branch: string) => `projects/lakebase-emulator/branches/${branch}/endpoints/primary`;
  for (const bad of HOSTILE) {
    it(`branch names: ${JSON.stringify(bad)}`, async () => {
      await refusedOffline(['branch', 'info', bad]);
      await refusedOffline(['branch', 'delete', bad, '--allow-missing']);
      await refusedOffline(['branch', 'reset', bad]);
      await refusedOffline(['branch', 'create', bad]);
      await refusedOffline(['branch', 'create', 'fine-name', '--from', bad]);
      await refusedOffline(['tables', '--branch', bad]);
      await refusedOffline(['migrate', 'status', '--branch', bad]);
      await refusedOffline(['exec', '--branch', bad, '--', process.execPath, '-e', '0']);
      await refusedOffline(['token'], 'autoscaling', { LAKEBASE_BRANCH: bad });
      await refusedOffline(['configure', '--check-only', '--endpoint', endpoint('production'), '--branch', bad]);
    });

    it(`project, endpoint and instance names: ${JSON.stringify(bad)}`, async () => {
      await refusedOffline(['branch', 'list'], 'autoscaling', { LAKEBASE_ENDPOINT: endpoint(bad) });
      await refusedOffline(['branch', 'list'], 'autoscaling', {
        LAKEBASE_ENDPOINT: `projects/${bad}/branches/production/endpoints/primary`,
      });
      await refusedOffline(['configure', '--check-only', '--endpoint', endpoint(bad)]);
      await refusedOffline(['configure', '--check-only', '--instance', bad], 'provisioned');
      await refusedOffline(['token'], 'provisioned', { LAKEBASE_INSTANCE_NAME: bad });
    });
  }

  for (const bad of ['../x', 'a/b', '..', '.', '%2e%2e', 'jane%40example.com', 'a\u0001b', '', ' jane@example.com']) {
    it(`role names: ${JSON.stringify(bad)}`, async () => {
      await refusedOffline(['grant', '--to', bad]);
      // --members is a comma list whose items are trimmed (so ' jane@example.com' there is jane@example.com).
      if (bad.trim() === bad && bad !== '') {
        await refusedOffline(['grant', '--to', 'lakebase_app_users', '--members', `ann@example.com,${bad}`]);
      }
    });
  }

  it('a valid name still reaches the workspace through the same proxy (the harness can see requests)', async () => {
    proxy.seen.length = 0;
    const result = await bed.lakebase(['branch', 'info', 'production', '--json'], {
      cwd: dir,
      env: env('autoscaling'),
    });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ id: 'production', default: true });
    expect(proxy.seen).toEqual(['GET /api/2.0/postgres/projects/lakebase-emulator/branches/production']);
  });
});
