/**
 * Ending a pool cancels the workspace REST requests it has in flight: against a workspace that accepts the connection
 * and never answers, `pool.end()` returns at once instead of waiting for the request's 10 s deadline, the query that
 * waited on the token fails with `LAKEBASE_CLOSED`, and the stalled request's socket is closed.
 */
import { describe, expect, it } from 'vitest';
import { createLakebasePool, type DatabaseCredential, isLakebaseError } from '../src/index.js';
import { CredentialManager } from '../src/toolkit.js';
import { FakeTime } from './helpers/fake-time.js';
import { fakeJwt } from './helpers/http-server.js';
import { STALLING_ENDPOINT_ENV, stallingWorkspacePerTest } from './helpers/stalling-workspace.js';

/** Settles with the rejection of `promise`, and whether it came before `marker()` was set. */
function failure(promise: Promise<unknown>): Promise<{ error: unknown; beforeEndReturned: boolean } | undefined> {
  return promise.then(
    () => undefined,
    (error: unknown) => ({ error, beforeEndReturned: !endReturned }),
  );
}
let endReturned = false;

/**
 * Ends `pool` while `query` waits on the stalled request to `path`, and checks what the change is about: end() returns
 * without waiting for the request (which would take its 10 s deadline), the query fails with LAKEBASE_CLOSED before
 * end() returns, the workspace sees the socket closed, and nothing asks again.
 */
async function expectEndCancels(
  pool: { end(): Promise<void> },
  query: ReturnType<typeof failure>,
  path: string,
  time: FakeTime,
) {
  endReturned = false;
  // Before: end() waited out the in-flight request (1 s cap) and the request ran on to its 10 s deadline. The request
  // never answers, so end() returning at all (within the test's timeout) means it did not wait for the answer.
  await pool.end();
  endReturned = true;
  const outcome = await query;
  expect(isLakebaseError(outcome?.error, 'LAKEBASE_CLOSED')).toBe(true);
  expect((outcome?.error as Error | undefined)?.message).toContain('after calling end');
  // The waiting query was released by end() itself, not by a later deadline.
  expect(outcome?.beforeEndReturned).toBe(true);
  // The workspace sees its connection dropped, not held until the deadline.
  expect(await workspace().closed(path)).toBe(true);
  // Nothing asks again: no retry or refresh is left scheduled (the pool's timers are fake, so none fired either).
  expect(time.pending).toBe(0);
  expect(workspace().requests.filter((r) => r.path === path)).toHaveLength(1);
}

const ENV = STALLING_ENDPOINT_ENV;

const workspace = stallingWorkspacePerTest();

describe('pool.end() with a workspace request in flight', () => {
  it('returns at once, the waiting query fails with LAKEBASE_CLOSED, and the stalled socket is closed', async () => {
    const time = new FakeTime();
    const pool = createLakebasePool({
      env: { ...ENV, DATABRICKS_HOST: workspace().url, PGHOST: '127.0.0.1', PGUSER: 'someone@example.com' },
      logger: { warn: () => {} },
      timers: time,
    });
    const query = failure(pool.query('select 1'));
    await workspace().waitFor('/api/2.0/postgres/credentials');
    await expectEndCancels(pool, query, '/api/2.0/postgres/credentials', time);
  });

  it('also cancels the host lookup of a pending connect (the token arrived, the endpoint never answers)', async () => {
    workspace().answers.set('/api/2.0/postgres/credentials', () => ({
      token: fakeJwt({ sub: 'someone@example.com', exp: Math.floor(Date.now() / 1000) + 3600 }),
      expire_time: new Date(Date.now() + 3_600_000).toISOString(),
    }));
    const time = new FakeTime();
    const pool = createLakebasePool({
      env: { ...ENV, DATABRICKS_HOST: workspace().url },
      logger: { warn: () => {} },
      timers: time,
    });
    const query = failure(pool.query('select 1'));
    const endpoint = `/api/2.0/postgres/${ENV.LAKEBASE_ENDPOINT}`;
    await workspace().waitFor(endpoint);
    await expectEndCancels(pool, query, endpoint, time);
  });
});

describe('pool.end() with many connects waiting', () => {
  it('rejects all 30 with LAKEBASE_CLOSED and warns of no listener leak', async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(`${warning.name}: ${warning.message}`);
    process.on('warning', onWarning);
    try {
      const pool = createLakebasePool({
        env: { ...ENV, DATABRICKS_HOST: workspace().url, PGHOST: '127.0.0.1', PGUSER: 'someone@example.com' },
        pg: { max: 30 },
        logger: { warn: () => {} },
      });
      // 30 connects waiting on one token request: each listens to the pool's and the manager's end.
      const queries = Array.from({ length: 30 }, () => failure(pool.query('select 1')));
      await workspace().waitFor('/api/2.0/postgres/credentials');
      await pool.end();
      const outcomes = await Promise.all(queries);
      expect(outcomes.every((o) => isLakebaseError(o?.error, 'LAKEBASE_CLOSED'))).toBe(true);
      expect(workspace().requests).toHaveLength(1);
      await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on the next tick
      expect(warnings.filter((w) => w.includes('MaxListeners'))).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });
});

describe('CredentialManager.close()', () => {
  it('releases a caller at once with LAKEBASE_CLOSED, even when the credential source ignores the cancellation', async () => {
    const time = new FakeTime();
    const m = new CredentialManager({
      clock: time,
      timers: time,
      fetchCredential: () => new Promise<DatabaseCredential>(() => {}),
    });
    let settled: unknown;
    const waiting = m.getToken().then(
      () => 'resolved',
      (error: unknown) => {
        settled = error;
      },
    );
    const closing = m.close();
    await waiting;
    // Before: the caller waited for the source (here forever), and close() for up to 1 s.
    expect(isLakebaseError(settled, 'LAKEBASE_CLOSED')).toBe(true);
    await time.advance(1000); // close() still gives the ignored round 1 s to settle, then returns
    await closing;
    expect(m.status()).toMatchObject({ closed: true, consecutiveFailures: 0 });
  });

  it('cuts the backoff between attempts short: no second request after close()', async () => {
    const time = new FakeTime();
    let calls = 0;
    const m = new CredentialManager({
      clock: time,
      timers: time,
      random: () => 0.5,
      fetchCredential: async () => {
        calls++;
        throw Object.assign(new Error('connection reset'), { code: 'ECONNRESET' });
      },
    });
    const waiting = m.getToken().catch((error: unknown) => error);
    await time.advance(0);
    expect(calls).toBe(1);
    await m.close();
    expect(isLakebaseError(await waiting, 'LAKEBASE_CLOSED')).toBe(true);
    expect(time.pending).toBe(0); // the backoff timer is cleared, not left to hold the process
    await time.advance(60_000);
    expect(calls).toBe(1);
  });
});
