/**
 * A failing credential endpoint (500, 429, 503, timeouts) against the emulator over real sockets: while the token is
 * valid no query fails; once it has expired, new connections get LAKEBASE_CREDENTIAL_FAILED.
 */
import { describe, expect, it, vi } from 'vitest';
import type { LakebaseError, LakebasePoolOptions, TokenRefreshedEvent } from '../src/index.js';
import { runLoad as load, useEmulatorPools } from './helpers/emulator.js';

const { emulator, pool } = useEmulatorPools({ upstream: 'postgresql://postgres@127.0.0.1:5432/test' });

describe('credential endpoint failures (emulator)', () => {
  // [name, inject, pool options, token TTL]: a 429 carries Retry-After: 1, which the client honours, so it gets a
  // longer-lived token to observe failures and recovery within one lifetime.
  const failureModes: [string, () => void, LakebasePoolOptions, number][] = [
    ['HTTP 500', () => emulator().workspace.faults.failFraction(1, 500), {}, 3],
    ['HTTP 429', () => emulator().workspace.faults.failFraction(1, 429), {}, 5],
    ['HTTP 503', () => emulator().workspace.faults.failFraction(1, 503), {}, 3],
    [
      'timeouts: latency above the request timeout',
      () => emulator().workspace.faults.setLatency(800),
      { apiTimeoutMs: 150 },
      3,
    ],
  ];
  for (const [name, inject, options, ttl] of failureModes) {
    it(`credential endpoint failing (${name}) while the token is valid: no failed query, then recovery`, async () => {
      emulator().workspace.setTokenTtl(ttl);
      const p = pool(
        { DB_POOL_SIZE: '1', DB_MAX_OVERFLOW: '3', DB_POOL_RECYCLE_INTERVAL: '1' },
        { ...options, apiRetry: { maxAttempts: 2, baseDelayMs: 50 }, pg: { idleTimeoutMillis: 200 } },
      );
      await p.query('select 1');
      const credentials = p.lakebase.credentials;
      const firstExpiry = credentials?.status().expiresAt?.getTime() ?? 0;
      const failures: number[] = [];
      credentials?.on('token-refresh-failed', () => failures.push(Date.now()));
      const injectedBefore = emulator().workspace.stats().credentialRequests.failedByInjection;
      inject();
      // Every refresh fails; churned connections keep logging in with the still-valid token. Run until a while after
      // the first refresh failure, and stop before the token gets too close to expiry to hand out.
      const during = await load(
        p,
        4,
        firstExpiry - Date.now() - 450,
        () => (failures[0] ?? Infinity) + 300 < Date.now(),
      );
      const injected = emulator().workspace.stats().credentialRequests.failedByInjection - injectedBefore;
      console.log(
        `[faults ${name}] ${during.ok} queries, ${during.failed.length} failed, ${failures.length} refresh failures, ${injected} injected`,
      );
      expect(during.failed).toEqual([]);
      expect(during.ok).toBeGreaterThan(20);
      expect(failures.length).toBeGreaterThan(0);
      expect(credentials?.status().expiresAt?.getTime()).toBe(firstExpiry); // still serving the first token
      const refreshed: TokenRefreshedEvent[] = [];
      credentials?.on('token-refreshed', (e: TokenRefreshedEvent) => refreshed.push(e));
      emulator().workspace.faults.clear();
      // Recovery: a background retry gets a new token before the first one expires; queries keep succeeding.
      let recovered = false;
      let queriesAfter = 0;
      const after = await load(p, 4, firstExpiry - Date.now() + 1000, () => {
        recovered ||= refreshed.length > 0;
        if (recovered) queriesAfter++;
        return queriesAfter > 20;
      });
      expect(after.failed).toEqual([]);
      expect(refreshed.length).toBeGreaterThan(0);
      expect(refreshed[0]?.expiresAt.getTime()).toBeGreaterThan(firstExpiry);
      // Got in the background, while the first token was still usable: a caller that found no usable token would
      // have refreshed it with reason 'expired' or 'lazy'.
      expect(['retry', 'scheduled']).toContain(refreshed[0]?.reason);
      expect(credentials?.status().consecutiveFailures).toBe(0);
    });
  }

  it('after expiry with the endpoint still failing, a new connection fails with LAKEBASE_CREDENTIAL_FAILED', async () => {
    emulator().workspace.setTokenTtl(2);
    // The pool's clock runs `skewMs` ahead: moving it past the token's expiry expires the token at once.
    const clock = { skewMs: 0, now: () => Date.now() + clock.skewMs };
    const p = pool(
      { DB_POOL_SIZE: '0', DB_MAX_OVERFLOW: '2' },
      { pg: { idleTimeoutMillis: 50 }, credentialOptions: { baseDelayMs: 20 }, clock },
    );
    await p.query('select 1');
    emulator().workspace.faults.failFraction(1, 500);
    const expiresAt = p.lakebase.credentials?.status().expiresAt?.getTime() ?? 0;
    // The idle connection closes (pg's idle timeout): the next query needs a new one, and so a usable token.
    await vi.waitFor(() => expect(p.totalCount).toBe(0), { timeout: 5000 });
    clock.skewMs = expiresAt - Date.now() + 100;
    const error = (await p.query('select 1').catch((e: unknown) => e)) as LakebaseError;
    expect(error.code).toBe('LAKEBASE_CREDENTIAL_FAILED');
    expect((error.cause as LakebaseError).code).toBe('LAKEBASE_API_UNAVAILABLE');
    expect(error.suggestion).toBeTruthy();
    emulator().workspace.faults.clear();
    clock.skewMs = 0; // the next token is new on both clocks
    expect((await p.query<{ ok: number }>('select 1 as ok')).rows[0]?.ok).toBe(1);
  });
});
