import { ApiError } from '../model/api-error.js';

type FaultStatus = 500 | 429 | 503;
const FAULT_STATUSES: ReadonlySet<number> = new Set([500, 429, 503]);

/** The error a failing credential call answers with, in the standard body (reference 1.4). */
export function injectedError(status: FaultStatus, retryAfterSeconds: number | undefined): ApiError {
  const headers: Record<string, string> = {};
  if (retryAfterSeconds !== undefined) headers['retry-after'] = String(retryAfterSeconds);
  switch (status) {
    case 429:
      // Retry-After is what well-behaved clients key their backoff on, so a 429 always carries one.
      headers['retry-after'] ??= '1';
      return new ApiError(429, 'REQUEST_LIMIT_EXCEEDED', 'Too many requests. Please retry after some time.', headers);
    case 503:
      return new ApiError(503, 'TEMPORARILY_UNAVAILABLE', 'The service is temporarily unavailable.', headers);
    default:
      return new ApiError(500, 'INTERNAL_ERROR', 'An internal error occurred. Please retry.', headers);
  }
}

/** Validates a status given over the admin API or by a caller; throws a RangeError naming the allowed values. */
export function assertFaultStatus(status: number): asserts status is FaultStatus {
  if (!FAULT_STATUSES.has(status)) throw new RangeError(`fault status must be 500, 429 or 503, got ${status}`);
}

/** Failure and latency injection; applies to both credential endpoints. */
export interface CredentialFaults {
  /** The next `count` credential calls fail with `status` (429 carries `Retry-After`, default 1 s). */
  failNext(count: number, status: 500 | 429 | 503, options?: { retryAfterSeconds?: number }): void;
  /** From now on a random `fraction` (0..1) of credential calls fail with `status`; 0 turns it off. */
  failFraction(fraction: number, status: 500 | 429 | 503): void;
  /** Delays every credential response by `ms`. */
  setLatency(ms: number): void;
  /** Removes every injected failure and the latency. */
  clear(): void;
}

/** {@link CredentialFaults} plus what the credential routes need to apply them. */
export class FaultInjector implements CredentialFaults {
  private queue: Array<{ status: FaultStatus; retryAfterSeconds: number | undefined }> = [];
  private fraction = 0;
  private fractionStatus: FaultStatus = 503;
  private latencyMs = 0;

  constructor(private readonly random: () => number = Math.random) {}

  failNext(count: number, status: FaultStatus, options: { retryAfterSeconds?: number } = {}): void {
    assertFaultStatus(status);
    if (!Number.isInteger(count) || count < 0) throw new RangeError(`count must be a non-negative integer`);
    for (let i = 0; i < count; i++) this.queue.push({ status, retryAfterSeconds: options.retryAfterSeconds });
  }

  failFraction(fraction: number, status: FaultStatus): void {
    assertFaultStatus(status);
    if (!(fraction >= 0 && fraction <= 1)) throw new RangeError(`fraction must be between 0 and 1, got ${fraction}`);
    this.fraction = fraction;
    this.fractionStatus = status;
  }

  setLatency(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`latency must be >= 0 ms, got ${ms}`);
    this.latencyMs = ms;
  }

  clear(): void {
    this.queue = [];
    this.fraction = 0;
    this.latencyMs = 0;
  }

  /** Waits out the configured latency (real time: it simulates a slow network, not a clock). */
  async delay(): Promise<void> {
    if (this.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.latencyMs));
  }

  /** The error this call must fail with, or undefined; consumes one queued failure. */
  nextFailure(): ApiError | undefined {
    const queued = this.queue.shift();
    if (queued) return injectedError(queued.status, queued.retryAfterSeconds);
    if (this.fraction > 0 && this.random() < this.fraction) return injectedError(this.fractionStatus, undefined);
    return undefined;
  }
}
