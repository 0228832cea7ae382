/** When a database token is refreshed: ahead of expiry, again after a failed round, and the bounds of those delays. */
import { backoffDelay, clampTimerDelay } from '../time.js';

/**
 * The shortest gap between two background refreshes, whatever the server says about expiry: a token that arrives
 * (nearly) expired must not turn an idle pool into a loop that gets the workspace rate-limited.
 */
export const MIN_REFRESH_INTERVAL_MS = 1000;

/**
 * When a token obtained at `obtainedAt` and expiring at `expiresAt` is refreshed (the later of half its life or
 * `refreshMarginMs` before expiry), and until when it may be handed out for a new login.
 */
export function refreshTimes(
  obtainedAt: number,
  expiresAt: number,
  refreshMarginMs: number,
): { refreshAt: number; usableUntil: number } {
  const lifetime = Math.max(0, expiresAt - obtainedAt);
  const refreshAt = Math.max(obtainedAt + lifetime / 2, expiresAt - refreshMarginMs);
  const usableUntil = expiresAt - Math.min(30_000, lifetime * 0.1);
  return { refreshAt, usableUntil };
}

/**
 * The next background try after `failedRounds` failed rounds, while the current token stays usable `remainingMs`
 * longer: the timer delay, and the floor below which lazy refreshes must not ask again.
 */
export function retryAfterFailure(
  remainingMs: number,
  failedRounds: number,
  backoff: { baseDelayMs: number; maxDelayMs: number; random: () => number },
): { delayMs: number; floorMs: number } {
  // Back off, but try again before the token becomes unusable (at least baseDelayMs apart, so no tight loop).
  const wait = backoffDelay(failedRounds - 1, backoff.baseDelayMs * 2, backoff.maxDelayMs, backoff.random);
  const delayMs = Math.min(wait, Math.max(remainingMs / 2, Math.min(backoff.baseDelayMs, remainingMs)));
  // The 1 s floor gives way only to the last chance of a short-lived token that is still usable.
  const floorMs = Math.min(MIN_REFRESH_INTERVAL_MS, remainingMs / 2);
  return { delayMs, floorMs };
}

/** A background refresh delay: at least `floorMs` (default 1 s), at most what a timer can honour. */
export function boundedRefreshDelay(delayMs: number, floorMs = MIN_REFRESH_INTERVAL_MS): number {
  return clampTimerDelay(Math.max(floorMs, delayMs));
}
