/** waitForOperation: polls until done, reports progress, is bounded, cancellable, and turns `error` into a code. */
import { describe, expect, it, vi } from 'vitest';
import {
  createBranch,
  deleteBranch,
  LakebaseApi,
  type Operation,
  parseDuration,
  waitForOperation,
} from '../src/toolkit.js';

/** An API whose operation is done after `pollsUntilDone` GETs; counts the GETs. */
function fakeApi(pollsUntilDone: number, final: Partial<Operation> = { response: { name: 'x' } }) {
  let gets = 0;
  const api = {
    async postgres(method: string, name: string) {
      expect(method).toBe('GET');
      gets++;
      return gets >= pollsUntilDone ? { name, done: true, ...final } : { name, done: false };
    },
  } as unknown as LakebaseApi;
  return { api, gets: () => gets };
}
const op: Operation = { name: 'projects/p/branches/b/operations/1', done: false };

describe('waitForOperation', () => {
  it('polls until done, reports progress, and returns the response', async () => {
    const { api, gets } = fakeApi(3);
    const progress: number[] = [];
    const response = await waitForOperation(api, op, { pollMs: 1, onProgress: (p) => progress.push(p.polls) });
    expect(response).toEqual({ name: 'x' });
    expect(gets()).toBe(3);
    expect(progress).toEqual([1, 2]);
  });

  it('answers at once for an operation already done', async () => {
    const { api, gets } = fakeApi(1);
    expect(await waitForOperation(api, { ...op, done: true, response: { ok: 1 } })).toEqual({ ok: 1 });
    expect(gets()).toBe(0);
  });

  it('fails with LAKEBASE_OPERATION_FAILED on an error and on the deadline', async () => {
    const failed = fakeApi(1, { error: { error_code: 'INTERNAL_ERROR', message: 'copy failed' } });
    await expect(waitForOperation(failed.api, op, { pollMs: 1 })).rejects.toMatchObject({
      code: 'LAKEBASE_OPERATION_FAILED',
      message: expect.stringContaining('[INTERNAL_ERROR] copy failed'),
    });
    // On fake timers: still waiting 1 ms before the deadline, failed at it.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    try {
      const never = fakeApi(Number.POSITIVE_INFINITY);
      let settled = false;
      const waiting = waitForOperation(never.api, op, { pollMs: 5, timeoutMs: 60 }).finally(() => {
        settled = true;
      });
      const failure = expect(waiting).rejects.toMatchObject({
        code: 'LAKEBASE_OPERATION_FAILED',
        details: { reason: 'timeout' },
      });
      await vi.advanceTimersByTimeAsync(59);
      expect(settled).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      await failure;
      expect(never.gets()).toBeGreaterThan(1);
    } finally {
      vi.useRealTimers();
    }
  });

  it('stops waiting when its signal aborts', async () => {
    // On fake timers the 1 s poll delay never passes: only the abort can end the wait.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    try {
      const never = fakeApi(Number.POSITIVE_INFINITY);
      const controller = new AbortController();
      const waiting = waitForOperation(never.api, op, { pollMs: 1000, signal: controller.signal });
      const failure = expect(waiting).rejects.toMatchObject({ code: 'LAKEBASE_ABORTED' });
      await vi.advanceTimersByTimeAsync(0);
      controller.abort();
      await failure;
      expect(never.gets()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('parseDuration', () => {
  it('reads s, m, h, d, w and bare seconds; refuses anything else', () => {
    expect([parseDuration('90'), parseDuration('90m'), parseDuration('12h'), parseDuration('7d')]).toEqual([
      90, 5400, 43_200, 604_800,
    ]);
    expect(parseDuration('2w')).toBe(1_209_600);
    for (const bad of ['', 'soon', '0d', '-1h', '1.5h']) {
      expect(() => parseDuration(bad)).toThrow(expect.objectContaining({ code: 'LAKEBASE_USAGE_ERROR' }));
    }
  });
});

describe('branch REST errors become coded errors', () => {
  /** A LakebaseApi whose every call answers `status` with a Databricks error body. */
  function failingApi(status: number, errorCode: string, message: string): LakebaseApi {
    const fetchFn = (async () =>
      new Response(JSON.stringify({ error_code: errorCode, message }), {
        status,
        headers: { 'content-type': 'application/json' },
      })) as typeof fetch;
    const auth = { host: 'https://example.cloud.databricks.com', getToken: async () => 'dapi-test' };
    return new LakebaseApi(auth, { fetch: fetchFn, retry: { maxAttempts: 1 } });
  }

  it('maps quota, a taken name and a protected branch', async () => {
    const quota = failingApi(400, 'QUOTA_EXCEEDED', 'project branch limit of 10 reached');
    await expect(createBranch(quota, 'projects/p', 'pr-1')).rejects.toMatchObject({ code: 'LAKEBASE_QUOTA_EXCEEDED' });
    const taken = failingApi(409, 'ALREADY_EXISTS', 'branch with such id already exists in the project');
    await expect(createBranch(taken, 'p', 'pr-1')).rejects.toMatchObject({ code: 'LAKEBASE_BRANCH_EXISTS' });
    const guarded = failingApi(400, 'BAD_REQUEST', 'cannot delete protected branch');
    await expect(deleteBranch(guarded, 'p', 'main')).rejects.toMatchObject({ code: 'LAKEBASE_BRANCH_PROTECTED' });
  });
});
