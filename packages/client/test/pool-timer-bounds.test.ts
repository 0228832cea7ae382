/**
 * Every timer the pool arms stays below Node's 2^31-1 ms limit (beyond it Node fires after 1 ms): pg's idle and
 * connect timeouts, pg-pool's max lifetime, and the login retry's backoff. Runs a query on the real PostgreSQL to show
 * the clamped pool still works and does not recycle its connection at once.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLakebasePool, type LakebasePool } from '../src/index.js';
import { backoffDelay, MAX_TIMER_DELAY_MS } from '../src/time.js';

const URL = 'postgresql://postgres@127.0.0.1:5432/test';
const pools: LakebasePool[] = [];

afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.end()));
});

describe('pool timers are clamped', () => {
  it('huge pg idle/connect timeouts and a huge max lifetime are clamped; the connection is not recycled at once', async () => {
    const p = createLakebasePool({
      env: { LAKEBASE_PG_URL: URL },
      pg: { idleTimeoutMillis: 3e12, connectionTimeoutMillis: 3e12, maxLifetimeSeconds: 3e9 },
    });
    pools.push(p);
    expect(p.options.idleTimeoutMillis).toBe(MAX_TIMER_DELAY_MS);
    expect(p.options.connectionTimeoutMillis).toBe(MAX_TIMER_DELAY_MS);
    expect((p.options.maxLifetimeSeconds as number) * 1000).toBeLessThanOrEqual(MAX_TIMER_DELAY_MS);
    // On fake timers (which, like Node, turn a delay over 2^31-1 ms into 1 ms): an hour later the connection is still
    // the same, where an unclamped lifetime or idle timer would have ended it after 1 ms.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const first = await p.query<{ pid: number }>('select pg_backend_pid() as pid');
      await vi.advanceTimersByTimeAsync(3_600_000);
      const second = await p.query<{ pid: number }>('select pg_backend_pid() as pid');
      expect(second.rows[0]?.pid).toBe(first.rows[0]?.pid);
    } finally {
      vi.useRealTimers();
    }
  });

  it('the login retry backoff is clamped whatever its options', () => {
    expect(backoffDelay(100, 1e12, 1e15, () => 1)).toBeLessThanOrEqual(MAX_TIMER_DELAY_MS);
  });
});
