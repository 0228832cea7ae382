import type { LoginDecision } from '../../contracts.js';

/**
 * How a waking (scaled-to-zero) endpoint or a freshly created branch refuses a login for a moment:
 * - `external-auth`: FATAL XX000 `External authorization failed.` (the authorization service is not reachable yet);
 * - `starting`: FATAL 57P03 `the database system is starting up`;
 * - `reset`: the connection is closed after the password without any reply.
 */
export type LoginFaultKind = 'external-auth' | 'starting' | 'reset';

export const LOGIN_FAULT_KINDS: readonly LoginFaultKind[] = ['external-auth', 'starting', 'reset'];

/** Transient login failures for the PostgreSQL front door; checked before any other login rule. */
export interface LoginFaults {
  /** The next `count` logins fail as `kind` (default `external-auth`). */
  failNext(count: number, kind?: LoginFaultKind): void;
  /** Every login in the next `ms` milliseconds (workspace clock) fails as `kind` (default `external-auth`). */
  failFor(ms: number, kind?: LoginFaultKind): void;
  /** Delays every login verdict by `ms` (real time: a slow wake-up). 0 turns it off. */
  setDelay(ms: number): void;
  /** Removes every injected login failure and the delay. */
  clear(): void;
}

function assertKind(kind: string): asserts kind is LoginFaultKind {
  if (!LOGIN_FAULT_KINDS.includes(kind as LoginFaultKind)) {
    throw new RangeError(`login fault kind must be one of ${LOGIN_FAULT_KINDS.join(', ')}, got '${kind}'`);
  }
}

/** The refusal a fault of `kind` answers with. */
export function transientRefusal(kind: LoginFaultKind): Extract<LoginDecision, { ok: false }> {
  switch (kind) {
    case 'starting':
      return { ok: false, sqlstate: '57P03', message: 'the database system is starting up' };
    case 'reset':
      return { ok: false, sqlstate: '08006', message: 'connection reset', disconnect: true };
    default:
      return { ok: false, sqlstate: 'XX000', message: 'External authorization failed.' };
  }
}

/** {@link LoginFaults} plus what the login check needs to apply them. */
export class LoginFaultInjector implements LoginFaults {
  private queue: LoginFaultKind[] = [];
  private until = 0;
  private untilKind: LoginFaultKind = 'external-auth';
  private delayMs = 0;

  constructor(private readonly now: () => number) {}

  failNext(count: number, kind: LoginFaultKind = 'external-auth'): void {
    assertKind(kind);
    if (!Number.isInteger(count) || count < 0) throw new RangeError('count must be a non-negative integer');
    for (let i = 0; i < count; i++) this.queue.push(kind);
  }

  failFor(ms: number, kind: LoginFaultKind = 'external-auth'): void {
    assertKind(kind);
    if (!(ms >= 0) || !Number.isFinite(ms)) throw new RangeError(`ms must be >= 0, got ${ms}`);
    this.until = this.now() + ms;
    this.untilKind = kind;
  }

  setDelay(ms: number): void {
    if (!(ms >= 0) || !Number.isFinite(ms)) throw new RangeError(`delay must be >= 0 ms, got ${ms}`);
    this.delayMs = ms;
  }

  clear(): void {
    this.queue = [];
    this.until = 0;
    this.delayMs = 0;
  }

  /** Waits out the delay, then returns the refusal this login gets (consuming one queued fault), or undefined. */
  async next(): Promise<Extract<LoginDecision, { ok: false }> | undefined> {
    if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    const queued = this.queue.shift();
    if (queued) return transientRefusal(queued);
    if (this.now() < this.until) return transientRefusal(this.untilKind);
    return undefined;
  }
}
