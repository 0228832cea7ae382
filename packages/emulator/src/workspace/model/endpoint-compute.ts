/**
 * Compute settings and scale to zero of Autoscaling endpoints. An endpoint with a suspend timeout (60 s to 7 days)
 * that has had no login for that long on the workspace clock is suspended (`IDLE`, scaled to zero); a test suspends
 * one at once with {@link EndpointCompute.suspend}. The next login starts the wake: logins are refused as a starting
 * PostgreSQL refuses them (57P03 "the database system is starting up") until the wake has taken `wakeMs` of real time
 * (the compute's start, not workspace state: an injected clock that stands still cannot keep it asleep), then the
 * endpoint is `ACTIVE` again.
 */
import { ApiError, invalidParameter, requiredField } from './api-error.js';
import { checkSizing, type EndpointSizing } from './autoscaling-records.js';
import type { ModelContext } from './context.js';
import type { EndpointRecord } from './state.js';

/** How long a wake takes by default: Lakebase says "a few hundred milliseconds". */
export const DEFAULT_WAKE_MS = 300;

/** The fields `PATCH .../endpoints/<e>` may change (`update_mask` paths, with or without `spec.`). */
const UPDATABLE = new Set([
  'autoscaling_limit_min_cu',
  'autoscaling_limit_max_cu',
  'suspend_timeout_duration',
  'no_suspension',
  'disabled',
]);

/** The body of an endpoint update. */
export interface EndpointUpdate {
  spec?: EndpointSizing & { no_suspension?: boolean; disabled?: boolean };
}

/** A wake in progress: when it ends on the monotonic clock. */
const waking = new WeakMap<EndpointRecord, number>();

export class EndpointCompute {
  wakeMs = DEFAULT_WAKE_MS;

  constructor(private readonly ctx: ModelContext) {}

  /** Suspended now: asked for, or idle past its suspend timeout (which then records the suspension). */
  suspended(endpoint: EndpointRecord): boolean {
    if (endpoint.suspendedAt !== undefined) return true;
    if (endpoint.noSuspension || endpoint.disabled) return false;
    const idleSince = Math.max(endpoint.lastActiveAt ?? 0, endpoint.readyAt, endpoint.createTime);
    const timeoutMs = seconds(endpoint.suspendTimeoutDuration) * 1000;
    if (this.ctx.now() - idleSince <= timeoutMs) return false;
    endpoint.suspendedAt = idleSince + timeoutMs;
    this.ctx.persist();
    return true;
  }

  /** Suspends the endpoint at once (the admin API); a wake in progress starts over at the next login. */
  suspend(endpoint: EndpointRecord): void {
    endpoint.suspendedAt = this.ctx.now();
    waking.delete(endpoint);
    this.ctx.persist();
  }

  /**
   * Called for a login that reached the endpoint: true while it is waking (the login must be refused as a starting
   * server refuses it), false when it accepts logins; either way the endpoint counts as active now.
   */
  wakeForLogin(endpoint: EndpointRecord): boolean {
    const now = this.ctx.now();
    if (!this.suspended(endpoint)) {
      endpoint.lastActiveAt = now;
      return false;
    }
    const until = waking.get(endpoint);
    if (until === undefined) {
      waking.set(endpoint, performance.now() + this.wakeMs);
      return true;
    }
    if (performance.now() < until) return true;
    waking.delete(endpoint);
    endpoint.suspendedAt = undefined;
    endpoint.lastActiveAt = now;
    this.ctx.persist();
    return false;
  }

  /** `PATCH` with `update_mask`: the compute settings, checked as on create. */
  update(endpoint: EndpointRecord, updateMask: string | undefined, input: EndpointUpdate): void {
    if (!updateMask) throw requiredField('update_mask');
    const paths = updateMask.split(',').map((p) => p.trim().replace(/^spec\./, ''));
    for (const path of paths) {
      if (!UPDATABLE.has(path)) throw invalidParameter(`Field '${path}' of an endpoint cannot be updated.`);
    }
    const spec = input.spec ?? {};
    const has = (field: string) => paths.includes(field);
    const noSuspension = has('no_suspension') ? spec.no_suspension === true : endpoint.noSuspension === true;
    if (noSuspension && has('suspend_timeout_duration') && spec.suspend_timeout_duration !== undefined) {
      throw invalidParameter('Only one of suspend_timeout_duration and no_suspension may be set.');
    }
    const sizing = checkSizing({
      autoscaling_limit_min_cu: has('autoscaling_limit_min_cu') ? spec.autoscaling_limit_min_cu : endpoint.minCu,
      autoscaling_limit_max_cu: has('autoscaling_limit_max_cu') ? spec.autoscaling_limit_max_cu : endpoint.maxCu,
      suspend_timeout_duration: has('suspend_timeout_duration')
        ? spec.suspend_timeout_duration
        : endpoint.suspendTimeoutDuration,
    });
    endpoint.minCu = sizing.minCu;
    endpoint.maxCu = sizing.maxCu;
    endpoint.suspendTimeoutDuration = sizing.suspendTimeoutDuration;
    if (has('suspend_timeout_duration') && spec.suspend_timeout_duration !== undefined) endpoint.noSuspension = false;
    else endpoint.noSuspension = noSuspension;
    if (has('disabled')) endpoint.disabled = spec.disabled === true;
    endpoint.updateTime = this.ctx.now();
    this.ctx.persist();
  }

  /** The endpoint for the admin API's full name, or 404. */
  static notFound(name: string): ApiError {
    return new ApiError(404, 'NOT_FOUND', `endpoint id not found; name:"${name}"`);
  }
}

function seconds(duration: string): number {
  const match = /^(\d+)s$/.exec(duration);
  return match ? Number(match[1]) : Number.POSITIVE_INFINITY;
}
