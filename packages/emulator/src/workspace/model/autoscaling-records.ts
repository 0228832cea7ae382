/** Validation and record construction for the Autoscaling model (kept apart so the model reads as behaviour). */
import { COMPUTE_SIZES, MAX_COMPUTE_SPREAD, RESOURCE_ID_PATTERN, SUSPEND_RANGE } from '@lakebase-kit/client/toolkit';
import { invalidParameter, patternMismatch, requiredField } from './api-error.js';
import { type BranchRecord, type EndpointRecord, type ProjectRecord, randomUUID } from './state.js';

export const DEFAULT_BRANCH_ID = 'production';
export const DEFAULT_ENDPOINT_ID = 'primary';

const DURATION = /^(\d+)s$/;

type Json = Record<string, unknown>;

/** Create-project body: config in `spec`, plus an optional initial endpoint spec. */
export interface ProjectInput {
  spec?: {
    display_name?: string;
    pg_version?: number;
    history_retention_duration?: string;
    enable_pg_native_login?: boolean;
    custom_tags?: Array<{ key: string; value: string }>;
    default_endpoint_settings?: EndpointSizing;
  };
  initial_endpoint_spec?: EndpointSizing;
}

/** Compute sizing shared by project defaults and endpoint specs. */
export interface EndpointSizing {
  autoscaling_limit_min_cu?: number;
  autoscaling_limit_max_cu?: number;
  suspend_timeout_duration?: string;
  no_suspension?: boolean;
}

/** Create-branch body. */
export interface BranchInput {
  spec?: {
    source_branch?: string;
    source_branch_time?: string;
    source_branch_lsn?: string;
    is_protected?: boolean;
    ttl?: string;
    expire_time?: string;
    no_expiry?: boolean;
  };
}

/** Create-endpoint body. */
export interface EndpointInput {
  spec?: EndpointSizing & { endpoint_type?: string; disabled?: boolean };
}

/** `projects/{p}/branches/{b}/endpoints/{e}`. */
export function endpointName(e: EndpointRecord): string {
  return `projects/${e.projectId}/branches/${e.branchId}/endpoints/${e.endpointId}`;
}

export function branchName(b: BranchRecord): string {
  return `projects/${b.projectId}/branches/${b.branchId}`;
}

export function checkId(field: string, id: string | undefined): asserts id is string {
  if (!id) throw requiredField(field);
  if (!RESOURCE_ID_PATTERN.test(id)) throw patternMismatch(field, RESOURCE_ID_PATTERN, id);
}

export function checkDuration(field: string, value: string, minSeconds: number, maxSeconds: number): void {
  const match = DURATION.exec(value);
  const seconds = match ? Number(match[1]) : Number.NaN;
  if (!(seconds >= minSeconds && seconds <= maxSeconds)) {
    throw invalidParameter(
      `Field ${field} must be a duration between ${minSeconds}s and ${maxSeconds}s, got '${value}'.`,
    );
  }
}

export function checkSizing(input: EndpointSizing): ProjectRecord['defaultEndpointSettings'] {
  const minCu = input.autoscaling_limit_min_cu ?? 1;
  const maxCu = input.autoscaling_limit_max_cu ?? Math.max(1, minCu);
  const sizes = COMPUTE_SIZES;
  if (!sizes.includes(minCu) || !sizes.includes(maxCu) || maxCu < minCu || maxCu - minCu > MAX_COMPUTE_SPREAD) {
    throw invalidParameter(
      `Invalid autoscaling limits min ${minCu} CU, max ${maxCu} CU: each one of 0.5, 1-16, 24, 28, 32; min <= max; max - min <= ${MAX_COMPUTE_SPREAD}.`,
    );
  }
  const suspend = input.suspend_timeout_duration ?? '86400s';
  checkDuration('suspend_timeout_duration', suspend, SUSPEND_RANGE.min, SUSPEND_RANGE.max);
  return { minCu, maxCu, suspendTimeoutDuration: suspend };
}

export function sizingJson(s: ProjectRecord['defaultEndpointSettings']): Json {
  return {
    autoscaling_limit_min_cu: s.minCu,
    autoscaling_limit_max_cu: s.maxCu,
    suspend_timeout_duration: s.suspendTimeoutDuration,
  };
}

export function newBranch(
  projectId: string,
  branchId: string,
  now: number,
  readyAt: number,
  isDefault: boolean,
  isProtected: boolean,
): BranchRecord {
  return { projectId, branchId, uid: randomUUID(), createTime: now, updateTime: now, isDefault, isProtected, readyAt };
}

export function newEndpoint(
  projectId: string,
  branchId: string,
  endpointId: string,
  now: number,
  readyAt: number,
  endpointType: EndpointRecord['endpointType'],
  sizing: ProjectRecord['defaultEndpointSettings'],
): EndpointRecord {
  return {
    projectId,
    branchId,
    endpointId,
    uid: randomUUID(),
    createTime: now,
    updateTime: now,
    endpointType,
    minCu: sizing.minCu,
    maxCu: sizing.maxCu,
    suspendTimeoutDuration: sizing.suspendTimeoutDuration,
    disabled: false,
    readyAt,
    pinnedInit: false,
  };
}

export function byKey<T>(items: T[], key: (item: T) => string): T[] {
  return [...items].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}
