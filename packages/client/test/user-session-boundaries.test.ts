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
import { FakeTime, flush } from './helpers/fake-time.js';

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

describe('a user token stops working', () => {
  /** The error of a refused token: coded, with the user's fix, and without the token. */
  function expectRefused(error: unknown, token: string, reason: string): void {
    expect(isLakebaseError(error, 'LAKEBASE_AUTH_FAILED'), String(error)).toBe(true);
    expect((error as { details: { reason?: string } }).details.reason).toBe(reason);
    expect((error as { suggestion: string }).suggestion).toMatch(/sign in again/i);
    const text = `${String(error)} ${JSON.stringify(error)} ${(error as { stack?: string }).stack}`;
    expect(text).not.toContain(token);
    expect(text).not.toContain(token.slice(-40));
  }

  it('once it expires (its exp), refused without asking the workspace, whether known or not', async () => {
    const time = new FakeTime(Date.now());
    const main = mainPool();
    await main.query('select 1');
    const pools = createUserPools(main, { env: {}, clock: time });
    const user = `expiring-${id}@example.com`;
    const [known, unseen] = [await userToken(user), await userToken(user)];
    await pools.withUser(known, async (pool) => pool.query('select 1'));
    const calls = emu.workspace.stats().credentialRequests.total;

    await time.advance(3600 * 1000); // the emulator's user tokens live one hour (exp)
    for (const token of [known, unseen])
      expectRefused(await pools.acquire(token).catch((e) => e), token, 'user_token_expired');
    expect(emu.workspace.stats().credentialRequests.total).toBe(calls);
    await main.end();
  });

  it('once revoked: refused at the re-check after LAKEBASE_USER_TOKEN_RECHECK_SECONDS; the idle pool minting with it closes', async () => {
    const time = new FakeTime(Date.now());
    const main = mainPool();
    await main.query('select 1');
    const pools = createUserPools(main, { env: { LAKEBASE_USER_TOKEN_RECHECK_SECONDS: '60' }, clock: time });
    const both = `revoked-${id}@example.com`; // has a second token that stays valid
    const single = `revoked-only-${id}@example.com`; // has only the revoked one
    const [revoked, kept, only] = [await userToken(both), await userToken(both), await userToken(single)];
    for (const token of [revoked, kept, only]) await pools.withUser(token, async (pool) => pool.query('select 1'));
    await emu.workspace.revokeAccessToken(revoked);
    await emu.workspace.revokeAccessToken(only);

    // Until the re-check a known token is trusted: that is the bound the setting documents.
    await time.advance(59_000);
    await pools.withUser(revoked, async (pool) => pool.query('select 1'));

    await time.advance(1000);
    for (const token of [revoked, only]) {
      expectRefused(await pools.acquire(token).catch((e) => e), token, 'user_token_rejected');
      expectRefused(await pools.acquire(token).catch((e) => e), token, 'user_token_rejected'); // stays refused
    }
    // The user's other token still works, on the same role.
    const who = await pools.withUser(kept, async (pool) => (await pool.query('select current_user as u')).rows[0].u);
    expect(who).toBe(both);
    // The pool that only the revoked token could feed is closed: no session of that user is left on the server.
    expect(await settledSessionsOf(single, 0)).toBe(0);
    expect(pools.stats().users).toBe(1);
    await main.end();
  });

  it('a token whose claims were edited (a later exp) is refused by the workspace at first sight', async () => {
    const main = mainPool();
    await main.query('select 1');
    const pools = createUserPools(main, { env: {} });
    const token = await userToken(`forged-${id}@example.com`);
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as { exp: number };
    claims.exp += 365 * 24 * 3600;
    const forged = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`;
    expectRefused(await pools.acquire(forged).catch((e) => e), forged, 'user_token_rejected');
    await main.end();
  });
});
