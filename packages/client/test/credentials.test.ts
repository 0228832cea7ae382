import { describe, expect, it } from 'vitest';
import {
  type DatabaseCredential,
  LakebaseError,
  type TokenRefreshedEvent,
  type TokenRefreshFailedEvent,
} from '../src/index.js';
import { CredentialManager } from '../src/toolkit.js';
import { FakeTime, flush } from './helpers/fake-time.js';

const HOUR = 3_600_000;

/** A credential source whose answers the test controls. */
class FakeSource {
  calls = 0;
  failWith: Error | undefined;
  ttlMs = HOUR;
  private gate: Promise<void> | undefined;
  private openGate: (() => void) | undefined;
  constructor(private readonly time: FakeTime) {}

  hold(): void {
    this.gate = new Promise((resolve) => {
      this.openGate = resolve;
    });
  }
  release(): void {
    this.openGate?.();
    this.gate = undefined;
  }

  fetch = async (): Promise<DatabaseCredential> => {
    this.calls++;
    const n = this.calls;
    if (this.gate) await this.gate;
    if (this.failWith) throw this.failWith;
    return { token: `secret-token-number-${n}`, expiresAt: new Date(this.time.now() + this.ttlMs) };
  };
}

function setup(options: { ttlMs?: number; margin?: number; background?: boolean } = {}) {
  const time = new FakeTime();
  const source = new FakeSource(time);
  source.ttlMs = options.ttlMs ?? HOUR;
  const manager = new CredentialManager({
    fetchCredential: source.fetch,
    clock: time,
    timers: time,
    random: () => 0.5,
    ...(options.margin === undefined ? {} : { refreshMarginMs: options.margin }),
    ...(options.background === undefined ? {} : { backgroundRefresh: options.background }),
  });
  const refreshed: TokenRefreshedEvent[] = [];
  const failed: TokenRefreshFailedEvent[] = [];
  manager.on('token-refreshed', (e: TokenRefreshedEvent) => refreshed.push(e));
  manager.on('token-refresh-failed', (e: TokenRefreshFailedEvent) => failed.push(e));
  return { time, source, manager, refreshed, failed };
}

const transient = () =>
  new LakebaseError('LAKEBASE_API_UNAVAILABLE', 'HTTP 503 TEMPORARILY_UNAVAILABLE', { retryable: true });

describe('CredentialManager', () => {
  it('caches the token: many calls, one request', async () => {
    const { manager, source } = setup();
    expect(await manager.getToken()).toBe('secret-token-number-1');
    for (let i = 0; i < 10; i++) expect(await manager.getToken()).toBe('secret-token-number-1');
    expect(source.calls).toBe(1);
  });

  it('a burst of 200 concurrent callers with no token costs one request', async () => {
    const { manager, source } = setup();
    source.hold();
    const burst = Array.from({ length: 200 }, () => manager.getToken());
    await flush();
    source.release();
    const tokens = await Promise.all(burst);
    expect(new Set(tokens)).toEqual(new Set(['secret-token-number-1']));
    expect(source.calls).toBe(1);
  });

  it('1 h token: background refresh 5 min before expiry (later than half-life)', async () => {
    const { manager, source, time, refreshed } = setup();
    await manager.getToken();
    const status = manager.status();
    expect(status.refreshAt?.getTime()).toBe(time.now() + HOUR - 300_000);
    await time.advance(HOUR - 300_001);
    expect(source.calls).toBe(1);
    await time.advance(1);
    expect(source.calls).toBe(2);
    expect(await manager.getToken()).toBe('secret-token-number-2');
    expect(refreshed.map((e) => e.reason)).toEqual(['initial', 'scheduled']);
  });

  it('short token: refresh at half-life (later than 5 min before expiry)', async () => {
    const { manager, source, time } = setup({ ttlMs: 3000 });
    await manager.getToken();
    await time.advance(1499);
    expect(source.calls).toBe(1);
    await time.advance(1);
    expect(source.calls).toBe(2);
    // Rotation keeps going, one request per half-life.
    await time.advance(1500 * 10);
    expect(source.calls).toBe(12);
  });

  it('the margin is configurable', async () => {
    const { manager, time } = setup({ margin: 600_000 });
    await manager.getToken();
    expect(manager.status().refreshAt?.getTime()).toBe(time.now() + HOUR - 600_000);
  });

  it('lazy refresh when the background timer did not fire: the cached token is returned at once', async () => {
    const { manager, source, time } = setup({ background: false });
    await manager.getToken();
    await time.advance(HOUR - 200_000); // past refreshAt, still valid
    expect(source.calls).toBe(1);
    source.hold();
    expect(await manager.getToken()).toBe('secret-token-number-1'); // no wait on the network
    expect(source.calls).toBe(2);
    expect(await manager.getToken()).toBe('secret-token-number-1'); // still one request in flight
    expect(source.calls).toBe(2);
    source.release();
    await flush();
    expect(await manager.getToken()).toBe('secret-token-number-2');
  });

  it('200 callers at expiry share one request', async () => {
    const { manager, source, time } = setup({ background: false });
    await manager.getToken();
    await time.advance(HOUR + 1);
    source.hold();
    const burst = Array.from({ length: 200 }, () => manager.getToken());
    await flush();
    source.release();
    expect(new Set(await Promise.all(burst))).toEqual(new Set(['secret-token-number-2']));
    expect(source.calls).toBe(2);
  });

  it('refresh failures while the token is valid: keep serving it, retry with backoff, recover', async () => {
    const { manager, source, time, failed, refreshed } = setup({ ttlMs: 60_000 });
    await manager.getToken();
    source.failWith = transient();
    await time.advance(30_000); // half-life: the background round starts and fails
    await time.advance(5_000);
    expect(await manager.getToken()).toBe('secret-token-number-1');
    expect(failed.length).toBeGreaterThanOrEqual(3);
    expect(failed[0]).toMatchObject({ reason: 'scheduled', attempt: 1, willRetry: true });
    expect(failed[2]).toMatchObject({ attempt: 3, willRetry: false });
    expect(failed[0]?.currentExpiresAt?.getTime()).toBe(Date.parse('2026-01-01T00:01:00Z'));
    source.failWith = undefined;
    await time.advance(15_000); // a background retry before expiry succeeds
    const last = refreshed.at(-1);
    expect(last?.reason).toBe('retry');
    expect(await manager.getToken()).toMatch(/^secret-token-number-\d+$/);
    expect(await manager.getToken()).not.toBe('secret-token-number-1');
    expect(manager.status().consecutiveFailures).toBe(0);
  });

  it('after expiry with the source failing: LAKEBASE_CREDENTIAL_FAILED carrying the cause', async () => {
    const { manager, source, time } = setup({ ttlMs: 10_000, background: false });
    await manager.getToken();
    source.failWith = transient();
    await time.advance(10_001);
    const pending = manager.getToken().catch((e: unknown) => e);
    await time.advance(60_000); // let the backoff delays elapse
    const error = (await pending) as LakebaseError;
    expect(error).toBeInstanceOf(LakebaseError);
    expect(error.code).toBe('LAKEBASE_CREDENTIAL_FAILED');
    expect((error.cause as LakebaseError).code).toBe('LAKEBASE_API_UNAVAILABLE');
    expect(error.message).toContain('expired at');
    expect(source.calls).toBe(1 + 3);
  });

  it('a non-retryable failure is not retried within the round', async () => {
    const { manager, source } = setup();
    source.failWith = new LakebaseError('LAKEBASE_AUTH_FAILED', 'HTTP 403 Invalid access token');
    const error = (await manager.getToken().catch((e: unknown) => e)) as LakebaseError;
    expect(error.code).toBe('LAKEBASE_CREDENTIAL_FAILED');
    expect((error.cause as LakebaseError).code).toBe('LAKEBASE_AUTH_FAILED');
    expect(error.suggestion).toBeTruthy();
    expect(source.calls).toBe(1);
  });

  it('forceRefresh(rejectedToken): a storm of refused logins costs one request', async () => {
    const { manager, source } = setup();
    const rejected = await manager.getToken();
    source.hold();
    const storm = Array.from({ length: 50 }, () => manager.forceRefresh(rejected));
    await flush();
    source.release();
    expect(new Set(await Promise.all(storm))).toEqual(new Set(['secret-token-number-2']));
    // Late reports of the same refused token reuse the new one; a refusal of the new token refreshes again.
    expect(await manager.forceRefresh(rejected)).toBe('secret-token-number-2');
    expect(source.calls).toBe(2);
    expect(await manager.forceRefresh('secret-token-number-2')).toBe('secret-token-number-3');
  });

  it('events carry expiry times, never the token', async () => {
    const { manager, source, time, refreshed, failed } = setup({ ttlMs: 4000 });
    await manager.getToken();
    source.failWith = new Error('boom secret-token-number-1 leaked into a message');
    await time.advance(2500);
    expect(refreshed[0]?.expiresAt).toBeInstanceOf(Date);
    expect(refreshed[0]?.refreshAt).toBeInstanceOf(Date);
    const text = JSON.stringify({ refreshed, failed, status: manager.status(), manager });
    expect(failed.length).toBeGreaterThan(0);
    expect(text).not.toContain('secret-token-number');
    expect(String(failed[0]?.error.message)).toContain('[REDACTED]');
  });

  it('background timers are unref-style (never keep the process alive); close() clears them and is idempotent', async () => {
    const { manager, time } = setup();
    await manager.getToken();
    expect(time.pending).toBe(1);
    expect(time.pendingKeepAlive).toBe(0);
    await manager.close();
    await manager.close();
    expect(time.pending).toBe(0);
    const error = (await manager.getToken().catch((e: unknown) => e)) as LakebaseError;
    expect(error.code).toBe('LAKEBASE_CLOSED');
  });
});
