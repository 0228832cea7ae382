/**
 * Idle and lifetime limits: Lakebase closes connections idle for 24 h and any connection after 3 days. Pooled
 * connections the server closes are discarded without an error reaching a caller, and the pool's defaults recycle
 * connections long before either limit. Reproduced by terminating the backends behind the emulator (real PostgreSQL
 * upstream: each session is its own backend).
 */
import type { Emulator } from '@lakebase-kit/emulator';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jitteredLifetime } from '../src/connection/pool.js';
import { createLakebasePool } from '../src/index.js';
import { startWarmEmulator } from './helpers/emulator.js';

const ADMIN = 'postgresql://postgres@127.0.0.1:5432/test';
let emu: Emulator;

beforeAll(async () => {
  emu = await startWarmEmulator({ upstream: ADMIN });
});
afterAll(async () => {
  await emu?.stop();
});

const admin = new pg.Client(ADMIN);
beforeAll(() => admin.connect());
afterAll(() => admin.end());

/** Terminates the backends; resolves as soon as the server has done it, before our pool can have noticed. */
async function terminate(pids: number[]): Promise<void> {
  await admin.query('select pg_terminate_backend(pid) from unnest($1::int[]) pid', [pids]);
}

describe('connections the server closes (idle timeout, lifetime limit)', () => {
  it('killed idle pooled backends and a checked-out client: the next queries all succeed, no error to callers', async () => {
    const warnings: string[] = [];
    const pool = createLakebasePool({
      env: { ...emu.env('provisioned'), DB_POOL_SIZE: '3', DB_MAX_OVERFLOW: '2' },
      logger: { warn: (message) => warnings.push(message) },
    });
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown) => uncaught.push(error);
    process.on('uncaughtException', onUncaught);
    try {
      // Three idle pooled connections and one checked out between its queries.
      const clients = await Promise.all([pool.connect(), pool.connect(), pool.connect(), pool.connect()]);
      const pids: number[] = [];
      for (const client of clients) pids.push((await client.query('select pg_backend_pid() as pid')).rows[0].pid);
      const held = clients.pop() as pg.PoolClient;
      for (const client of clients) client.release();
      expect(pool.idleCount).toBe(3);

      await terminate(pids); // what the 24 h idle timeout / 3 day limit does to them

      // At once, without waiting for the pool to notice: every query succeeds.
      const results = await Promise.allSettled(
        Array.from({ length: 12 }, (_, i) => pool.query('select $1::int as n', [i])),
      );
      expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
      expect(results.map((r) => (r as PromiseFulfilledResult<pg.QueryResult>).value.rows[0].n)).toEqual(
        Array.from({ length: 12 }, (_, i) => i),
      );

      // The held client's owner releases it (its connection is gone); the pool discards it, nothing is thrown.
      held.release();
      const after = await Promise.allSettled(Array.from({ length: 5 }, () => pool.query('select 1')));
      expect(after.filter((r) => r.status === 'rejected')).toEqual([]);
      expect(uncaught).toEqual([]);
      expect(pool.totalCount).toBeLessThanOrEqual(5);
    } finally {
      process.off('uncaughtException', onUncaught);
      await pool.end();
    }
  });
});

/** The platform's limits (Lakebase docs): connections idle for 24 h are closed, and any connection after 3 days. */
const PLATFORM_IDLE_LIMIT_S = 24 * 3600;
const PLATFORM_LIFETIME_LIMIT_S = 3 * 24 * 3600;

describe('the pool recycles connections well under the platform limits, as configured', () => {
  const lifetimesOf = (pool: { options: { maxLifetimeSeconds?: number } }) =>
    Array.from({ length: 200 }, () => pool.options.maxLifetimeSeconds as number);

  it('defaults: idle timeout 10 s, each new connection a lifetime jittered over 48-60 min', async () => {
    const pool = createLakebasePool({ env: emu.env('provisioned') });
    try {
      expect(pool.options.idleTimeoutMillis).toBe(10_000);
      // pg-pool reads maxLifetimeSeconds once per new connection; each read is a new jittered lifetime.
      const lifetimes = lifetimesOf(pool);
      expect(Math.min(...lifetimes)).toBeGreaterThanOrEqual(2880);
      expect(Math.max(...lifetimes)).toBeLessThanOrEqual(3600);
      expect(new Set(lifetimes).size).toBeGreaterThan(100); // jittered, not one value for all
      // Pooled connections kept by `min` never idle out, so the lifetime bounds their idle time too.
      expect(Math.max(...lifetimes)).toBeLessThan(PLATFORM_IDLE_LIMIT_S);
      expect(Math.max(...lifetimes)).toBeLessThan(PLATFORM_LIFETIME_LIMIT_S);
      expect(jitteredLifetime(3600, 0.2, 1)).toBe(2880);
    } finally {
      await pool.end();
    }
  });

  it('DB_POOL_RECYCLE_INTERVAL sets the lifetime; 0 turns recycling off (then only the server limits apply)', async () => {
    const short = createLakebasePool({ env: { ...emu.env('provisioned'), DB_POOL_RECYCLE_INTERVAL: '600' } });
    const off = createLakebasePool({ env: { ...emu.env('provisioned'), DB_POOL_RECYCLE_INTERVAL: '0' } });
    try {
      const lifetimes = lifetimesOf(short);
      expect(Math.min(...lifetimes)).toBeGreaterThanOrEqual(480);
      expect(Math.max(...lifetimes)).toBeLessThanOrEqual(600);
      expect(off.options.maxLifetimeSeconds ?? 0).toBe(0);
    } finally {
      await Promise.all([short.end(), off.end()]);
    }
  });
});
