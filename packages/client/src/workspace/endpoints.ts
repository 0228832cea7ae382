/**
 * Computes (Autoscaling endpoints) of a branch over the REST API (reference 2.1/2.3): list, create, update, delete,
 * with their sizes checked against Lakebase's rules before any request. Autoscaling computes are 0.5, 1 to 16, 24,
 * 28 or 32 CU, the range at most 8 CU wide; scale to zero suspends after 60 s to 7 days of inactivity, or never.
 */
import { type BranchName, type EndpointName, fromServer, idOf, parseEndpointName } from '../config/names.js';
import { LakebaseError } from '../errors.js';
import type { Endpoint, LakebaseApi } from './api.js';
import { type Operation, type OperationWaitOptions, waitForOperation } from './operations.js';

/** Autoscaling compute sizes in CU (Lakebase docs, "Manage computes"). */
export const COMPUTE_SIZES: readonly number[] = [0.5, ...Array.from({ length: 16 }, (_, i) => i + 1), 24, 28, 32];
/** The widest autoscaling range: max - min at most this many CU. */
export const MAX_COMPUTE_SPREAD = 8;
/** Scale to zero's inactivity timeout bounds, in seconds (60 s to 7 days). */
export const SUSPEND_RANGE = { min: 60, max: 604_800 } as const;

/** Compute settings to create or update; each one optional. */
export interface ComputeSettings {
  minCu?: number;
  maxCu?: number;
  /** Suspend after this many seconds without activity (60..604800). */
  suspendAfterSeconds?: number;
  /** Never suspend (scale to zero off). */
  noSuspend?: boolean;
}

/** An endpoint, flattened from the API's `status`. */
export interface EndpointInfo {
  name: EndpointName;
  id: string;
  readOnly: boolean;
  /** ACTIVE, IDLE (scaled to zero; wakes on connect), INIT, DEGRADED or a newer value. */
  state: string;
  host: string | undefined;
  minCu: number | undefined;
  maxCu: number | undefined;
  /** Seconds of inactivity before it suspends; undefined with `noSuspend`. */
  suspendAfterSeconds: number | undefined;
  noSuspend: boolean;
  raw: Endpoint;
}

function invalid(message: string): LakebaseError {
  return new LakebaseError('LAKEBASE_CONFIG_INVALID', message, {
    suggestion: `Use sizes of 0.5, 1-16, 24, 28 or 32 CU with max - min <= ${MAX_COMPUTE_SPREAD}, and --suspend-after from 60s to 7d (or --no-suspend).`,
    details: { reason: 'compute-settings' },
  });
}

/** A compute size in CU from text (`0.5`, `4`): one of {@link COMPUTE_SIZES}, else `LAKEBASE_CONFIG_INVALID`. */
export function parseComputeUnits(text: string, source: string): number {
  const value = /^\d{1,2}(?:\.\d{1,2})?$/.test(String(text).trim()) ? Number(text) : Number.NaN;
  if (!COMPUTE_SIZES.includes(value)) {
    throw invalid(`${source} '${text}' is not a Lakebase autoscaling size (0.5, 1 to 16, 24, 28 or 32 CU).`);
  }
  return value;
}

/** Refuses settings outside Lakebase's rules, on their own (the other limit may be the endpoint's current one). */
export function checkComputeSettings(settings: ComputeSettings): void {
  const { minCu, maxCu, suspendAfterSeconds, noSuspend } = settings;
  for (const [what, value] of [
    ['min', minCu],
    ['max', maxCu],
  ] as const) {
    if (value !== undefined && !COMPUTE_SIZES.includes(value)) {
      throw invalid(`The ${what} size ${value} CU is not a Lakebase autoscaling size (0.5, 1 to 16, 24, 28 or 32).`);
    }
  }
  if (minCu !== undefined && maxCu !== undefined) {
    if (maxCu < minCu) throw invalid(`The max size (${maxCu} CU) is below the min size (${minCu} CU).`);
    if (maxCu - minCu > MAX_COMPUTE_SPREAD) {
      throw invalid(`The range ${minCu}-${maxCu} CU is wider than ${MAX_COMPUTE_SPREAD} CU.`);
    }
  }
  if (suspendAfterSeconds !== undefined) {
    if (noSuspend) throw invalid('Pass --suspend-after or --no-suspend, not both.');
    if (
      !Number.isInteger(suspendAfterSeconds) ||
      suspendAfterSeconds < SUSPEND_RANGE.min ||
      suspendAfterSeconds > SUSPEND_RANGE.max
    ) {
      throw invalid(`Suspend after ${suspendAfterSeconds} s is outside 60 s to 7 days.`);
    }
  }
}

export function toEndpointInfo(raw: Endpoint): EndpointInfo {
  const status = (raw.status ?? {}) as Record<string, unknown>;
  const name = fromServer(parseEndpointName, raw.name, 'an endpoint name');
  const number = (value: unknown) => (typeof value === 'number' ? value : undefined);
  const suspend = typeof status.suspend_timeout_duration === 'string' ? status.suspend_timeout_duration : '';
  const seconds = /^(\d+)s$/.exec(suspend);
  return {
    name,
    id: idOf(name),
    readOnly: status.endpoint_type === 'ENDPOINT_TYPE_READ_ONLY',
    state: typeof status.current_state === 'string' ? status.current_state : 'UNKNOWN',
    host: raw.status?.hosts?.host,
    minCu: number(status.autoscaling_limit_min_cu),
    maxCu: number(status.autoscaling_limit_max_cu),
    suspendAfterSeconds: seconds ? Number(seconds[1]) : undefined,
    noSuspend: status.no_suspension === true,
    raw,
  };
}

function specOf(settings: ComputeSettings): Record<string, unknown> {
  return {
    ...(settings.minCu !== undefined ? { autoscaling_limit_min_cu: settings.minCu } : {}),
    ...(settings.maxCu !== undefined ? { autoscaling_limit_max_cu: settings.maxCu } : {}),
    ...(settings.suspendAfterSeconds !== undefined
      ? { suspend_timeout_duration: `${settings.suspendAfterSeconds}s` }
      : {}),
    ...(settings.noSuspend ? { no_suspension: true } : {}),
  };
}

export async function listEndpoints(api: LakebaseApi, branch: BranchName): Promise<EndpointInfo[]> {
  return (await api.listEndpoints(branch)).map(toEndpointInfo);
}

/** Creates an endpoint (read-write, or read-only with `readOnly`) and waits for it. */
export async function createEndpoint(
  api: LakebaseApi,
  endpoint: EndpointName,
  settings: ComputeSettings & { readOnly?: boolean; wait?: OperationWaitOptions },
): Promise<EndpointInfo> {
  checkComputeSettings(settings);
  const spec = {
    endpoint_type: settings.readOnly ? 'ENDPOINT_TYPE_READ_ONLY' : 'ENDPOINT_TYPE_READ_WRITE',
    ...specOf(settings),
  };
  const branch = endpoint.split('/').slice(0, 4).join('/') as BranchName;
  const operation = await api.postgres<Operation<Endpoint>>('POST', branch, { spec }, `endpoint ${endpoint}`, {
    collection: 'endpoints',
    query: { endpoint_id: idOf(endpoint) },
  });
  const created = await waitForOperation(api, operation, settings.wait);
  return toEndpointInfo({ ...created, name: endpoint });
}

/**
 * Updates the given settings (an `update_mask` of exactly those); a min or max given alone is checked against the
 * endpoint's current other limit (one GET) before the update is sent.
 */
export async function updateEndpoint(
  api: LakebaseApi,
  endpoint: EndpointName,
  settings: ComputeSettings & { wait?: OperationWaitOptions },
): Promise<EndpointInfo> {
  checkComputeSettings(settings);
  const spec = specOf(settings);
  if (Object.keys(spec).length === 0) {
    throw new LakebaseError('LAKEBASE_USAGE_ERROR', 'Nothing to update.', {
      suggestion: 'Pass --min-cu, --max-cu, --suspend-after or --no-suspend.',
    });
  }
  if ((settings.minCu === undefined) !== (settings.maxCu === undefined)) {
    const current = toEndpointInfo(await api.getEndpoint(endpoint));
    checkComputeSettings({ minCu: settings.minCu ?? current.minCu, maxCu: settings.maxCu ?? current.maxCu });
  }
  const mask = Object.keys(spec)
    .map((field) => `spec.${field}`)
    .join(',');
  const operation = await api.postgres<Operation<Endpoint>>('PATCH', endpoint, { spec }, `endpoint ${endpoint}`, {
    query: { update_mask: mask },
  });
  const updated = await waitForOperation(api, operation, settings.wait);
  return toEndpointInfo({ ...updated, name: endpoint });
}

export async function deleteEndpoint(api: LakebaseApi, endpoint: EndpointName, wait?: OperationWaitOptions) {
  const operation = await api.postgres<Operation>('DELETE', endpoint, undefined, `endpoint ${endpoint}`);
  await waitForOperation(api, operation, wait);
}
