/**
 * Time, injectable. Production code asks a {@link Clock} for the time and {@link Timers} for timeouts, so tests can
 * drive expiry and refresh with a fake clock instead of sleeping. Background timers are unref'd: they never keep a
 * process alive. A delay that a caller is awaiting (a retry backoff) is ref'd like any pending I/O, so a script
 * waiting for its first token does not exit half way.
 */

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

/** An opaque timer handle. */
export type TimerHandle = unknown;

export interface Timers {
  /** Schedule `fn` after `ms`. Unless `keepAlive`, the timer must not keep the process alive. */
  setTimeout(fn: () => void, ms: number, keepAlive?: boolean): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** Wall-clock time: token expiry and anything compared with a timestamp from a server. */
export const systemClock: Clock = { now: () => Date.now() };

/** Monotonic time (`performance.now`): durations and deadlines, which a wall-clock step must not stretch or cut. */
export const monotonicClock: Clock = { now: () => performance.now() };

export const systemTimers: Timers = {
  setTimeout(fn, ms, keepAlive = false) {
    const handle = setTimeout(fn, Math.max(0, ms));
    if (!keepAlive) handle.unref();
    return handle;
  },
  clearTimeout(handle) {
    clearTimeout(handle as NodeJS.Timeout);
  },
};

/** Resolve after `ms` using `timers`; `keepAlive` when a caller is waiting on it. */
export function sleep(ms: number, timers: Timers = systemTimers, keepAlive = true): Promise<void> {
  return new Promise((resolve) => {
    timers.setTimeout(resolve, ms, keepAlive);
  });
}

/**
 * Exponential backoff with "equal jitter": half the exponential delay plus a random half, capped at `maxMs`.
 * `attempt` counts from 0.
 */
export function backoffDelay(
  attempt: number,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const exp = Math.min(maxMs, baseMs * 2 ** attempt);
  return Math.round(exp / 2 + random() * (exp / 2));
}
