/**
 * Token rotation against the emulator over real sockets: short token lifetimes, continuous concurrent load, pool
 * churn, bursts, and a failing credential endpoint.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { DatabaseCredential, TokenRefreshedEvent } from '../src/index.js';
import { LakebaseApi, parseInstanceName } from '../src/toolkit.js';
import { runLoad as load, useEmulatorPools } from './helpers/emulator.js';

/** The emulator's clock runs `skewMs` ahead of ours: a test moves it to expire a token on the server at once. */
const server = { skewMs: 0 };
const { emulator, pool } = useEmulatorPools({ now: () => Date.now() + server.skewMs }); // PGlite: the 200-connection burst exceeds a stock PostgreSQL's max_connections
afterEach(() => {
  server.skewMs = 0;
});

function credentialRequests(): number {
  return emulator().workspace.stats().credentialRequests.total;
}

describe('rotation under load (emulator)', () => {
  it('refreshes ahead of a 3 s expiry under concurrent load and pool churn: zero failed queries, ~1 request per rotation', async () => {
    emulator().workspace.setTokenTtl(3);
    const before = credentialRequests();
    const loginsBefore = emulator().workspace.stats().logins.succeeded;
    const p = pool(
      { DB_POOL_SIZE: '2', DB_MAX_OVERFLOW: '4', DB_POOL_RECYCLE_INTERVAL: '1' },
      { pg: { idleTimeoutMillis: 300 } },
    );
    const refreshed: TokenRefreshedEvent[] = [];
    p.lakebase.credentials?.on('token-refreshed', (e: TokenRefreshedEvent) => refreshed.push(e));
    const durationMs = 5000;
    const { ok, failed } = await load(p, 8, durationMs);
    const requests = credentialRequests() - before;
    const logins = emulator().workspace.stats().logins.succeeded - loginsBefore;
    // Tokens live 2-3 s (whole-second expiry); refresh at half-life: about one request every 1-1.5 s.
    const rotations = refreshed.length;
    console.log(
      `[rotation] ${ok} queries, ${failed.length} failed, ${logins} logins, ${requests} credential requests, ${rotations} rotations`,
    );
    expect(failed).toEqual([]);
    expect(ok).toBeGreaterThan(500);
    expect(rotations).toBeGreaterThanOrEqual(3);
    expect(requests).toBe(rotations);
    expect(requests).toBeLessThanOrEqual(Math.ceil(durationMs / 1000) + 2);
    expect(logins).toBeGreaterThan(requests * 2); // churn: many logins share each token
    expect(refreshed.every((e) => e.reason === 'initial' || e.reason === 'scheduled')).toBe(true);
  });

  it('a burst of 200 new connections costs one credential request', async () => {
    const before = credentialRequests();
    const p = pool({ DB_POOL_SIZE: '100', DB_MAX_OVERFLOW: '100' }, { pg: { connectionTimeoutMillis: 20_000 } });
    const clients = await Promise.all(Array.from({ length: 200 }, () => p.connect()));
    expect(p.totalCount).toBe(200);
    const results = await Promise.all(clients.map((c) => c.query('select 1 as one')));
    for (const c of clients) c.release();
    expect(results.every((r) => r.rows[0].one === 1)).toBe(true);
    const cost = credentialRequests() - before;
    console.log(`[burst] 200 connections, ${cost} credential request(s)`);
    expect(cost).toBe(1);
  });

  it('a login refused with 28P01 (stale token) is retried once with a force-refreshed token', async () => {
    emulator().workspace.setTokenTtl(1);
    const api = new LakebaseApi({ host: emulator().databricksHost, getToken: async () => emulator().databricksToken });
    const stale = await api.generateInstanceCredential([parseInstanceName(emulator().instanceName)]);
    server.skewMs = stale.expiresAt.getTime() - Date.now() + 50; // expired on the server, whose clock is now past it
    emulator().workspace.setTokenTtl(3600);
    let calls = 0;
    const credentialSource = async (): Promise<DatabaseCredential> => {
      calls++;
      if (calls > 1) return api.generateInstanceCredential([parseInstanceName(emulator().instanceName)]);
      // Pretend the stale token is fresh, as a clock skew or a revoked token would look.
      const lying = { expiresAt: new Date(Date.now() + 3_600_000) } as DatabaseCredential;
      Object.defineProperty(lying, 'token', { value: stale.token });
      return lying;
    };
    const refusedBefore = emulator().workspace.stats().logins.refused;
    const p = pool({ PGUSER: emulator().user }, { credentialSource });
    const { rows } = await p.query<{ ok: number }>('select 1 as ok');
    expect(rows[0]?.ok).toBe(1);
    expect(p.authRetryCount).toBe(1);
    expect(calls).toBe(2);
    expect(emulator().workspace.stats().logins.refused - refusedBefore).toBe(1);
  });
});
