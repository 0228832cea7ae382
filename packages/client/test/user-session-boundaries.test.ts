/**
 * The promises of per-user pools, attacked against the emulator (embedded PostgreSQL, real sockets):
 * - one pool per user, however many of the user's tokens race for a slot: none is left open after `main.end()`;
 * - a user token stops opening sessions once it expires (`exp`) or once the workspace revoked it (re-checked after
 *   `LAKEBASE_USER_TOKEN_RECHECK_SECONDS`), on an injected clock.
 */
import type { Emulator } from '@lakebase-kit/emulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintUserCredential } from '../src/connection/user-credentials.js';
import {
  createLakebasePool,
  createUserPools,
  isLakebaseError,
  type LakebasePool,
  type UserLease,
} from '../src/index.js';
import { startWarmEmulator } from './helpers/emulator.js';
import { flush } from './helpers/fake-time.js';

let emu: Emulator;
const quiet = { warn: () => {} };
const id = `${process.pid}-${Math.floor(Math.random() * 1e6)}`;
const mains: LakebasePool[] = [];

beforeAll(async () => {
  emu = await startWarmEmulator({ onNotice: () => {} });
});
afterAll(async () => {
  await Promise.all(mains.map((p) => p.end()));
  await emu?.stop();
});

async function userToken(email: string): Promise<string> {
  return (await emu.workspace.issueUserToken(email)).access_token;
}

function mainPool(): LakebasePool {
  const pool = createLakebasePool({ env: emu.env('autoscaling'), logger: quiet });
  mains.push(pool);
  return pool;
}

/** Sessions of `role` on the server, counted by the storage itself. */
async function sessionsOf(role: string): Promise<number> {
  const observer = mainPool();
  const { rows } = await observer.query<{ n: number }>(
    'select count(*)::int as n from pg_stat_activity where usename = $1',
    [role],
  );
  return rows[0]?.n ?? 0;
}

/** Polls `sessionsOf(role)` until it is `expected` (a backend exits a moment after its client), at most 5 s. */
async function settledSessionsOf(role: string, expected: number): Promise<number> {
  const deadline = Date.now() + 5000;
  let n = await sessionsOf(role);
  while (n !== expected && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    n = await sessionsOf(role);
  }
  return n;
}

describe('one pool per user', () => {
  // One slot: before the fix the second token waited for the slot its own user held (LAKEBASE_CONNECT_FAILED after
  // waitMs). Two slots: both tokens opened a pool, and the first stayed open after main.end(), uncounted.
  it.each([1, 2])(
    'two new tokens of one user that wait for %i freed slot(s) open one pool, counted once, closed by main.end()',
    async (slots) => {
      const main = mainPool();
      await main.query('select 1');
      let minted = 0;
      let bothMinted: () => void = () => {};
      const mintedTwice = new Promise<void>((resolve) => {
        bothMinted = resolve;
      });
      const pools = createUserPools(main, {
        maxUsers: slots,
        waitMs: 10_000,
        env: {},
        // The real credential call, counted so the test knows when both racers are past it and waiting for the slot.
        mintCredential: async (token) => {
          try {
            return await mintUserCredential(main, token, undefined);
          } finally {
            if (++minted === slots + 2) bothMinted();
          }
        },
      });
      const holders = Array.from({ length: slots }, (_, i) => `holder${i}-${slots}-${id}@example.com`);
      const racer = `racer-${slots}-${id}@example.com`;
      const held: UserLease[] = [];
      for (const holder of holders) held.push(await pools.acquire(await userToken(holder))); // every slot busy
      const [first, second] = [await userToken(racer), await userToken(racer)];
      expect(first).not.toBe(second);

      const racing = [pools.acquire(first), pools.acquire(second)];
      await mintedTwice;
      await flush(); // both are now past their credential call, waiting for the slot
      for (const lease of held) lease.release(); // the holders' pools are idle: the waiters may evict them
      const leases: UserLease[] = await Promise.all(racing);

      expect(leases.map((l) => l.identity)).toEqual([racer, racer]);
      expect(leases[0]?.pool).toBe(leases[1]?.pool);
      const stats = pools.stats();
      expect(stats).toMatchObject({ poolsOpened: slots + 1 });
      expect(stats.users).toBe(stats.poolsOpened - stats.poolsClosed);
      let serverSessions = await sessionsOf(racer);
      for (const holder of holders) serverSessions += await sessionsOf(holder);
      expect(stats.connections).toBe(serverSessions);
      for (const lease of leases) lease.release();

      await main.end();
      expect(pools.stats()).toMatchObject({ users: 0, connections: 0 });
      expect(await settledSessionsOf(racer, 0)).toBe(0);
      for (const holder of holders) expect(await settledSessionsOf(holder, 0)).toBe(0);
    },
  );
});
