/** createLakebasePool on a branch: LAKEBASE_BRANCH moves the same code from production to a developer's copy. */
import type { Emulator } from '@lakebase-kit/emulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLakebasePool, LakebaseBranches } from '../src/index.js';
import { startWarmEmulator } from './helpers/emulator.js';

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startWarmEmulator();
});
afterAll(async () => {
  await emulator?.stop();
});

describe('createLakebasePool with LAKEBASE_BRANCH', () => {
  it('connects to the branch endpoint and host; production is untouched', async () => {
    const env = emulator.env('autoscaling');
    const production = createLakebasePool({ env });
    await production.query(`create table shared (v text); insert into shared values ('production')`);
    const progress: number[] = [];
    const created = await new LakebaseBranches({ env }).create('dev-pool', {
      expiry: { ttlSeconds: 3600 },
      wait: { pollMs: 10, onProgress: (p) => progress.push(p.polls) },
    });
    expect(created.branch).toMatchObject({ id: 'dev-pool', isDefault: false, state: 'READY' });
    expect(created.host).toMatch(/\.database\.localhost$/);
    expect(progress[0]).toBe(1); // the Operation was still running at the first poll (its copy takes >= 100 ms)

    // PGHOST=localhost in the environment belongs to production: the branch's own host is looked up instead.
    const onBranch = createLakebasePool({ env: { ...env, LAKEBASE_BRANCH: 'dev-pool' } });
    try {
      await onBranch.query(`insert into shared values ('dev-pool')`);
      expect(onBranch.lakebase.resolvedTarget).toMatchObject({ endpoint: created.endpoint, host: created.host });
      const branchRows = await onBranch.query('select v from shared order by v');
      expect(branchRows.rows.map((r) => r.v)).toEqual(['dev-pool', 'production']);
      const productionRows = await production.query('select v from shared order by v');
      expect(productionRows.rows.map((r) => r.v)).toEqual(['production']);
    } finally {
      await Promise.all([onBranch.end(), production.end()]);
    }
  });
});
