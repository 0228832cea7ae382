/**
 * Finding the Lakebase resource to connect to: from explicit names, from `databricks.yml`, or from what the workspace
 * lists; then waiting while it starts. This is what `lakebase configure` automates (the "Get Lakebase Instance
 * Details" step of the local-development guide).
 */

import type { BundleResource } from '../config/bundle.js';
import {
  type BranchName,
  branchIn,
  fromServer,
  malformedFromServer,
  type ProjectName,
  parseBranchName,
  parseEndpointName,
  parseInstanceName,
  parseProjectName,
} from '../config/names.js';
import { isLakebaseError, LakebaseError } from '../errors.js';
import { monotonicClock, sleep } from '../time.js';
import type { Branch, DatabaseInstance, Endpoint, LakebaseApi } from './api.js';

/** A resource the client can connect to: a Provisioned instance or an Autoscaling endpoint. */
export type LakebaseResource =
  | { tier: 'provisioned'; instanceName: string; database: string | undefined; source: string }
  | { tier: 'autoscaling'; endpoint: string; database: string | undefined; source: string };

/** A resource found ready, with its host. */
export type ReadyResource = LakebaseResource & { host: string; state: string };

/** One-line description of a resource, e.g. `instance my-db (databricks.yml)`. */
export function describeResource(resource: LakebaseResource): string {
  const what = resource.tier === 'provisioned' ? `instance ${resource.instanceName}` : `endpoint ${resource.endpoint}`;
  return `${what} (${resource.source})`;
}

/** Turn bundle resources into connectable ones (an Autoscaling project/branch becomes its read-write endpoint). */
export async function resolveBundleResources(api: LakebaseApi, found: BundleResource[]): Promise<LakebaseResource[]> {
  const out: LakebaseResource[] = [];
  for (const resource of found) {
    if (resource.tier === 'provisioned') out.push(resource);
    else {
      const project = parseProjectName(resource.project, resource.source);
      const branch = resource.branch === undefined ? undefined : branchIn(project, resource.branch, resource.source);
      const endpoint = await readWriteEndpoint(api, project, branch);
      out.push({ tier: 'autoscaling', endpoint, database: resource.database, source: resource.source });
    }
  }
  return out;
}

/** Every instance and every project's read-write endpoint (on its default branch) in the workspace. */
export async function listWorkspaceResources(api: LakebaseApi): Promise<LakebaseResource[]> {
  const [instances, projects] = await Promise.all([api.listInstances(), api.listProjects()]);
  const out: LakebaseResource[] = instances.map((instance) => ({
    tier: 'provisioned',
    instanceName: fromServer(parseInstanceName, instance.name, 'an instance name'),
    database: undefined,
    source: `workspace, ${instance.state ?? 'state unknown'}`,
  }));
  for (const project of projects) {
    try {
      const endpoint = await readWriteEndpoint(
        api,
        fromServer(parseProjectName, project.name, 'a project name'),
        undefined,
      );
      out.push({ tier: 'autoscaling', endpoint, database: undefined, source: 'workspace' });
    } catch (error) {
      // A project without a usable endpoint is not a choice; anything else (auth, outage) is a real failure.
      if (!isLakebaseError(error, 'LAKEBASE_RESOURCE_NOT_FOUND')) throw error;
    }
  }
  return out;
}

/** The READ_WRITE endpoint of `branch`, or of the project's default branch. */
async function readWriteEndpoint(
  api: LakebaseApi,
  project: ProjectName,
  branch: BranchName | undefined,
): Promise<string> {
  const branchName = branch ?? defaultBranch(project, await api.listBranches(project));
  const endpoints = await api.listEndpoints(branchName);
  const readWrite = endpoints.find((e) => e.status?.endpoint_type === 'ENDPOINT_TYPE_READ_WRITE') ?? endpoints[0];
  if (!readWrite) {
    throw new LakebaseError('LAKEBASE_RESOURCE_NOT_FOUND', `Branch ${branchName} has no endpoint.`, {
      suggestion: `Create one: \`databricks postgres create-endpoint ${branchName} --endpoint-id primary\`, or pass --endpoint.`,
    });
  }
  const name = fromServer(parseEndpointName, readWrite.name, `an endpoint of ${branchName}`);
  if (!name.startsWith(`${branchName}/endpoints/`)) throw malformedFromServer(name, `an endpoint of ${branchName}`);
  return name;
}

function defaultBranch(project: ProjectName, branches: Branch[]): BranchName {
  const flagged =
    branches.find((b) => b.status?.default === true) ?? branches.find((b) => /\/production$/.test(b.name));
  const chosen = flagged ?? (branches.length === 1 ? branches[0] : undefined);
  if (!chosen) {
    throw new LakebaseError('LAKEBASE_RESOURCE_NOT_FOUND', `Cannot tell the default branch of ${project}.`, {
      suggestion: 'Pass --endpoint projects/<project>/branches/<branch>/endpoints/<endpoint>.',
    });
  }
  const name = fromServer(parseBranchName, chosen.name, `a branch of ${project}`);
  if (!name.startsWith(`${project}/branches/`)) throw malformedFromServer(name, `a branch of ${project}`);
  return name;
}

/** Throws `LAKEBASE_RESOURCE_AMBIGUOUS` naming every choice and how to pick one. */
export function ambiguous(choices: LakebaseResource[], where: string): LakebaseError {
  const names = choices.map((c) =>
    c.tier === 'provisioned' ? `--instance ${c.instanceName}` : `--endpoint ${c.endpoint}`,
  );
  return new LakebaseError(
    'LAKEBASE_RESOURCE_AMBIGUOUS',
    `${choices.length} Lakebase resources found in ${where}: ${names.join(', ')}; choose one.`,
    { suggestion: `Run again with one of: ${names.join(' | ')}.` },
  );
}

export interface WaitOptions {
  /** Give up after this long (default 10 minutes: a new instance takes a few). */
  timeoutMs?: number;
  /** Poll interval (default 2 s). */
  pollMs?: number;
  /** Called on every poll while the resource is not ready yet. */
  onWaiting?: (state: string, elapsedMs: number) => void;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Wait while the resource is starting and return it with its host. A stopped or disabled resource fails at once (it
 * will not start by itself); an unknown one fails naming the ones that exist.
 */
export async function waitUntilReady(
  api: LakebaseApi,
  resource: LakebaseResource,
  options: WaitOptions = {},
): Promise<ReadyResource> {
  const timeoutMs = options.timeoutMs ?? 600_000;
  const pollMs = options.pollMs ?? 2000;
  const wait = options.sleep ?? ((ms: number) => sleep(ms));
  const started = monotonicClock.now();
  for (;;) {
    const { state, host, ready, blocked } = await readResourceState(api, resource);
    if (blocked) throw blocked;
    if (ready && host) return { ...resource, host, state };
    const elapsed = monotonicClock.now() - started;
    if (elapsed >= timeoutMs) {
      throw new LakebaseError(
        'LAKEBASE_INSTANCE_NOT_READY',
        `${describeResource(resource)} is still ${state} after ${Math.round(elapsed / 1000)} s.`,
        { suggestion: 'Check it in the Databricks UI (Compute > Lakebase) and run `lakebase configure` again.' },
      );
    }
    options.onWaiting?.(state, elapsed);
    await wait(pollMs);
  }
}

/** What the workspace says about a resource right now. */
export interface ResourceState {
  /** `instance <name>` or `endpoint <path>`, for messages. */
  label: string;
  /** `AVAILABLE`, `STARTING`, `ACTIVE`, `IDLE`, ...; `UNKNOWN` when the API gives none. */
  state: string;
  host: string | undefined;
  /** Accepts logins now (an IDLE endpoint is scaled to zero and wakes on connect, so it counts as ready). */
  ready: boolean;
  /** Set when the resource will not become ready by itself (stopped, disabled): the error to throw, with the fix. */
  blocked: LakebaseError | undefined;
}

/**
 * The one reader of instance/endpoint state and host. An unknown instance fails naming the ones that exist; unknown
 * states (UPGRADING, newer values) count as not ready, per the API reference.
 */
export async function readResourceState(api: LakebaseApi, resource: LakebaseResource): Promise<ResourceState> {
  if (resource.tier === 'provisioned') {
    const instance = await getInstanceOrExplain(api, resource.instanceName);
    const state = instance.state ?? 'UNKNOWN';
    const blocked =
      state === 'STOPPED'
        ? notReady(
            `Instance ${instance.name} is STOPPED.`,
            `Start it: \`databricks database update-database-instance ${instance.name} --json '{"stopped": false}'\` (or in the UI), then retry.`,
          )
        : undefined;
    const label = `instance ${instance.name}`;
    return { label, state, host: instance.read_write_dns, ready: state === 'AVAILABLE', blocked };
  }
  const endpoint: Endpoint = await api.getEndpoint(parseEndpointName(resource.endpoint, resource.source));
  const state = endpoint.status?.current_state ?? 'UNKNOWN';
  const blocked = endpoint.status?.disabled
    ? notReady(
        `Endpoint ${endpoint.name} is disabled.`,
        'Enable it in the Lakebase UI (or update spec.disabled = false), then retry.',
      )
    : undefined;
  const ready = state === 'ACTIVE' || state === 'IDLE';
  return { label: `endpoint ${endpoint.name}`, state, host: endpoint.status?.hosts?.host, ready, blocked };
}

/** `LAKEBASE_INSTANCE_NOT_READY`; by default the advice is to wait or start it. */
export function notReady(
  message: string,
  suggestion = 'Wait for the instance/endpoint to become AVAILABLE/ACTIVE (new instances take a few minutes), or start it.',
): LakebaseError {
  return new LakebaseError('LAKEBASE_INSTANCE_NOT_READY', message, { suggestion });
}

async function getInstanceOrExplain(api: LakebaseApi, name: string): Promise<DatabaseInstance> {
  try {
    return await api.getInstance(parseInstanceName(name, 'instance'));
  } catch (error) {
    if (!isLakebaseError(error, 'LAKEBASE_RESOURCE_NOT_FOUND')) throw error;
    const names = (await api.listInstances().catch(() => [])).map((i) => i.name);
    throw new LakebaseError(
      'LAKEBASE_RESOURCE_NOT_FOUND',
      `Instance '${name}' does not exist in ${api.host}. ${names.length ? `Instances: ${names.join(', ')}.` : 'The workspace has no instances.'}`,
      {
        suggestion: names.length
          ? `Use one of: ${names.map((n) => `--instance ${n}`).join(' | ')}.`
          : 'Deploy the bundle first (`databricks bundle deploy --target dev`) or check DATABRICKS_HOST.',
        cause: error,
      },
    );
  }
}
