/**
 * `lakebase endpoint` against the emulator (default storage, so a read-only endpoint has its hot standby): settings
 * kept and reported, sizes outside Lakebase's rules refused before any request (seen through a counting proxy), and
 * a suspended endpoint woken by the next command, which says "waking the endpoint" while the pool retries.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { withClient } from '@lakebase-kit/client';
import { type Emulator, startEmulator } from '@lakebase-kit/emulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CountingProxy } from '../../../test/helpers/counting-proxy.js';
import { BIN, expectCodedFailure, runCommand } from './helpers.js';

let emulator: Emulator;
let proxy: CountingProxy;
let home: string;
let dir: string;

beforeAll(async () => {
  emulator = await startEmulator({ onNotice: () => {} });
  proxy = await new CountingProxy(emulator.databricksHost).start();
  home = await mkdtemp(path.join(os.tmpdir(), 'lakebase-cli-endpoints-home-'));
  dir = await mkdtemp(path.join(os.tmpdir(), 'lakebase-cli-endpoints-cwd-'));
});
afterAll(async () => {
  await proxy?.stop();
  await emulator?.stop();
  for (const d of [home, dir]) if (d) await rm(d, { recursive: true, force: true });
});

function env(): NodeJS.ProcessEnv {
  return {
    HOME: home,
    PATH: process.env.PATH,
    LANG: 'C.UTF-8',
    ...emulator.env('autoscaling'),
    DATABRICKS_HOST: proxy.url,
  };
}
const lakebase = (...args: string[]) => runCommand(process.execPath, [BIN, ...args], { cwd: dir, env: env() });
async function ok(...args: string[]): Promise<string> {
  const result = await lakebase(...args);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return result.stdout;
}

describe('lakebase endpoint', () => {
  it('list shows the primary endpoint; update keeps and reports min/max CU and the suspend timeout', async () => {
    const listed = JSON.parse(await ok('endpoint', 'list', '--json'));
    expect(listed).toEqual([
      expect.objectContaining({ id: 'primary', type: 'read-write', state: 'ACTIVE', host: emulator.pgHost }),
    ]);
    const updated = JSON.parse(
      await ok('endpoint', 'update', '--min-cu', '0.5', '--max-cu', '4', '--suspend-after', '5m', '--json'),
    );
    expect(updated).toMatchObject({ id: 'primary', minCu: 0.5, maxCu: 4, suspendAfterSeconds: 300, noSuspend: false });
    const never = JSON.parse(await ok('endpoint', 'update', 'primary', '--no-suspend', '--json'));
    expect(never).toMatchObject({ noSuspend: true, suspendAfterSeconds: null });
    const text = await ok('endpoint', 'list');
    expect(text).toMatch(/^primary\s+read-write\s+ACTIVE\s+0\.5-4 CU never suspends/m);
  });

  it('a value outside Lakebase’s range exits 1 with LAKEBASE_CONFIG_INVALID and sends no request', async () => {
    for (const args of [
      ['--min-cu', '0.25'],
      ['--max-cu', '40'],
      ['--min-cu', '1', '--max-cu', '16'],
      ['--min-cu', '8', '--max-cu', '4'],
      ['--min-cu', '0x2'],
      ['--suspend-after', '30s'],
      ['--suspend-after', '8d'],
      ['--suspend-after', '5m', '--no-suspend'],
    ]) {
      const before = proxy.seen.length;
      const stderr = expectCodedFailure(await lakebase('endpoint', 'update', ...args), 'LAKEBASE_CONFIG_INVALID');
      expect(stderr).toMatch(/CU|suspend/i);
      expect(proxy.seen.slice(before)).toEqual([]);
    }
    const before = proxy.seen.length;
    expectCodedFailure(
      await lakebase('endpoint', 'create', 'replica', '--read-only', '--max-cu', '64'),
      'LAKEBASE_CONFIG_INVALID',
    );
    expect(proxy.seen.slice(before)).toEqual([]);
  });

  it('create --read-only serves its own host that refuses writes; delete removes it', async () => {
    const created = JSON.parse(
      await ok('endpoint', 'create', 'replica', '--read-only', '--min-cu', '1', '--max-cu', '2', '--json'),
    );
    expect(created).toMatchObject({ id: 'replica', type: 'read-only', minCu: 1, maxCu: 2 });
    expect(created.host).toMatch(/\.database\.localhost$/);
    const replicaEnv = {
      ...emulator.env('autoscaling'),
      LAKEBASE_ENDPOINT: created.name as string,
      PGHOST: created.host as string,
    };
    const refused = await withClient({ env: replicaEnv }, (client) =>
      client.query('create table written_on_replica (v int)').then(
        () => undefined,
        (error: { code?: string }) => error.code,
      ),
    );
    expect(refused).toBe('25006');
    expect((await ok('endpoint', 'delete', 'replica')).trim()).toBe('Deleted endpoint replica.');
    const listed = JSON.parse(await ok('endpoint', 'list', '--json')) as { id: string }[];
    expect(listed.map((e) => e.id)).toEqual(['primary']);
  });

  it('a suspended endpoint wakes on the next command, which says "waking the endpoint" and then succeeds', async () => {
    const suspended = await fetch(`${emulator.databricksHost}/__emulator/endpoints/suspend`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-lakebase-emulator': '1' },
      body: JSON.stringify({ endpoint: emulator.endpoint, wakeMs: 500 }),
    });
    expect(suspended.status).toBe(200);
    expect(JSON.parse(await ok('endpoint', 'list', '--json'))[0].state).toBe('IDLE');
    const result = await lakebase('tables', '--json');
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/^waking the endpoint: login refused \(57P03\), retrying in \d+ ms \(attempt 1\)$/m);
    expect(JSON.parse(result.stdout)).toEqual(expect.any(Array));
    expect(JSON.parse(await ok('endpoint', 'list', '--json'))[0].state).toBe('ACTIVE');
  });
});
