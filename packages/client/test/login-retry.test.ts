/**
 * Transient login rejections (a waking endpoint, a new branch): the emulator's login faults refuse the next logins
 * the way Lakebase does for a moment; the pool retries them with backoff inside the connect timeout and no query
 * fails. Errors that will not heal (unknown role, unknown database, a refused token after one fresh-token retry) fail
 * after a fixed number of login attempts, far below what the 30 s timeout would allow.
 */
import { describe, expect, it } from 'vitest';
import { isTransientLoginFailure } from '../src/connection/login-retry.js';
import { connect, LakebaseError, type LakebasePool, resolveConfig } from '../src/index.js';
import { backoffDelay } from '../src/time.js';
import { useEmulatorPools } from './helpers/emulator.js';

const { emulator, pool } = useEmulatorPools();
const fast = { connectRetry: { baseDelayMs: 2, maxDelayMs: 20 } };

function logins() {
  return { ...emulator().workspace.stats().logins };
}

function since(before: ReturnType<typeof logins>) {
  const now = logins();
  return {
    attempted: now.attempted - before.attempted,
    refused: now.refused - before.refused,
    injected: now.failedByInjection - before.failedByInjection,
  };
}

/**
 * A pool that has connected once (host and user known) and holds no connection: its next checkout is a new login
 * through the fast path, whose failures go to the same retry.
 */
async function warmEmptyPool(p: LakebasePool): Promise<LakebasePool> {
  await p.query('select 1');
  (await p.connect()).release(true);
  expect(p.totalCount).toBe(0);
  return p;
}

describe('transient login rejections are retried within the connect timeout', () => {
  for (const [kind, warm] of [
    ['external-auth', false],
    ['starting', false],
    ['reset', false],
    ['external-auth', true],
    ['reset', true],
  ] as const) {
    it(`${kind}${warm ? ' (a pool that connected before)' : ''}: three refused logins, then the query succeeds with no error`, async () => {
      const p = warm ? await warmEmptyPool(pool({}, fast)) : pool({}, fast);
      emulator().workspace.loginFaults.failNext(3, kind);
      const before = logins();
      const { rows } = await p.query<{ ok: number }>('select 1 as ok');
      expect(rows[0]?.ok).toBe(1);
      expect(since(before)).toEqual({ attempted: 4, refused: 3, injected: 3 });
      expect(p.transientRetryCount).toBe(3);
      expect(p.authRetryCount).toBe(0);
    });
  }

  it('a burst of 20 queries while the endpoint wakes: every one succeeds', async () => {
    const p = pool({ DB_POOL_SIZE: '2', DB_MAX_OVERFLOW: '3' }, fast);
    emulator().workspace.loginFaults.failNext(8, 'external-auth');
    const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => p.query('select $1::int', [i])));
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    expect(p.transientRetryCount).toBe(8);
  });

  for (const warm of [false, true])
    it(`gives up with the last error once the connect timeout would be exceeded${warm ? ' (a pool that connected before)' : ''}`, async () => {
      const slow = pool({}, { connectionTimeoutMillis: 200, connectRetry: { baseDelayMs: 20, maxDelayMs: 40 } });
      const p = warm ? await warmEmptyPool(slow) : slow;
      emulator().workspace.loginFaults.failNext(1000, 'external-auth');
      try {
        const before = logins();
        await expect(p.query('select 1')).rejects.toMatchObject({
          code: 'XX000',
          message: 'External authorization failed.',
        });
        const attempts = since(before).attempted;
        // 200 ms of 20-40 ms (jittered 50-100 %) backoffs: several tries, bounded by the budget, where retrying
        // through the 1000 faults would take 1000 attempts (~30 s): the count, not the clock, shows it gave up.
        expect(attempts).toBeGreaterThan(2);
        expect(attempts).toBeLessThan(25);
      } finally {
        emulator().workspace.loginFaults.clear();
      }
    });

  it('connect() (one client, for scripts) retries the same way', async () => {
    emulator().workspace.loginFaults.failNext(2, 'reset');
    const before = logins();
    const client = await connect({ env: emulator().env('provisioned'), logger: { warn: () => {} }, ...fast });
    try {
      expect((await client.query('select 1 as ok')).rows[0]).toEqual({ ok: 1 });
    } finally {
      await client.end();
    }
    expect(since(before)).toMatchObject({ attempted: 3, injected: 2 });
  });
});

describe('errors that will not heal fail fast (attempts counted, default 30 s timeout)', () => {
  it('unknown role (28000): one login attempt', async () => {
    const p = pool({ PGUSER: 'nobody@example.com' });
    const before = logins();
    await expect(p.query('select 1')).rejects.toMatchObject({ code: '28000' });
    expect(since(before).attempted).toBe(1);
    expect(p.transientRetryCount).toBe(0);
  });

  it('unknown database (3D000): one login attempt', async () => {
    const p = pool({ LAKEBASE_DATABASE: 'no_such_db', PGDATABASE: 'no_such_db' });
    const before = logins();
    await expect(p.query('select 1')).rejects.toMatchObject({ code: '3D000' });
    expect(since(before).attempted).toBe(1);
  });

  it('a token refused for the role (28P01): one fresh-token retry, then the error', async () => {
    // The user's token presented for the service principal's role: a fresh token cannot fix that.
    const p = pool({ PGUSER: emulator().clientId });
    const before = logins();
    await expect(p.query('select 1')).rejects.toMatchObject({ code: '28P01' });
    expect(since(before).attempted).toBe(2);
    expect(p.authRetryCount).toBe(1);
    expect(p.transientRetryCount).toBe(0);
  });
});

describe('the classification and the schedule', () => {
  it('transient: XX000, 57P03, resets and timeouts; not: 28P01, 28000, 3D000, TLS or Lakebase errors', () => {
    const err = (code?: string, message = 'x') => Object.assign(new Error(message), code ? { code } : {});
    for (const e of [
      err('XX000'),
      err('57P03'),
      err('ECONNRESET'),
      err('ECONNREFUSED'),
      err(undefined, 'Connection terminated unexpectedly'),
      err(undefined, 'Connection terminated due to connection timeout'),
    ])
      expect(isTransientLoginFailure(e)).toBe(true);
    for (const e of [
      err('28P01'),
      err('28000'),
      err('3D000'),
      err('42501'),
      err('DEPTH_ZERO_SELF_SIGNED_CERT'),
      err('ENOTFOUND'),
      new LakebaseError('LAKEBASE_CREDENTIAL_FAILED', 'no token'),
    ])
      expect(isTransientLoginFailure(e)).toBe(false);
  });

  it('backoff doubles from the base, is capped, and jitters within [50 %, 100 %]', () => {
    const at = (attempt: number, random: number) => backoffDelay(attempt, 100, 2000, () => random);
    expect([0, 1, 2, 3, 4, 5].map((a) => at(a, 1))).toEqual([100, 200, 400, 800, 1600, 2000]);
    expect(at(3, 0)).toBe(400);
  });

  it('the connect timeout suits a cold start: 30 s by default, PGCONNECT_TIMEOUT or the option override it', () => {
    const base = { LAKEBASE_PG_URL: 'postgresql://u@localhost/db' };
    expect(resolveConfig({}, base).pool.connectionTimeoutMillis).toBe(30_000);
    expect(resolveConfig({}, { ...base, PGCONNECT_TIMEOUT: '60' }).pool.connectionTimeoutMillis).toBe(60_000);
    expect(resolveConfig({ connectionTimeoutMillis: 5000 }, base).pool.connectionTimeoutMillis).toBe(5000);
  });
});
