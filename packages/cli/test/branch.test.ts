/** `lakebase branch` and `--branch` against the emulator: real branch copies, coded errors, LAKEBASE_BRANCH. */
import { withClient } from '@lakebase-kit/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliResult, startTestBed, type TestBed } from './fixture.js';
import { expectCodedFailure } from './helpers.js';

let bed: TestBed;
let dir: string;

beforeAll(async () => {
  bed = await startTestBed();
  dir = await bed.newDir();
  await rows('production', 'create table notes (v text); insert into notes values ($$from production$$)');
});
afterAll(async () => {
  await bed?.stop();
});

function lakebase(...args: string[]): Promise<CliResult> {
  return bed.lakebase(args, { cwd: dir, env: bed.env('autoscaling') });
}
async function ok(...args: string[]): Promise<CliResult> {
  const result = await lakebase(...args);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  bed.assertNoSecrets(result.stdout);
  return result;
}
async function fails(code: string, ...args: string[]): Promise<string> {
  return expectCodedFailure(await lakebase(...args), code);
}
/** Runs SQL on a branch through the client with LAKEBASE_BRANCH, returning column v of the last statement. */
async function rows(branch: string, sql: string): Promise<string[]> {
  const env = { ...bed.env('autoscaling'), LAKEBASE_BRANCH: branch };
  return withClient({ env }, async (client) => {
    const result = await client.query(sql);
    const last = Array.isArray(result) ? result.at(-1) : result;
    return (last?.rows ?? []).map((r: { v: string }) => r.v);
  });
}
const notes = (branch: string) => rows(branch, 'select v from notes order by v');

describe('lakebase branch', () => {
  it('create copies production; LAKEBASE_BRANCH and --branch reach the copy; writes stay on their branch', async () => {
    const created = JSON.parse((await ok('branch', 'create', 'dev-alice', '--ttl', '7d', '--json')).stdout);
    expect(created).toMatchObject({
      branch: { id: 'dev-alice', parent: 'projects/lakebase-emulator/branches/production', protected: false },
      endpoint: 'projects/lakebase-emulator/branches/dev-alice/endpoints/primary',
    });
    expect(created.host).toMatch(/\.database\.localhost$/);
    expect(Date.parse(created.branch.expireTime) - Date.now()).toBeGreaterThan(6.9 * 86_400_000);

    expect(await notes('dev-alice')).toEqual(['from production']);
    await rows('dev-alice', `insert into notes values ('on dev-alice')`);
    expect(await notes('dev-alice')).toEqual(['from production', 'on dev-alice']);
    expect(await notes('production')).toEqual(['from production']);

    const tables = JSON.parse((await ok('tables', '--branch', 'dev-alice', '--json')).stdout);
    expect(tables.map((t: { name: string }) => t.name)).toContain('notes');
    const psql = await ok('psql', '--branch', 'dev-alice', '--', '-At', '-c', 'select count(*) from notes');
    expect(psql.stdout.trim()).toBe('2');

    const listed = JSON.parse((await ok('branch', 'list', '--json')).stdout);
    expect(listed.map((b: { id: string }) => b.id)).toEqual(['dev-alice', 'production']);
    expect(JSON.parse((await ok('branch', 'info', 'production', '--json')).stdout)).toMatchObject({ default: true });
  });

  it('reset returns a branch to its parent current data and says what is lost', async () => {
    await rows('production', `insert into notes values ('later on production')`);
    const reset = JSON.parse((await ok('branch', 'reset', 'dev-alice', '--json')).stdout);
    expect(reset.lost.join(' ')).toContain('every change made on the branch');
    expect(await notes('dev-alice')).toEqual(['from production', 'later on production']);
  });

  it('a branch of a branch, then delete and --allow-missing', async () => {
    await rows('dev-alice', `insert into notes values ('alice only')`);
    await ok('branch', 'create', 'alice-child', '--from', 'dev-alice');
    expect(await notes('alice-child')).toEqual(['alice only', 'from production', 'later on production']);
    expect((await ok('branch', 'delete', 'alice-child')).stdout).toContain('Deleted branch alice-child');
    await ok('branch', 'delete', 'alice-child', '--allow-missing');
    await fails('LAKEBASE_RESOURCE_NOT_FOUND', 'branch', 'delete', 'alice-child');
  });

  it('coded errors: name taken, unknown parent, protected, default, bad input', async () => {
    await fails('LAKEBASE_BRANCH_EXISTS', 'branch', 'create', 'dev-alice');
    await fails('LAKEBASE_RESOURCE_NOT_FOUND', 'branch', 'create', 'orphan', '--from', 'ghost');
    await ok('branch', 'create', 'keep', '--protected');
    await fails('LAKEBASE_BRANCH_PROTECTED', 'branch', 'delete', 'keep');
    await fails('LAKEBASE_BRANCH_PROTECTED', 'branch', 'reset', 'keep');
    await fails('LAKEBASE_BRANCH_PROTECTED', 'branch', 'delete', 'production');
    await fails('LAKEBASE_BRANCH_PROTECTED', 'branch', 'reset', 'production');
    await fails('LAKEBASE_CONFIG_INVALID', 'branch', 'create', 'Bad_Name');
    await fails('LAKEBASE_USAGE_ERROR', 'branch', 'create', 'x', '--ttl', 'soon');
    const past = await fails('LAKEBASE_API_ERROR', 'branch', 'create', 'past', '--at', '2020-01-01T00:00:00Z');
    expect(past).toContain('point in time');
    const ghost = await fails('LAKEBASE_RESOURCE_NOT_FOUND', 'tables', '--branch', 'ghost');
    expect(ghost).toContain('Branch projects/lakebase-emulator/branches/ghost does not exist');
    expect(ghost).not.toContain('warning');
  });
});
