/**
 * `withAbortSignal` carries an owner's signal to the REST requests started inside it through async context, and turns
 * that context off again when no scope is open (an enabled AsyncLocalStorage makes every promise of the process
 * slower on Node 20). These cases attack both halves: the signal must still reach every request that needs it
 * (nested scopes, concurrent scopes, a scope outliving its sibling), and no scope may be left counted as open
 * (success, rejection, a synchronous throw).
 */
import { describe, expect, it } from 'vitest';
import { isLakebaseError } from '../src/index.js';
import { openAbortScopes, sendOnce, withAbortSignal } from '../src/workspace/http.js';

/** A fetch that never answers on its own and rejects when its signal aborts, as fetch does. */
const hangingFetch: typeof fetch = (_url, init) =>
  new Promise((_resolve, reject) => {
    init?.signal?.addEventListener('abort', () => reject(init.signal?.reason), { once: true });
  });

/** A request that waits until the scope's owner aborts it, and what it failed with. */
function pendingRequest(): Promise<unknown> {
  return sendOnce('http://127.0.0.1:9/api/2.0/x', {}, { fetch: hangingFetch, timeoutMs: 60_000 }).then(
    () => 'answered',
    (error: unknown) => error,
  );
}

describe('withAbortSignal scopes', () => {
  it('cancels a request with the innermost owner, and closes every scope afterwards', async () => {
    const outer = new AbortController();
    const inner = new AbortController();
    let request: Promise<unknown> | undefined;
    const outerWork = withAbortSignal(outer.signal, async () => {
      await withAbortSignal(inner.signal, async () => {
        request = pendingRequest();
        expect(openAbortScopes()).toBe(2);
        inner.abort();
        expect(isLakebaseError(await request, 'LAKEBASE_ABORTED')).toBe(true);
      });
      // The outer owner was not aborted: its scope is still open and still owns new requests.
      expect(openAbortScopes()).toBe(1);
      const second = pendingRequest();
      outer.abort();
      expect(isLakebaseError(await second, 'LAKEBASE_ABORTED')).toBe(true);
    });
    await outerWork;
    expect(openAbortScopes()).toBe(0);
  });

  it('keeps the signal of a scope whose sibling settled first (the storage is only turned off at zero)', async () => {
    const long = new AbortController();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const longWork = withAbortSignal(long.signal, async () => {
      await gate;
      // The short sibling has settled by now; a request started here must still belong to `long`.
      const request = pendingRequest();
      long.abort();
      return request;
    });
    await withAbortSignal(new AbortController().signal, async () => {});
    expect(openAbortScopes()).toBe(1);
    release();
    expect(isLakebaseError(await longWork, 'LAKEBASE_ABORTED')).toBe(true);
    expect(openAbortScopes()).toBe(0);
  });

  it('closes the scope when the work rejects or throws synchronously', async () => {
    const signal = new AbortController().signal;
    await expect(withAbortSignal(signal, async () => Promise.reject(new Error('refused')))).rejects.toThrow('refused');
    expect(openAbortScopes()).toBe(0);
    expect(() =>
      withAbortSignal(signal, () => {
        throw new Error('thrown before any promise');
      }),
    ).toThrow('thrown before any promise');
    expect(openAbortScopes()).toBe(0);
  });
});
