import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createLakebasePool, type LakebasePool, loadEnvFiles } from '../src/index.js';
import { resolvePerUserSettings } from '../src/toolkit.js';

/**
 * The client API's side of the one order: a script loads the env files with `loadEnvFiles(dir)` and passes the result
 * as `env`; `.env` < `.env.local` < the environment < explicit options, and an empty value is unset at every level.
 */
const URL = 'postgresql://postgres@127.0.0.1:5432/test';
const dirs: string[] = [];
const pools: LakebasePool[] = [];
afterEach(async () => {
  await Promise.all(pools.splice(0).map((pool) => pool.end()));
});
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

async function project(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'lakebase-client-env-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) await writeFile(path.join(dir, name), text);
  return dir;
}

function pool(options: Parameters<typeof createLakebasePool>[0]): LakebasePool {
  const created = createLakebasePool(options);
  pools.push(created);
  return created;
}

describe('loadEnvFiles + createLakebasePool', () => {
  it('.env.local beats .env, the environment beats both, explicit options beat all; blank is unset', async () => {
    const dir = await project({
      '.env': `LAKEBASE_PG_URL=${URL}\nDB_POOL_SIZE=7\nDB_MAX_OVERFLOW=7\nLAKEBASE_READ_FALLBACK=primary\nLAKEBASE_USER_POOL_MAX=9\n`,
      '.env.local':
        'DB_POOL_SIZE=1\nLAKEBASE_READ_FALLBACK=fail\nLAKEBASE_USER_POOL_MAX=3\nDB_POOL_RECYCLE_INTERVAL=\n',
    });
    const { env } = await loadEnvFiles(dir, { DB_MAX_OVERFLOW: '2', DB_POOL_SIZE: '', LAKEBASE_USER_POOL_MAX: '   ' });

    const fromFiles = pool({ env });
    // DB_POOL_SIZE: .env.local's 1 (the blank shell value does not hide it); DB_MAX_OVERFLOW: the shell's 2.
    expect(fromFiles.options.max).toBe(3);
    expect(fromFiles.lakebase.config.readScaling.readFallback).toBe('fail');
    // .env.local's blank DB_POOL_RECYCLE_INTERVAL is unset, so neither 0 nor '' but the default.
    expect(fromFiles.lakebase.config.pool.recycleIntervalSeconds).toBe(3600);
    expect(resolvePerUserSettings({}, env).maxConnectionsPerUser).toBe(3);

    const explicit = pool({ env, poolSize: 4, readFallback: 'primary' });
    expect(explicit.options.max).toBe(6);
    expect(explicit.lakebase.config.readScaling.readFallback).toBe('primary');
    expect(resolvePerUserSettings({ maxConnectionsPerUser: 5 }, env).maxConnectionsPerUser).toBe(5);
  });

  it('a blank variable is kept only where no file gives a value (a child process still sees it)', async () => {
    const dir = await project({ '.env.local': 'A=local\n' });
    const { env } = await loadEnvFiles(dir, { A: '', B: '' });
    expect(env).toMatchObject({ A: 'local', B: '' });
  });
});
