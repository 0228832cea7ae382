/** The read pool against the emulator: reads on a read-only endpoint, the coded write error, fallback, one token. */
import type { Emulator } from '@lakebase-kit/emulator';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  createLakebasePool,
  createReadPool,
  isLakebaseError,
  type LakebasePool,
  type LakebasePoolOptions,
  type ReadFallbackEvent,
} from '../src/index.js';
import { startWarmEmulator } from './helpers/emulator.js';

let emu: Emulator;
const pools: LakebasePool[] = [];
const table = `read_pool_${process.pid}_${Math.floor(Math.random() * 1e6)}`;
const warnings: string[] = [];
const logger = { warn: (message: string) => warnings.push(message) };

async function api(method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${emu.databricksHost}/api/2.0/postgres/${path}`, {
    method,
    headers: { Authorization: `Bearer ${emu.databricksToken}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return (await res.json()) as Record<string, unknown>;
}

const branch = () => emu.endpoint.replace(/\/endpoints\/[^/]+$/, '');

function writePool(env: Record<string, string> = {}, options: LakebasePoolOptions = {}): LakebasePool {
  const pool = createLakebasePool({ env: { ...emu.env('autoscaling'), ...env }, logger, ...options });
  pools.push(pool);
  return pool;
}

const credentialRequests = () => emu.workspace.stats().credentialRequests.autoscaling;

beforeAll(async () => {
  emu = await startWarmEmulator();
  const pool = writePool();
  await pool.query(`create table ${table} (id int primary key, note text)`);
  await pool.query(`insert into ${table} values (1, 'one')`);
});
afterAll(async () => {
  await writePool()
    .query(`drop table if exists ${table}`)
    .catch(() => {});
  await Promise.all(pools.splice(0).map((p) => p.end()));
  await emu?.stop();
});
afterEach(() => {
  warnings.length = 0;
});

describe('read pool without a read host', () => {
  it('fails with LAKEBASE_READ_HOST_UNAVAILABLE when readFallback is fail', async () => {
    const reads = createReadPool(writePool({ LAKEBASE_READ_FALLBACK: 'fail' }));
    await expect(reads.query('select 1')).rejects.toMatchObject({ code: 'LAKEBASE_READ_HOST_UNAVAILABLE' });
  });

  it('falls back to the primary by default, with a warning and a read-fallback event', async () => {
    const reads = createReadPool(writePool());
    const events: ReadFallbackEvent[] = [];
    reads.on('read-fallback', (event: ReadFallbackEvent) => events.push(event));
    const { rows } = await reads.query(`select note, current_setting('transaction_read_only') as ro from ${table}`);
    expect(rows).toEqual([{ note: 'one', ro: 'on' }]); // a read-only session on the primary (issue 22, finding 3)
    expect(events).toHaveLength(1);
    expect(events[0]?.error.code).toBe('LAKEBASE_READ_HOST_UNAVAILABLE');
    expect(reads.fallingBack).toBe(true);
    expect(warnings).toContain('read host failed; sending reads to the primary');
  });
});

describe('read pool on a read-only endpoint', () => {
  beforeAll(async () => {
    const created = await api('POST', `${branch()}/endpoints?endpoint_id=reader`, {
      spec: { endpoint_type: 'ENDPOINT_TYPE_READ_ONLY' },
    });
    // Until the create operation reports done (the emulator's operations take 100 ms), polled, bounded.
    await vi.waitFor(async () => expect((await api('GET', created.name as string)).done).toBe(true), {
      timeout: 5000,
      interval: 20,
    });
  });
  afterAll(async () => {
    await api('DELETE', `${branch()}/endpoints/reader`);
  });

  it('reads through status.hosts.read_only_host in read-only sessions, with one credential request for both pools', async () => {
    const before = credentialRequests();
    const pool = writePool();
    const reads = createReadPool(pool);
    await pool.query(`insert into ${table} values (2, 'two')`);
    const { rows } = await reads.query(
      `select count(*)::int as n, current_setting('transaction_read_only') as ro from ${table}`,
    );
    expect(rows).toEqual([{ n: 2, ro: 'on' }]);
    const hosts = ((await api('GET', emu.endpoint)).status as { hosts: Record<string, string> }).hosts;
    expect((await reads.lakebase.target()).host).toBe(hosts.read_only_host);
    expect((await pool.lakebase.target()).host).toBe(hosts.host);
    expect(credentialRequests() - before).toBe(1);

    // A rotation: one new token serves new connections of both pools.
    await pool.lakebase.credentials?.forceRefresh();
    const held = await Promise.all([...[1, 2, 3].map(() => pool.connect()), ...[1, 2, 3].map(() => reads.connect())]);
    for (const client of held) client.release();
    expect(pool.totalCount).toBeGreaterThanOrEqual(3);
    expect(reads.totalCount).toBeGreaterThanOrEqual(3);
    expect(credentialRequests() - before).toBe(2);
    expect(reads.fallingBack).toBe(false);
  });

  it('a write on the read pool fails with LAKEBASE_READ_POOL_WRITE, through pool.query and a checked-out client', async () => {
    const reads = createReadPool(writePool());
    const viaPool = await reads.query(`insert into ${table} values (3, 'three')`).catch((e: unknown) => e);
    expect(isLakebaseError(viaPool, 'LAKEBASE_READ_POOL_WRITE')).toBe(true);
    expect((viaPool as Error).message).toMatch(/You used the read pool for a write/);
    expect(((viaPool as Error).cause as { code: string }).code).toBe('25006');

    const client = await reads.connect();
    try {
      await expect(client.query(`update ${table} set note = 'x'`)).rejects.toMatchObject({
        code: 'LAKEBASE_READ_POOL_WRITE',
      });
      // The read host is a hot standby, as on Lakebase: the session default may be changed, and changes nothing.
      await client.query('set default_transaction_read_only = off');
      await expect(client.query(`update ${table} set note = 'x'`)).rejects.toMatchObject({
        code: 'LAKEBASE_READ_POOL_WRITE',
      });
    } finally {
      client.release(true);
    }
  });

  it('falls back to the primary when the read host is unreachable, and fails fast with readFallback=fail', async () => {
    const unreachable = { LAKEBASE_READ_HOST: '127.0.0.2', LAKEBASE_READ_CONNECT_TIMEOUT_MS: '1000' };
    const reads = createReadPool(writePool(unreachable));
    const events: ReadFallbackEvent[] = [];
    reads.on('read-fallback', (event: ReadFallbackEvent) => events.push(event));
    const { rows } = await reads.query(`select count(*)::int as n from ${table}`);
    expect(rows[0]?.n).toBeGreaterThanOrEqual(1);
    expect(events).toHaveLength(1);
    expect(events[0]?.error.code).toBe('LAKEBASE_READ_HOST_UNAVAILABLE');
    // While falling back, checkouts go straight to the primary (no second attempt on the dead host).
    await reads.query('select 1');
    expect(events).toHaveLength(1);

    // Fails on the first refusal: no fallback to the primary (no event), the read host's error, not a later one.
    const strict = createReadPool(writePool({ ...unreachable, LAKEBASE_READ_FALLBACK: 'fail' }));
    const strictEvents: ReadFallbackEvent[] = [];
    strict.on('read-fallback', (event: ReadFallbackEvent) => strictEvents.push(event));
    await expect(strict.query('select 1')).rejects.toMatchObject({ code: 'LAKEBASE_READ_HOST_UNAVAILABLE' });
    expect(strictEvents).toEqual([]);
  });
});
