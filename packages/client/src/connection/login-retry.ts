/**
 * Which failed logins are worth another try. A waking (scaled-to-zero) endpoint or a freshly created branch briefly
 * refuses logins ("External authorization failed", "the database system is starting up", a reset connection, a
 * timeout): those heal, so the pool retries them with exponential backoff and jitter within the connect timeout. A
 * wrong role, database or (after one fresh-token retry) password will not heal, so those fail at once.
 */

import { backoffDelay, monotonicClock, sleep } from '../time.js';
import { connectionFailureOf } from './connection-failures.js';

/** The `event` field of the log line of each retried login (the CLI prints "waking the endpoint" for it). */
export const LOGIN_RETRY_EVENT = 'login-retry';

/**
 * Lakebase's answer while its authorization service is not reachable yet ("External authorization failed"): not a
 * connection failure in PostgreSQL's terms, but one that heals like a waking compute.
 */
const EXTERNAL_AUTHORIZATION_FAILED = 'XX000';

/**
 * True for a login failure that may heal by itself (waking endpoint, reset, timeout): a transient failure in
 * {@link connectionFailureOf}'s classification, or Lakebase's XX000. False for everything else, notably 28P01 (token
 * refused), 28000 (unknown role), 3D000 (unknown database), TLS and configuration errors.
 */
export function isTransientLoginFailure(error: unknown): boolean {
  if (!error || typeof error !== 'object') return false;
  if ((error as { name?: unknown }).name === 'LakebaseError') return false; // config/credential: has its own retry
  const code = (error as { code?: unknown }).code;
  if (code === EXTERNAL_AUTHORIZATION_FAILED) return true;
  const failure = connectionFailureOf(error);
  if (failure) return failure.transient;
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return false; // the server gave a definite answer
  const cause = (error as { cause?: unknown }).cause;
  return cause !== undefined && cause !== error && isTransientLoginFailure(cause);
}

/**
 * True when a query failed because the server had already closed the connection (terminated the backend, idle or
 * session timeout) or the client knew it was dead: the statement did not run to completion, so running it once more
 * on a fresh connection is safe.
 */
export function isServerClosedConnection(error: unknown): boolean {
  const failure = connectionFailureOf(error);
  return failure?.kind === 'shutdown' && failure.transient;
}

/** Backoff of the connect retry. */
export interface ConnectRetryOptions {
  /** First delay in ms (default 100); doubles each attempt. */
  baseDelayMs?: number;
  /** Largest delay in ms (default 2000). */
  maxDelayMs?: number;
  /** Random source for the jitter (tests). */
  random?: () => number;
  /** Waits `ms` (tests may shorten it). */
  sleep?: (ms: number) => Promise<void>;
  /** Monotonic time in ms for the deadline (tests). Default `performance.now`. */
  now?: () => number;
}

interface LoginRetryContext {
  /** The total budget (the connect timeout) in ms; 0 = no deadline. */
  timeoutMs: number;
  options: ConnectRetryOptions;
  /** Called for a 28P01; resolves true when the refused token was replaced and one more try is worth it. */
  onTokenRefused(error: unknown): Promise<boolean>;
  onTransient(error: unknown, attempt: number, delayMs: number): void;
  stopped(): boolean;
  /** A first attempt already made and failed (the pool's fast path); it counts as attempt one. */
  failedFirst?: FailedAttempt;
}

/** An attempt that failed, and when it started on the {@link retryClock}. */
export interface FailedAttempt {
  error: unknown;
  startedAt: number;
}

/** The clock the retry deadline is measured on: the injected one (tests), else the monotonic clock. */
export function retryClock(options: ConnectRetryOptions): () => number {
  return options.now ?? monotonicClock.now;
}

/** Runs `attempt` until it succeeds, a failure will not heal, or the connect timeout would be exceeded. */
export async function withLoginRetry<T>(attempt: () => Promise<T>, ctx: LoginRetryContext): Promise<T> {
  const now = retryClock(ctx.options);
  const wait = ctx.options.sleep ?? ((ms: number) => sleep(ms));
  const deadline = ctx.timeoutMs > 0 ? (ctx.failedFirst?.startedAt ?? now()) + ctx.timeoutMs : Number.POSITIVE_INFINITY;
  let tokenRetried = false;
  let retries = 0;
  let failed = ctx.failedFirst;
  for (;;) {
    try {
      if (failed) throw failed.error;
      return await attempt();
    } catch (error) {
      failed = undefined;
      if (ctx.stopped()) throw error;
      if ((error as { code?: unknown } | undefined)?.code === '28P01') {
        if (tokenRetried || !(await ctx.onTokenRefused(error))) throw error;
        tokenRetried = true;
        continue;
      }
      if (!isTransientLoginFailure(error)) throw error;
      const { baseDelayMs = 100, maxDelayMs = 2000, random } = ctx.options;
      const delay = backoffDelay(retries, baseDelayMs, maxDelayMs, random);
      if (now() + delay >= deadline) throw error;
      retries++;
      ctx.onTransient(error, retries, delay);
      await wait(delay);
    }
  }
}
