/**
 * `CredentialManager` owns one database token (per identity and target): it caches it, refreshes it in the background
 * ahead of expiry (at the later of half its life or `refreshMarginMs` before expiry), refreshes lazily when the
 * background timer did not fire (frozen or throttled CPU), lets concurrent callers share one request, retries failures
 * with exponential backoff and jitter, and keeps serving the current token while it is still valid. Only once no
 * valid token is left do callers get `LAKEBASE_CREDENTIAL_FAILED`, carrying the cause.
 *
 * Events (payloads carry times, never the token):
 * - `token-refreshed`: {@link TokenRefreshedEvent}
 * - `token-refresh-failed`: {@link TokenRefreshFailedEvent}
 */
import { EventEmitter } from 'node:events';
import { isLakebaseError, LakebaseError, registerSecret } from '../errors.js';
import {
  backoffDelay,
  type Clock,
  systemClock,
  systemTimers,
  type TimerHandle,
  type Timers,
  withDeadline,
} from '../time.js';
import { type DatabaseCredential, jwtClaims } from '../workspace/api.js';
import { errorText, ownerController, sleepUnlessAborted, unlessAborted, withAbortSignal } from '../workspace/http.js';
import { boundedRefreshDelay, MIN_REFRESH_INTERVAL_MS, refreshTimes, retryAfterFailure } from './refresh-policy.js';

/** How long `close()` waits for an in-flight credential request to settle once cancelled. */
export const CLOSE_WAIT_MS = 1000;

export type RefreshReason = 'initial' | 'scheduled' | 'lazy' | 'expired' | 'forced' | 'retry';

export interface TokenRefreshedEvent {
  reason: RefreshReason;
  /** When the new token expires. */
  expiresAt: Date;
  /** When the next background refresh is due. */
  refreshAt: Date;
  /** How long the (successful) request round took, in ms. */
  durationMs: number;
  /** Attempts used in this round (1 = first try). */
  attempts: number;
}

export interface TokenRefreshFailedEvent {
  reason: RefreshReason;
  /** The failure, redacted. */
  error: LakebaseError;
  /** Attempt number within the round, from 1. */
  attempt: number;
  /** True when another attempt follows. */
  willRetry: boolean;
  /** Expiry of the token still being served, if any. */
  currentExpiresAt: Date | undefined;
}

export interface CredentialManagerOptions {
  /** Mint a new database token (one REST call). */
  fetchCredential: () => Promise<DatabaseCredential>;
  /** Refresh at most this long before expiry; the later of this and half-life wins (default 300000 = 5 min). */
  refreshMarginMs?: number;
  /** Attempts per refresh round, default 3. */
  maxAttempts?: number;
  /** First backoff delay, default 200 ms; doubles per attempt with jitter, capped at `maxDelayMs` (default 10000). */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Refresh in the background ahead of expiry (default true). With false, refresh happens lazily on use only. */
  backgroundRefresh?: boolean;
  clock?: Clock;
  timers?: Timers;
  random?: () => number;
}

interface CachedCredential {
  token: string;
  /** The token's JWT `sub`, decoded once here. */
  role: string | undefined;
  expiresAt: number;
  obtainedAt: number;
  refreshAt: number;
  /** Below this time the token is too close to expiry to hand out for a new login. */
  usableUntil: number;
}

/** How long a caller is willing to wait for a token. */
export interface CredentialWaitOptions {
  /**
   * Give up waiting after this many ms (the connect timeout) with `LAKEBASE_CREDENTIAL_FAILED` whose cause has
   * `details.reason = 'timeout'`. The request itself runs on, bounded by its own deadlines. 0 or absent: no limit.
   */
  timeoutMs?: number;
}

export interface CredentialStatus {
  expiresAt: Date | undefined;
  refreshAt: Date | undefined;
  refreshing: boolean;
  consecutiveFailures: number;
  /** Credential requests made (successful or not). */
  requests: number;
  closed: boolean;
}

export class CredentialManager extends EventEmitter {
  private readonly fetchCredential: () => Promise<DatabaseCredential>;
  private readonly clock: Clock;
  private readonly timers: Timers;
  private readonly random: () => number;
  private readonly refreshMarginMs: number;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly backgroundRefresh: boolean;
  private current: CachedCredential | undefined;
  private inflight: Promise<CachedCredential> | undefined;
  private timer: TimerHandle | undefined;
  private failedRounds = 0;
  /** After a failed round, lazy refreshes wait until the scheduled retry (no hammering of a failing API). */
  private retryNotBefore = 0;
  private requests = 0;
  private closed = false;
  /** Aborted by {@link close}: owns the REST requests of every refresh round (workspace/http.ts withAbortSignal). */
  private readonly lifetime = ownerController();

  constructor(options: CredentialManagerOptions) {
    super();
    this.fetchCredential = options.fetchCredential;
    this.clock = options.clock ?? systemClock;
    this.timers = options.timers ?? systemTimers;
    this.random = options.random ?? Math.random;
    this.refreshMarginMs = options.refreshMarginMs ?? 300_000;
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 3);
    this.baseDelayMs = options.baseDelayMs ?? 200;
    this.maxDelayMs = options.maxDelayMs ?? 10_000;
    this.backgroundRefresh = options.backgroundRefresh ?? true;
  }

  /** A valid token: the cached one when fresh, else the result of the (shared) refresh. */
  async getToken(options: CredentialWaitOptions = {}): Promise<string> {
    return (await this.getCredential(options)).token;
  }

  /** True when a cached token can be handed out for a new login without waiting on the network. */
  hasUsableToken(): boolean {
    return this.current !== undefined && this.clock.now() < this.current.usableUntil;
  }

  /**
   * A valid credential. Never waits on the network while a usable token is cached: past the refresh time it starts a
   * background refresh and returns the cached token at once.
   * @throws LakebaseError `LAKEBASE_CREDENTIAL_FAILED` when no usable token exists and refreshing failed;
   *   `LAKEBASE_CLOSED` after {@link close}.
   */
  async getCredential(options: CredentialWaitOptions = {}): Promise<DatabaseCredential> {
    this.assertOpen();
    const now = this.clock.now();
    const current = this.current;
    if (current && now < current.refreshAt) return publicCredential(current);
    if (current && now < current.usableUntil) {
      if (now >= this.retryNotBefore) this.refresh('lazy').catch(() => {});
      return publicCredential(current);
    }
    try {
      return publicCredential(await this.waitFor(this.refresh(current ? 'expired' : 'initial'), options.timeoutMs));
    } catch (error) {
      throw this.credentialFailed(error);
    }
  }

  /**
   * Get a new token now because the server refused `rejectedToken` (SQLSTATE 28P01). If the cached token is already a
   * different, usable one, it is returned without a request; concurrent calls share one request. So a storm of refused
   * logins costs one request.
   */
  async forceRefresh(rejectedToken?: string, options: CredentialWaitOptions = {}): Promise<string> {
    this.assertOpen();
    const current = this.current;
    if (
      current &&
      rejectedToken !== undefined &&
      current.token !== rejectedToken &&
      this.clock.now() < current.usableUntil
    ) {
      return current.token;
    }
    try {
      return (await this.waitFor(this.refresh('forced'), options.timeoutMs)).token;
    } catch (error) {
      throw this.credentialFailed(error);
    }
  }

  /** Cache state for health checks and diagnostics. Contains no token. */
  status(): CredentialStatus {
    return {
      expiresAt: this.current ? new Date(this.current.expiresAt) : undefined,
      refreshAt: this.current ? new Date(this.current.refreshAt) : undefined,
      refreshing: this.inflight !== undefined,
      consecutiveFailures: this.failedRounds,
      requests: this.requests,
      closed: this.closed,
    };
  }

  /**
   * Stop background refresh and cancel an in-flight request: its socket is closed, callers waiting on it fail with
   * `LAKEBASE_CLOSED` at once, and no further attempt is made. Then wait for the round to settle, at most
   * {@link CLOSE_WAIT_MS} (an injected `fetchCredential` may ignore the cancellation). Idempotent.
   */
  async close(): Promise<void> {
    this.closed = true;
    this.clearTimer();
    if (!this.lifetime.signal.aborted) this.lifetime.abort(this.closedError());
    const inflight = this.inflight;
    if (inflight)
      await withDeadline(inflight, CLOSE_WAIT_MS, () => new Error('close wait'), this.timers).catch(() => {});
  }

  toJSON(): CredentialStatus {
    return this.status();
  }

  /** A caller's wait on a refresh, bounded by its timeout (the refresh itself is not cancelled) and by close(). */
  private waitFor<T>(refresh: Promise<T>, timeoutMs: number | undefined): Promise<T> {
    return withDeadline(
      unlessAborted(refresh, this.lifetime.signal, () => this.closedError()),
      timeoutMs ?? 0,
      () =>
        new LakebaseError(
          'LAKEBASE_API_UNREACHABLE',
          `No database credential within ${timeoutMs} ms (the connect timeout): the workspace API did not answer in time.`,
          {
            suggestion:
              'Check that DATABRICKS_HOST is reachable from this machine (proxy, VPN) and answering; raise ' +
              'PGCONNECT_TIMEOUT only if the workspace is known to be slow.',
            retryable: true,
            details: { reason: 'timeout', timeoutMs },
          },
        ),
      this.timers,
    );
  }

  private refresh(reason: RefreshReason): Promise<CachedCredential> {
    this.inflight ??= this.runRound(reason).finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  /** One refresh round: up to `maxAttempts` requests with backoff, stopping early on non-retryable errors. */
  private async runRound(reason: RefreshReason): Promise<CachedCredential> {
    const started = this.clock.now();
    let lastError: LakebaseError | undefined;
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      try {
        this.requests++;
        // Its REST requests belong to this manager, not to the caller that started the round: only close() ends them.
        const credential = await withAbortSignal(this.lifetime.signal, () => this.fetchCredential());
        this.assertOpen();
        if (credential.expiresAt.getTime() <= this.clock.now()) throw expiredOnArrival(credential.expiresAt);
        return this.store(credential, reason, started, attempt);
      } catch (error) {
        this.assertOpen(); // cancelled by close(): nothing to report, retry or schedule
        lastError = toLakebaseError(error);
        const willRetry = attempt < this.maxAttempts && lastError.retryable && !this.closed;
        this.emit('token-refresh-failed', {
          reason,
          error: lastError,
          attempt,
          willRetry,
          currentExpiresAt: this.current ? new Date(this.current.expiresAt) : undefined,
        } satisfies TokenRefreshFailedEvent);
        if (!willRetry) break;
        // Callers wait on this delay only when no usable token exists; otherwise it must not hold the process.
        const someoneWaits = !this.current || this.clock.now() >= this.current.usableUntil;
        // The workspace answered, uselessly: asking again at once would get the same answer. Wait the floor at least.
        const floor = lastError.details.reason === 'token-expired' ? MIN_REFRESH_INTERVAL_MS : 0;
        await sleepUnlessAborted(
          Math.max(floor, backoffDelay(attempt - 1, this.baseDelayMs, this.maxDelayMs, this.random)),
          this.timers,
          this.lifetime.signal,
          () => this.closedError(),
          someoneWaits,
        );
      }
    }
    this.failedRounds++;
    this.scheduleRetryAfterFailure();
    throw lastError ?? new LakebaseError('LAKEBASE_CREDENTIAL_FAILED', 'Credential refresh failed.');
  }

  private store(
    credential: DatabaseCredential,
    reason: RefreshReason,
    started: number,
    attempts: number,
  ): CachedCredential {
    const token = credential.token;
    registerSecret(token);
    const obtainedAt = this.clock.now();
    const expiresAt = credential.expiresAt.getTime();
    const { refreshAt, usableUntil } = refreshTimes(obtainedAt, expiresAt, this.refreshMarginMs);
    const role = credential.role ?? jwtClaims(token).sub;
    const cached: CachedCredential = { token, role, expiresAt, obtainedAt, refreshAt, usableUntil };
    this.current = cached;
    this.failedRounds = 0;
    this.retryNotBefore = 0;
    this.schedule(refreshAt - obtainedAt, 'scheduled');
    this.emit('token-refreshed', {
      reason,
      expiresAt: new Date(expiresAt),
      refreshAt: new Date(refreshAt),
      durationMs: obtainedAt - started,
      attempts,
    } satisfies TokenRefreshedEvent);
    return cached;
  }

  /** After a failed round, try again in the background while the current token is still usable. */
  private scheduleRetryAfterFailure(): void {
    const current = this.current;
    if (!current || this.closed) return;
    const remaining = current.usableUntil - this.clock.now();
    if (remaining <= 0) return;
    const { delayMs, floorMs } = retryAfterFailure(remaining, this.failedRounds, {
      baseDelayMs: this.baseDelayMs,
      maxDelayMs: this.maxDelayMs,
      random: this.random,
    });
    this.retryNotBefore = this.clock.now() + Math.max(floorMs, delayMs);
    this.schedule(delayMs, 'retry', floorMs);
  }

  private schedule(delayMs: number, reason: RefreshReason, floorMs = MIN_REFRESH_INTERVAL_MS): void {
    this.clearTimer();
    if (!this.backgroundRefresh || this.closed) return;
    this.timer = this.timers.setTimeout(
      () => {
        this.timer = undefined;
        if (!this.closed) this.refresh(reason).catch(() => {});
      },
      boundedRefreshDelay(delayMs, floorMs),
    );
  }

  private clearTimer(): void {
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private assertOpen(): void {
    if (this.closed) throw this.closedError();
  }

  private closedError(): LakebaseError {
    return new LakebaseError('LAKEBASE_CLOSED', 'The credential manager (or its pool) has been closed.', {
      suggestion: 'Create a new pool; a closed pool cannot mint tokens.',
    });
  }

  private credentialFailed(error: unknown): LakebaseError {
    if (isLakebaseError(error, 'LAKEBASE_CLOSED')) return error;
    const cause = toLakebaseError(error);
    const expired = this.current ? ` The last token expired at ${new Date(this.current.expiresAt).toISOString()}.` : '';
    return new LakebaseError(
      'LAKEBASE_CREDENTIAL_FAILED',
      `Could not get a Lakebase database credential: ${cause.message}${expired}`,
      {
        suggestion: cause.suggestion ?? 'Check workspace authentication and that the instance/endpoint exists.',
        cause,
        details: { causeCode: cause.code, reason: cause.details.reason },
      },
    );
  }
}

/** A token whose expiry has passed when it arrives: clock skew, a broken proxy or endpoint. */
function expiredOnArrival(expiresAt: Date): LakebaseError {
  return new LakebaseError(
    'LAKEBASE_API_ERROR',
    `The workspace returned a database token that had already expired (at ${expiresAt.toISOString()}).`,
    {
      suggestion:
        "Check this machine's clock (the token expiry is compared with it) and any proxy between it and DATABRICKS_HOST.",
      retryable: true,
      details: { reason: 'token-expired', expiresAt: expiresAt.toISOString() },
    },
  );
}

function publicCredential(cached: CachedCredential): DatabaseCredential {
  const credential = { expiresAt: new Date(cached.expiresAt), role: cached.role } as DatabaseCredential;
  Object.defineProperty(credential, 'token', { value: cached.token, enumerable: false });
  return credential;
}

/** Wrap anything thrown into a {@link LakebaseError}; unknown errors are treated as transient. */
function toLakebaseError(error: unknown): LakebaseError {
  if (error instanceof LakebaseError) return error;
  return new LakebaseError('LAKEBASE_API_ERROR', `Credential request failed: ${errorText(error)}`, {
    cause: error,
    retryable: true,
  });
}
