/**
 * Per-user pools against the emulator (default storage, a real PostgreSQL): each user connects as their own role,
 * credentials are minted with the user's token once per token, the coded errors for a token without the `postgres`
 * scope and for a user without a role, the bound on open connections under 200 distinct users, and that ending the
 * main pool closes them all.
 */
import type { Emulator } from '@lakebase-kit/emulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLakebasePool, createUserPools, isLakebaseError, type LakebasePool } from '../src/index.js';
import { startWarmEmulator } from './helpers/emulator.js';

let emu: Emulator;
const quiet = { warn: () => {} };
const id = `${process.pid}-${Math.floor(Math.random() * 1e6)}`;

beforeAll(async () => {
  emu = await startWarmEmulator({ onNotice: () => {} });
});
afterAll(async () => {
  await emu?.stop();
});

async function userToken(email: string, options: { scopes?: string[]; role?: boolean } = {}): Promise<string> {
  return (await emu.workspace.issueUserToken(email, options)).access_token;
}

function mainPool(tier: 'provisioned' | 'autoscaling' = 'autoscaling'): LakebasePool {
  return createLakebasePool({ env: emu.env(tier), logger: quiet });
}

describe('per-user pools', () => {
  it('connect each user as their own role, minting once per token; the main pool ending closes them', async () => {
    const main = mainPool();
    await main.query('select 1'); // the target is resolved once, by the app's own pool
    const pools = createUserPools(main, { env: {} });
    const users = ['a', 'b', 'c'].map((n) => `${n}-${id}@example.com`);
    const tokens = await Promise.all(users.map((u) => userToken(u)));
    const before = emu.workspace.stats().credentialRequests.total;
    for (const [i, token] of tokens.entries()) {
      for (let round = 0; round < 3; round++) {
        const who = await pools.withUser(
          token,
          async (pool) => (await pool.query('select current_user as u')).rows[0].u,
        );
        expect(who).toBe(users[i]);
      }
    }
    expect(pools.stats().credentialRequests).toBe(3);
    expect(emu.workspace.stats().credentialRequests.total - before).toBe(3);
    // A second token of the same user reaches the same pool, after one credential call for that token.
    const again = await userToken(users[0] as string);
    const lease = await pools.acquire(again);
    expect(lease.identity).toBe(users[0]);
    lease.release();
    expect(pools.stats()).toMatchObject({ users: 3, credentialRequests: 4, poolsOpened: 3 });

    await main.end();
    expect(pools.stats()).toMatchObject({ users: 0, connections: 0 });
    const closed = await pools.acquire(tokens[0] as string).catch((e: unknown) => e);
    expect(isLakebaseError(closed, 'LAKEBASE_CLOSED')).toBe(true);
  });

  it('a token without the postgres scope is LAKEBASE_PERMISSION_DENIED; a user without a role is LAKEBASE_ROLE_NOT_FOUND; neither error holds the token', async () => {
    const main = mainPool('provisioned');
    await main.query('select 1');
    const pools = createUserPools(main, { env: {} });
    const noScope = await userToken(`noscope-${id}@example.com`, { scopes: ['sql'] });
    const denied = await pools.acquire(noScope).catch((e: unknown) => e);
    expect(isLakebaseError(denied, 'LAKEBASE_PERMISSION_DENIED')).toBe(true);
    expect((denied as { details: { reason: string } }).details.reason).toBe('missing_scope');
    expect((denied as Error).message).toMatch(/postgres/);

    const roleless = `norole-${id}@example.com`;
    const noRole = await userToken(roleless, { role: false });
    const refused = await pools.acquire(noRole).catch((e: unknown) => e);
    expect(isLakebaseError(refused, 'LAKEBASE_ROLE_NOT_FOUND')).toBe(true);
    expect((refused as { suggestion: string }).suggestion).toMatch(/databricks_create_role\('norole-.*', 'USER'\)/);
    expect(pools.stats().users).toBe(0);

    for (const [error, token] of [
      [denied, noScope],
      [refused, noRole],
    ] as const) {
      const text = `${String(error)} ${JSON.stringify(error)} ${(error as { stack?: string }).stack}`;
      expect(text).not.toContain(token);
      expect(text).not.toContain(token.slice(0, 40));
    }
    await main.end();
  });

  it('200 distinct users: open connections never pass the bound, no request fails, one credential per user', async () => {
    const maxUsers = 20;
    const perUser = 2;
    const main = mainPool();
    await main.query('select 1');
    const pools = createUserPools(main, { maxUsers, maxConnectionsPerUser: perUser, waitMs: 30_000, env: {} });
    const users = Array.from({ length: 200 }, (_, i) => `load${i}-${id}@example.com`);
    const tokens = await Promise.all(users.map((u) => userToken(u)));
    const before = emu.workspace.stats().credentialRequests.total;

    // The server's own count of the load users' sessions, sampled while the load runs.
    let peakSeen = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const { rows } = await main.query<{ n: number }>(
          "select count(*)::int as n from pg_stat_activity where usename like 'load%' and usename like $1",
          [`%-${id}@example.com`],
        );
        peakSeen = Math.max(peakSeen, rows[0]?.n ?? 0);
        await new Promise((r) => setTimeout(r, 5));
      }
    })();

    // 600 requests (3 per user, in shuffled order) by 40 concurrent workers.
    const work = users.flatMap((_, i) => [i, i, i]).sort(() => Math.random() - 0.5);
    let failed = 0;
    let wrongUser = 0;
    let next = 0;
    const worker = async () => {
      while (next < work.length) {
        const i = work[next++] as number;
        try {
          const who = await pools.withUser(tokens[i] as string, async (pool) => {
            const { rows } = await pool.query<{ u: string }>('select current_user as u, pg_sleep(0.002)');
            return rows[0]?.u;
          });
          if (who !== users[i]) wrongUser++;
        } catch {
          failed++;
        }
      }
    };
    await Promise.all(Array.from({ length: 40 }, worker));
    sampling = false;
    await sampler;

    const stats = pools.stats();
    expect(failed).toBe(0);
    expect(wrongUser).toBe(0);
    expect(stats.maxConnections).toBe(maxUsers * perUser);
    expect(stats.peakConnections).toBeLessThanOrEqual(maxUsers * perUser);
    expect(peakSeen).toBeLessThanOrEqual(maxUsers * perUser);
    expect(peakSeen).toBeGreaterThan(0);
    // One credential per user and token, although most users' pools were closed and opened again.
    expect(stats.poolsOpened).toBeGreaterThan(200);
    expect(stats.credentialRequests).toBe(200);
    expect(emu.workspace.stats().credentialRequests.total - before).toBe(200);
    console.log(
      `per-user load: 600 requests, 200 users, peak ${stats.peakConnections} pool connections / ${peakSeen} server sessions (bound ${stats.maxConnections}), ${stats.poolsOpened} pools opened, ${stats.credentialRequests} credentials`,
    );
    await main.end();
  });
});
