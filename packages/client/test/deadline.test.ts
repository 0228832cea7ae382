/**
 * The kit's one deadline helpers (time.ts): `withDeadline` bounds a wait with an error, `settlesWithin` answers
 * whether something finished in time. The emulator (storage stop, standby exit, branch copies) and the app's health
 * check use them instead of their own `Promise.race` with a timer. Time is a fake clock here: nothing sleeps.
 */
import { describe, expect, it } from 'vitest';
import { settlesWithin, withDeadline } from '../src/time.js';
import { FakeTime } from './helpers/fake-time.js';

describe('withDeadline', () => {
  it('rejects with the caller’s error once the time is up, and the timer is gone after', async () => {
    const time = new FakeTime();
    const never = new Promise<never>(() => {});
    const bounded = withDeadline(
      never,
      1000,
      () => Object.assign(new Error('connection timeout'), { code: 'ETIMEDOUT' }),
      time,
    );
    const outcome = bounded.then(
      () => 'resolved',
      (error: Error & { code?: string }) => error.code,
    );
    await time.advance(999);
    expect(time.pending).toBe(1);
    await time.advance(1);
    expect(await outcome).toBe('ETIMEDOUT');
    expect(time.pending).toBe(0);
  });

  it('passes a result or an error through and clears its timer', async () => {
    const time = new FakeTime();
    await expect(withDeadline(Promise.resolve(7), 1000, () => new Error('late'), time)).resolves.toBe(7);
    await expect(withDeadline(Promise.reject(new Error('own')), 1000, () => new Error('late'), time)).rejects.toThrow(
      'own',
    );
    expect(time.pending).toBe(0);
  });
});

describe('settlesWithin', () => {
  it('is false when the time runs out first, without keeping the process alive', async () => {
    const time = new FakeTime();
    const answer = settlesWithin(new Promise(() => {}), 500, time);
    expect(time.pendingKeepAlive).toBe(0);
    await time.advance(500);
    expect(await answer).toBe(false);
  });

  it('is true when the promise settles in time, either way, and the timer is cleared', async () => {
    const time = new FakeTime();
    let finish!: () => void;
    const exited = new Promise<void>((resolve) => {
      finish = resolve;
    });
    const answer = settlesWithin(exited, 500, time);
    await time.advance(100);
    finish();
    expect(await answer).toBe(true);
    expect(await settlesWithin(Promise.reject(new Error('crashed')), 500, time)).toBe(true);
    expect(time.pending).toBe(0);
  });
});
