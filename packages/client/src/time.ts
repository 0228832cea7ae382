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

/**
 * The longest delay Node's `setTimeout` honours (2^31-1 ms, about 24.8 days). A longer one is silently turned into
 * 1 ms (with a `TimeoutOverflowWarning`), which turns a "refresh in six months" into a tight loop.
 */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

/** A delay that every timer can honour: non-negative, finite, at most {@link MAX_TIMER_DELAY_MS}. */
export function clampTimerDelay(ms: number): number {
  if (Number.isNaN(ms) || ms <= 0) return 0;
  return Math.min(ms, MAX_TIMER_DELAY_MS);
}

/** Monotonic time (`performance.now`): durations and deadlines, which a wall-clock step must not stretch or cut. */
export const monotonicClock: Clock = { now: () => performance.now() };

export const systemTimers: Timers = {
  setTimeout(fn, ms, keepAlive = false) {
    const handle = setTimeout(fn, clampTimerDelay(ms));
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
  return clampTimerDelay(Math.round(exp / 2 + random() * (exp / 2)));
}

/**
 * `promise`, or the error `onTimeout()` builds if it has not settled within `ms` (the promise itself runs on; only the
 * wait is bounded). `ms` <= 0 or infinite means no deadline.
 */
export function withDeadline<T>(
  promise: Promise<T>,
  ms: number,
  onTimeout: () => Error,
  timers: Timers = systemTimers,
): Promise<T> {
  if (!(ms > 0) || ms === Number.POSITIVE_INFINITY) return promise;
  return new Promise<T>((resolve, reject) => {
    const handle = timers.setTimeout(() => reject(onTimeout()), ms, true);
    promise.then(
      (value) => {
        timers.clearTimeout(handle);
        resolve(value);
      },
      (error: unknown) => {
        timers.clearTimeout(handle);
        reject(error);
      },
    );
  });
}

/**
 * Whether `promise` settles (either way) within `ms`: for a bounded wait on something that may never finish (a child
 * process exiting, a lock), where running out of time is an answer rather than an error. The timer never keeps the
 * process alive.
 */
export function settlesWithin(promise: Promise<unknown>, ms: number, timers: Timers = systemTimers): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const handle = timers.setTimeout(() => resolve(false), ms, false);
    const done = () => {
      timers.clearTimeout(handle);
      resolve(true);
    };
    promise.then(done, done);
  });
}
