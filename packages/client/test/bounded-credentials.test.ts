/**
 * The credential manager facing a workspace that answers badly, on a fake clock: a token already expired on arrival
 * (a failed refresh with a 1 s floor, never a loop), a token that expires in a year (no timer beyond Node's limit),
 * and a caller whose wait is bounded by its connect timeout.
 */
import { describe, expect, it } from 'vitest';
import { boundedRefreshDelay, MIN_REFRESH_INTERVAL_MS } from '../src/connection/refresh-policy.js';
import { type DatabaseCredential, isLakebaseError, type TimerHandle, type Timers } from '../src/index.js';
import { clampTimerDelay, MAX_TIMER_DELAY_MS, withDeadline } from '../src/time.js';
import { CredentialManager } from '../src/toolkit.js';
import { FakeTime } from './helpers/fake-time.js';

const YEAR = 365 * 24 * 3_600_000;

/** FakeTime that also records every delay it was asked for. */
class RecordingTime extends FakeTime {
  readonly delays: number[] = [];
  override setTimeout(fn: () => void, ms: number, keepAlive = false): TimerHandle {
    this.delays.push(ms);
    return super.setTimeout(fn, ms, keepAlive);
  }
}

function manager(time: FakeTime & Timers, lifetimeMs: () => number) {
  let calls = 0;
  const source = async (): Promise<DatabaseCredential> => {
    calls++;
    const credential = { expiresAt: new Date(time.now() + lifetimeMs()) } as DatabaseCredential;
    Object.defineProperty(credential, 'token', { value: `bounded-token-${calls}` });
    return credential;
  };
  const m = new CredentialManager({ fetchCredential: source, clock: time, timers: time, random: () => 0.5 });
  return { m, calls: () => calls };
}

describe('timer bounds', () => {
  it('clampTimerDelay keeps every delay within [0, 2^31-1]', () => {
    expect(clampTimerDelay(-5)).toBe(0);
    expect(clampTimerDelay(Number.NaN)).toBe(0);
    expect(clampTimerDelay(1234)).toBe(1234);
    expect(clampTimerDelay(YEAR)).toBe(MAX_TIMER_DELAY_MS);
    expect(clampTimerDelay(Number.POSITIVE_INFINITY)).toBe(MAX_TIMER_DELAY_MS);
    expect(boundedRefreshDelay(0)).toBe(MIN_REFRESH_INTERVAL_MS);
    expect(boundedRefreshDelay(YEAR / 2)).toBe(MAX_TIMER_DELAY_MS);
  });

  it('withDeadline rejects with the given error when the promise is too slow, and passes it through otherwise', async () => {
    const time = new FakeTime();
    const slow = withDeadline(new Promise(() => {}), 100, () => new Error('too slow'), time);
    const outcome = slow.catch((e: Error) => e.message);
    await time.advance(100);
    expect(await outcome).toBe('too slow');
    expect(await withDeadline(Promise.resolve(7), 100, () => new Error('x'), time)).toBe(7);
    expect(time.pending).toBe(0);
  });
});

describe('a token already expired on arrival', () => {
  it('fails the round with LAKEBASE_API_ERROR (token-expired) after 3 attempts >= 1 s apart; nothing scheduled after', async () => {
    const time = new RecordingTime();
    const { m, calls } = manager(time, () => -60_000);
    const events: unknown[] = [];
    m.on('token-refresh-failed', (e) => events.push(e));
    const outcome = m.getToken().catch((e: unknown) => e);
    await time.advance(1000);
    expect(calls()).toBe(2);
    await time.advance(5000);
    const error = await outcome;
    expect(isLakebaseError(error, 'LAKEBASE_CREDENTIAL_FAILED')).toBe(true);
    expect((error as { details: Record<string, unknown> }).details).toMatchObject({
      causeCode: 'LAKEBASE_API_ERROR',
      reason: 'token-expired',
    });
    expect(calls()).toBe(3);
    expect(events).toHaveLength(3);
    expect(time.delays.every((d) => d >= MIN_REFRESH_INTERVAL_MS)).toBe(true);
    // An idle manager with no usable token does not loop.
    await time.advance(60_000);
    expect(calls()).toBe(3);
    expect(m.status().expiresAt).toBeUndefined();
  });

  it('a token that lives 10 ms is refreshed no more than once a second', async () => {
    const time = new RecordingTime();
    const { m, calls } = manager(time, () => 10);
    await m.getToken();
    await time.advance(10_000);
    expect(calls()).toBeLessThanOrEqual(11);
    await m.close();
  });
});

describe('a token that expires far in the future', () => {
  it('schedules its refresh within the timer limit', async () => {
    const time = new RecordingTime();
    const { m, calls } = manager(time, () => YEAR);
    await m.getToken();
    expect(calls()).toBe(1);
    expect(Math.max(...time.delays)).toBeLessThanOrEqual(MAX_TIMER_DELAY_MS);
    await time.advance(1000);
    expect(calls()).toBe(1);
    await m.close();
  });
});

describe('a caller waiting on a hanging credential request', () => {
  it('gets LAKEBASE_CREDENTIAL_FAILED (reason timeout) after its timeout; the manager stays usable', async () => {
    const time = new FakeTime();
    let release: (() => void) | undefined;
    let calls = 0;
    const m = new CredentialManager({
      clock: time,
      timers: time,
      fetchCredential: async () => {
        calls++;
        if (calls === 1) await new Promise<void>((resolve) => (release = resolve));
        const credential = { expiresAt: new Date(time.now() + 3_600_000) } as DatabaseCredential;
        Object.defineProperty(credential, 'token', { value: `waited-token-${calls}` });
        return credential;
      },
    });
    const outcome = m.getToken({ timeoutMs: 2000 }).catch((e: unknown) => e);
    await time.advance(1999);
    await time.advance(1);
    const error = await outcome;
    expect(isLakebaseError(error, 'LAKEBASE_CREDENTIAL_FAILED')).toBe(true);
    expect((error as { details: Record<string, unknown> }).details).toMatchObject({
      causeCode: 'LAKEBASE_API_UNREACHABLE',
      reason: 'timeout',
    });
    release?.();
    expect(await m.getToken({ timeoutMs: 2000 })).toBe('waited-token-1');
    await m.close();
  });
});
