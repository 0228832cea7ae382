/**
 * Lakebase Autoscaling branches (reference section 2): copy-on-write copies of a parent branch, each with its own
 * endpoints and hosts. Typed list/get/create/update/delete over the REST API, plus "reset to parent", which the API
 * does not have: delete and recreate under the same name from the same parent.
 */
import {
  type BranchName,
  branchIn,
  type EndpointName,
  fromServer,
  idOf,
  malformedFromServer,
  type ProjectName,
  parseBranchName,
  parseEndpointId,
  parseEndpointName,
  parseProjectName,
  projectOf,
} from '../config/names.js';
import { isLakebaseError, LakebaseError } from '../errors.js';
import type { Branch, Endpoint, LakebaseApi } from './api.js';
import { type Operation, type OperationWaitOptions, pollUntil, waitForOperation } from './operations.js';

export { BRANCH_ID_PATTERN } from '../config/names.js';

/** A branch, flattened from the API's `status`. `raw` is the resource as the API returned it. */
export interface BranchInfo {
  /** `projects/<p>/branches/<id>`. */
  name: BranchName;
  id: string;
  /** The branch it was copied from (`projects/<p>/branches/<b>`); undefined for a project's root branch. */
  parent: BranchName | undefined;
  /** READY, INIT, ARCHIVED, IMPORTING, RESETTING, DELETED or a newer value. */
  state: string;
  isDefault: boolean;
  isProtected: boolean;
  /** When the branch expires (is deleted by the workspace); undefined: never. */
  expireTime: Date | undefined;
  createTime: Date | undefined;
  raw: Branch;
}

/** When a branch expires: a TTL from now, a time, or never. */
export type BranchExpiry = { ttlSeconds: number } | { expireTime: Date } | { noExpiry: true };

export interface CreateBranchOptions {
  /** Parent branch id or full name; default: the project's default branch. */
  from?: string;
  /** Branch from the parent as it was at this time (needs the parent's history; refused outside retention). */
  at?: Date;
  /** Branch from the parent at this WAL position, e.g. `0/16B3748`. */
  lsn?: string;
  expiry?: BranchExpiry;
  protected?: boolean;
  /** Replace a branch of the same name (its data is lost). Default false: a taken name is `LAKEBASE_BRANCH_EXISTS`. */
  replaceExisting?: boolean;
  /** Id of the read-write endpoint created when the branch has none (default `primary`). */
  endpointId?: string;
  wait?: OperationWaitOptions;
}

/** A branch ready to connect to: its read-write endpoint and host. */
export interface CreatedBranch {
  branch: BranchInfo;
  endpoint: EndpointName;
  host: string;
}

/**
 * `projects/<p>` from `p`, `projects/p`, or a branch or endpoint name under it, each parsed whole (`..` or any other
 * segment outside the grammar is `LAKEBASE_CONFIG_INVALID`).
 */
export function projectName(project: string): ProjectName {
  if (typeof project === 'string' && project.includes('/branches/')) {
    const under = project.includes('/endpoints/')
      ? parseEndpointName(project, 'project')
      : parseBranchName(project, 'project');
    return projectOf(under);
  }
  return parseProjectName(project);
}

/**
 * `projects/<p>/branches/<id>` from an id or a full branch name of that project; anything else (`..`, another
 * project's branch, a path to some other API) is `LAKEBASE_CONFIG_INVALID` before any request.
 */
export function branchName(project: string, branch: string): BranchName {
  return branchIn(parseProjectName(project), branch);
}

/** A branch as the API returned it, its names parsed (a malformed one is `LAKEBASE_API_ERROR`). */
export function toBranchInfo(raw: Branch): BranchInfo {
  const status = (raw.status ?? {}) as Record<string, unknown>;
  const time = (value: unknown) => (typeof value === 'string' && value ? new Date(value) : undefined);
  const name = fromServer(parseBranchName, raw.name, 'a branch name');
  const parent = status.source_branch;
  return {
    name,
    id: idOf(name),
    parent: typeof parent === 'string' && parent ? fromServer(parseBranchName, parent, 'a parent branch') : undefined,
    state: typeof status.current_state === 'string' ? status.current_state : 'UNKNOWN',
    isDefault: status.default === true,
    isProtected: status.is_protected === true,
    expireTime: time(status.expire_time),
    createTime: time(raw.create_time),
    raw,
  };
}

export async function listBranches(api: LakebaseApi, project: string): Promise<BranchInfo[]> {
  return (await api.listBranches(projectName(project))).map(toBranchInfo);
}

export async function getBranch(api: LakebaseApi, project: string, branch: string): Promise<BranchInfo> {
  const name = branchName(project, branch);
  return toBranchInfo(await withBranchErrors(api.postgres<Branch>('GET', name, undefined, `branch ${name}`), name));
}

/**
 * Creates a branch and waits for it; ensures it has a read-write endpoint (creating `primary` if it has none) and
 * waits until that endpoint is ACTIVE. Whether it accepts logins yet is the connection layer's check
 * (`createLakebaseBranch` does both).
 */
export async function createBranch(
  api: LakebaseApi,
  project: string,
  branch: string,
  options: CreateBranchOptions = {},
): Promise<CreatedBranch> {
  const name = branchName(project, branch);
  const endpointId = parseEndpointId(options.endpointId ?? 'primary', 'endpointId');
  const spec: Record<string, unknown> = {};
  if (options.from !== undefined) spec.source_branch = branchIn(projectName(project), options.from, '--from');
  if (options.at) spec.source_branch_time = options.at.toISOString();
  if (options.lsn) spec.source_branch_lsn = options.lsn;
  if (options.protected) spec.is_protected = true;
  Object.assign(spec, expirySpec(options.expiry));
  const query: Record<string, string> = { branch_id: idOf(name) };
  if (options.replaceExisting) query.replace_existing = 'true';
  const parent = (spec.source_branch as string | undefined) ?? 'the default branch';
  const operation = await withBranchErrors(
    api.postgres<Operation<Branch>>('POST', projectName(project), { spec }, `branch ${name}`, {
      collection: 'branches',
      query,
    }),
    name,
    parent,
  );
  const created = toBranchInfo({ ...(await waitForOperation(api, operation, options.wait)), name });
  const endpoint = await ensureReadWriteEndpoint(api, name, endpointId, options.wait);
  return { branch: created, ...endpoint };
}

/** Sets when a branch expires (or that it never does). */
export async function updateBranchExpiry(
  api: LakebaseApi,
  project: string,
  branch: string,
  expiry: BranchExpiry,
  wait?: OperationWaitOptions,
): Promise<BranchInfo> {
  const name = branchName(project, branch);
  const spec = expirySpec(expiry);
  const mask = Object.keys(spec)
    .map((k) => `spec.${k}`)
    .join(',');
  const operation = await withBranchErrors(
    api.postgres<Operation<Branch>>('PATCH', name, { spec }, `branch ${name}`, { query: { update_mask: mask } }),
    name,
  );
  return toBranchInfo({ ...(await waitForOperation(api, operation, wait)), name });
}

/** Deletes a branch with its endpoints and data. `allowMissing`: a branch that does not exist is not an error. */
export async function deleteBranch(
  api: LakebaseApi,
  project: string,
  branch: string,
  options: { allowMissing?: boolean; wait?: OperationWaitOptions } = {},
): Promise<void> {
  const name = branchName(project, branch);
  const query = options.allowMissing ? { allow_missing: 'true' } : undefined;
  const operation = await withBranchErrors(
    api.postgres<Operation>('DELETE', name, undefined, `branch ${name}`, query ? { query } : {}),
    name,
  );
  await waitForOperation(api, operation, options.wait);
}

/** What a reset throws away, said before it happens (the CLI prints it). */
export const RESET_LOSES = [
  'every change made on the branch since it was created (data and schema)',
  'its endpoints: a new read-write endpoint is created, with a new host',
  'roles and grants made on the branch only',
] as const;

/** How a reset goes: from which branch, and whether a protected branch may be reset. */
export interface ResetBranchOptions extends Pick<CreateBranchOptions, 'endpointId' | 'wait'> {
  /**
   * Take this branch's current data instead of the parent's (e.g. the backup `migrate up --safe` made); it becomes
   * the branch's parent. Default: the branch's own parent.
   */
  from?: string;
  /** Reset a protected branch too: its protection is lifted for the reset and set again after. Default false. */
  force?: boolean;
}

/**
 * "Reset to parent": deletes the branch and creates it again under the same name from the same parent (or from
 * `options.from`), with that branch's current data. Refuses the default branch, a protected branch without `force`
 * (`LAKEBASE_BRANCH_PROTECTED`) and a branch without a parent. Keeps its protection and its expiry as a TTL of what
 * was left, if it had one.
 */
export async function resetBranch(
  api: LakebaseApi,
  project: string,
  branch: string,
  options: ResetBranchOptions = {},
): Promise<CreatedBranch & { lost: readonly string[] }> {
  const current = await getBranch(api, project, branch);
  if (current.isDefault || (current.isProtected && !options.force)) {
    throw new LakebaseError(
      'LAKEBASE_BRANCH_PROTECTED',
      `Branch ${current.name} is ${current.isDefault ? "the project's default branch" : 'protected'}: it cannot be reset.`,
      {
        suggestion: current.isDefault
          ? 'Reset a development branch instead; to undo a change on the default branch, point the app at a backup branch (LAKEBASE_BRANCH).'
          : 'Reset a development branch instead, or pass --force (options.force) if you really mean it.',
      },
    );
  }
  const source = options.from === undefined ? current.parent : branchIn(projectName(project), options.from, '--from');
  if (!source) {
    throw usage(
      `Branch ${current.name} has no parent to reset to.`,
      'Delete it and create it from the branch you want.',
    );
  }
  if (source === current.name)
    throw usage(`Branch ${current.name} cannot be reset from itself.`, 'Name another branch with --from.');
  // The source must exist before anything is deleted.
  if (options.from !== undefined) await getBranch(api, project, source);
  const left = current.expireTime ? Math.floor((current.expireTime.getTime() - Date.now()) / 1000) : undefined;
  const { from: _from, force: _force, ...createOptions } = options;
  if (current.isProtected) await setProtection(api, current.name, false, options.wait);
  await deleteBranch(api, project, current.name, options.wait ? { wait: options.wait } : {});
  const created = await createBranch(api, project, current.name, {
    from: source,
    ...(left !== undefined && left > 60 ? { expiry: { ttlSeconds: left } } : {}),
    ...(current.isProtected ? { protected: true } : {}),
    ...createOptions,
  });
  return { ...created, lost: RESET_LOSES };
}

/** Sets or lifts a branch's protection. */
async function setProtection(api: LakebaseApi, name: BranchName, on: boolean, wait?: OperationWaitOptions) {
  const operation = await withBranchErrors(
    api.postgres<Operation<Branch>>('PATCH', name, { spec: { is_protected: on } }, `branch ${name}`, {
      query: { update_mask: 'spec.is_protected' },
    }),
    name,
  );
  await waitForOperation(api, operation, wait);
}

/** The read-write endpoint of a branch (created as `endpointId` if the branch has none), once ACTIVE, with its host. */
export async function ensureReadWriteEndpoint(
  api: LakebaseApi,
  branch: BranchName,
  endpointId = 'primary',
  wait?: OperationWaitOptions,
): Promise<{ endpoint: EndpointName; host: string }> {
  const id = parseEndpointId(endpointId, 'endpointId');
  let endpoint = (await api.listEndpoints(branch)).find((e) => e.status?.endpoint_type === 'ENDPOINT_TYPE_READ_WRITE');
  if (!endpoint) {
    const operation = await api.postgres<Operation<Endpoint>>(
      'POST',
      branch,
      { spec: { endpoint_type: 'ENDPOINT_TYPE_READ_WRITE' } },
      `the read-write endpoint of ${branch}`,
      { collection: 'endpoints', query: { endpoint_id: id } },
    );
    endpoint = await waitForOperation(api, operation, wait);
  }
  const name = endpointOf(branch, endpoint);
  const ready = (e: Endpoint) =>
    (e.status?.current_state === 'ACTIVE' || e.status?.current_state === 'IDLE') && Boolean(e.status?.hosts?.host);
  const active = await pollUntil(name, endpoint, () => api.getEndpoint(name), ready, wait);
  return { endpoint: name, host: active.status?.hosts?.host as string };
}

/** An endpoint the workspace listed for `branch`, parsed, and refused unless it is one of that branch's. */
function endpointOf(branch: BranchName, endpoint: Endpoint): EndpointName {
  const name = fromServer(parseEndpointName, endpoint?.name, `an endpoint of ${branch}`);
  if (!name.startsWith(`${branch}/endpoints/`)) {
    throw malformedFromServer(name, `an endpoint of ${branch} (it names another branch)`);
  }
  return name;
}

/** The read-write endpoint of an existing branch (what `LAKEBASE_BRANCH` connects to). */
export async function branchReadWriteEndpoint(api: LakebaseApi, branch: BranchName): Promise<EndpointName> {
  const id = idOf(branch);
  let endpoints: Endpoint[];
  try {
    endpoints = await api.listEndpoints(branch);
  } catch (error) {
    if (!isLakebaseError(error, 'LAKEBASE_RESOURCE_NOT_FOUND')) throw error;
    throw new LakebaseError('LAKEBASE_RESOURCE_NOT_FOUND', `Branch ${branch} does not exist.`, {
      suggestion: `Create it: \`lakebase branch create ${id}\` (or \`lakebase configure --branch ${id} --create\`), or check LAKEBASE_BRANCH.`,
      cause: error,
    });
  }
  const readWrite = endpoints.find((e) => e.status?.endpoint_type === 'ENDPOINT_TYPE_READ_WRITE');
  if (!readWrite) {
    throw new LakebaseError('LAKEBASE_RESOURCE_NOT_FOUND', `Branch ${branch} has no read-write endpoint.`, {
      suggestion: `Create one: \`lakebase branch create ${id} --replace\` recreates the branch with one, or create it in the Lakebase UI.`,
    });
  }
  return endpointOf(branch, readWrite);
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/** Seconds in a duration such as `3600s`, `90m`, `12h`, `7d` or `2w` (a bare number is seconds). */
export function parseDuration(text: string, what = 'duration'): number {
  const match = /^\s*(\d+)\s*([smhdw]?)\s*$/i.exec(text);
  const seconds = match ? Number(match[1]) * (UNIT_SECONDS[(match[2] || 's').toLowerCase()] as number) : Number.NaN;
  if (!(seconds > 0))
    throw usage(`${what} '${text}' is not a duration.`, 'Use a number with s, m, h, d or w, e.g. 7d.');
  return seconds;
}

function expirySpec(expiry: BranchExpiry | undefined): Record<string, unknown> {
  if (!expiry) return {};
  if ('ttlSeconds' in expiry) {
    if (!(Number.isInteger(expiry.ttlSeconds) && expiry.ttlSeconds > 0 && expiry.ttlSeconds <= 30 * 86_400)) {
      throw usage(`Invalid TTL ${expiry.ttlSeconds} s: use 1 s to 30 days.`, 'For example --ttl 7d or --ttl 12h.');
    }
    return { ttl: `${expiry.ttlSeconds}s` };
  }
  if ('expireTime' in expiry) return { expire_time: expiry.expireTime.toISOString() };
  return { no_expiry: true };
}

/** The REST errors a branch call can meet, as coded errors with the fix. */
async function withBranchErrors<T>(call: Promise<T>, name: string, parent?: string): Promise<T> {
  try {
    return await call;
  } catch (error) {
    if (!isLakebaseError(error)) throw error;
    const status = error.details.status;
    const code = String(error.details.errorCode ?? '');
    const text = error.message;
    if (status === 409 || code === 'ALREADY_EXISTS') {
      throw new LakebaseError('LAKEBASE_BRANCH_EXISTS', `Branch ${name} already exists.`, {
        suggestion: 'Pick another name, delete it first, or reset it (`lakebase branch reset`).',
        cause: error,
        details: error.details,
      });
    }
    if (/protected branch|default branch/i.test(text)) {
      throw new LakebaseError(
        'LAKEBASE_BRANCH_PROTECTED',
        `Branch ${name} is protected or the default branch: ${text}`,
        {
          suggestion: 'Protected and default branches cannot be deleted; remove the protection first if you mean it.',
          cause: error,
          details: error.details,
        },
      );
    }
    if (code === 'QUOTA_EXCEEDED' || code === 'RESOURCE_EXHAUSTED' || /quota|limit.*exceeded/i.test(text)) {
      throw new LakebaseError('LAKEBASE_QUOTA_EXCEEDED', `The workspace refused branch ${name} for a quota: ${text}`, {
        suggestion: 'Delete branches you no longer need (`lakebase branch list`), or ask for a higher limit.',
        cause: error,
        details: error.details,
      });
    }
    if (status === 404 && parent && /branch not found/.test(text) && !text.includes(`"${name.split('/').at(-1)}"`)) {
      throw new LakebaseError('LAKEBASE_RESOURCE_NOT_FOUND', `The parent branch ${parent} does not exist.`, {
        suggestion: 'Pick an existing branch with --from (see `lakebase branch list`).',
        cause: error,
        details: error.details,
      });
    }
    throw error;
  }
}

function usage(message: string, suggestion = 'Check the branch name.'): LakebaseError {
  return new LakebaseError('LAKEBASE_USAGE_ERROR', message, { suggestion });
}
