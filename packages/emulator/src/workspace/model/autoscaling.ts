import { ApiError, invalidParameter, postgresNotFound, requiredField } from './api-error.js';
import { AutoscalingJson } from './autoscaling-json.js';
import {
  type BranchInput,
  branchName,
  byKey,
  checkDuration,
  checkId,
  checkSizing,
  DEFAULT_BRANCH_ID,
  DEFAULT_ENDPOINT_ID,
  type EndpointInput,
  endpointName,
  newBranch,
  newEndpoint,
  type ProjectInput,
} from './autoscaling-records.js';
import { BranchData, expiryFrom, refusePointInTime } from './branches.js';
import type { ModelContext } from './context.js';
import { EndpointCompute } from './endpoint-compute.js';
import { paginate } from './pagination.js';
import {
  type BranchRecord,
  type EndpointRecord,
  type OperationRecord,
  type ProjectRecord,
  randomUUID,
} from './state.js';

const ENDPOINT_NAME = /^projects\/([^/]+)\/branches\/([^/]+)\/endpoints\/([^/]+)$/;
const BRANCH_NAME = /^projects\/([^/]+)\/branches\/([^/]+)$/;

/** Lakebase Autoscaling: projects, branches, endpoints and their long-running operations (reference section 2). */
export class AutoscalingModel {
  /** Branch data copies in storage. */
  readonly data: BranchData;
  /** The records as the API answers them. */
  readonly json: AutoscalingJson;
  /** Compute settings and scale to zero. */
  readonly compute: EndpointCompute;

  constructor(private readonly ctx: ModelContext) {
    this.compute = new EndpointCompute(ctx);
    this.data = new BranchData(ctx);
    this.json = new AutoscalingJson(this, ctx);
  }

  get defaultEndpointName(): string {
    return `projects/${this.ctx.settings.projectId}/branches/${DEFAULT_BRANCH_ID}/endpoints/${DEFAULT_ENDPOINT_ID}`;
  }

  // ---- lookups -------------------------------------------------------------------------------------------------

  project(projectId: string): ProjectRecord {
    const found = this.ctx.state.projects.find((p) => p.projectId === projectId);
    if (!found) throw postgresNotFound('project', projectId);
    return found;
  }

  branch(projectId: string, branchId: string): BranchRecord {
    this.project(projectId);
    this.expireBranches();
    const found = this.ctx.state.branches.find((b) => b.projectId === projectId && b.branchId === branchId);
    if (!found) throw postgresNotFound('branch', branchId);
    return found;
  }

  endpoint(projectId: string, branchId: string, endpointId: string): EndpointRecord {
    this.branch(projectId, branchId);
    const found = this.ctx.state.endpoints.find(
      (e) => e.projectId === projectId && e.branchId === branchId && e.endpointId === endpointId,
    );
    if (!found) throw postgresNotFound('endpoint', endpointId);
    return found;
  }

  /** Resolves a full endpoint name; a malformed name is a 400, a missing one a 404. */
  endpointByName(name: string): EndpointRecord {
    const match = ENDPOINT_NAME.exec(name);
    if (!match) {
      throw invalidParameter(
        `Invalid endpoint name '${name}': expected projects/{project_id}/branches/{branch_id}/endpoints/{endpoint_id}.`,
      );
    }
    return this.endpoint(match[1] as string, match[2] as string, match[3] as string);
  }

  /** The endpoint with this full name, or undefined. */
  findEndpoint(name: string): EndpointRecord | undefined {
    this.expireBranches();
    return this.ctx.state.endpoints.find((e) => endpointName(e) === name);
  }

  operation(name: string): OperationRecord {
    const found = this.ctx.state.operations.find((o) => o.name === name);
    if (!found) throw postgresNotFound('operation', name.split('/').at(-1) ?? name);
    return found;
  }

  // ---- creation --------------------------------------------------------------------------------------------------

  /** Creates a project with its default branch `production` and read-write endpoint `primary`. */
  createProject(projectId: string | undefined, input: ProjectInput, owner: string, immediate = false): OperationRecord {
    checkId('project_id', projectId);
    if (this.ctx.state.projects.some((p) => p.projectId === projectId)) {
      throw new ApiError(409, 'ALREADY_EXISTS', 'project with such id already exists in the workspace');
    }
    const spec = input.spec ?? {};
    const defaults = spec.default_endpoint_settings ?? {};
    const sizing = checkSizing({ ...defaults, ...input.initial_endpoint_spec });
    const retention = spec.history_retention_duration ?? '604800s';
    checkDuration('spec.history_retention_duration', retention, 172_800, 3_024_000);
    const now = this.ctx.now();
    const readyAt = immediate ? now : now + this.ctx.settings.operationDelayMs;
    const project: ProjectRecord = {
      projectId,
      uid: randomUUID(),
      createTime: now,
      updateTime: now,
      displayName: spec.display_name ?? projectId,
      pgVersion: spec.pg_version ?? 17,
      owner,
      historyRetentionDuration: retention,
      enablePgNativeLogin: spec.enable_pg_native_login ?? false,
      defaultEndpointSettings: sizing,
      ...(spec.custom_tags ? { customTags: spec.custom_tags } : {}),
    };
    this.ctx.state.projects.push(project);
    this.ctx.state.branches.push(newBranch(projectId, DEFAULT_BRANCH_ID, now, readyAt, true, false));
    this.ctx.state.endpoints.push(
      newEndpoint(projectId, DEFAULT_BRANCH_ID, DEFAULT_ENDPOINT_ID, now, readyAt, 'ENDPOINT_TYPE_READ_WRITE', sizing),
    );
    return this.record('project', `projects/${projectId}`, readyAt);
  }

  /**
   * Creates a branch (from the default branch unless `spec.source_branch` names another) whose data is a copy of the
   * source's as it is now; the Operation is done once the copy is. `replaceExisting` deletes a same-named branch first.
   */
  createBranch(
    projectId: string,
    branchId: string | undefined,
    input: BranchInput,
    replaceExisting = false,
  ): OperationRecord {
    const project = this.project(projectId);
    checkId('branch_id', branchId);
    const spec = input.spec ?? {};
    const source = spec.source_branch ?? `projects/${projectId}/branches/${DEFAULT_BRANCH_ID}`;
    const sourceMatch = BRANCH_NAME.exec(source);
    if (!sourceMatch) throw invalidParameter(`Invalid source_branch '${source}': expected projects/{p}/branches/{b}.`);
    const parent = this.branch(sourceMatch[1] as string, sourceMatch[2] as string);
    refusePointInTime(spec);
    const now = this.ctx.now();
    const expireTime = expiryFrom(spec, now);
    const existing = this.ctx.state.branches.find((b) => b.projectId === projectId && b.branchId === branchId);
    if (existing && !replaceExisting) {
      throw new ApiError(409, 'ALREADY_EXISTS', 'branch with such id already exists in the project');
    }
    if (existing === parent) throw invalidParameter('A branch cannot replace its own source branch.');
    if (existing) this.removeBranch(existing);
    const readyAt = now + this.ctx.settings.operationDelayMs;
    const branch = newBranch(projectId, branchId, now, readyAt, false, spec.is_protected ?? false);
    branch.sourceBranch = source;
    if (expireTime !== undefined) branch.expireTime = expireTime;
    this.ctx.state.branches.push(branch);
    this.data.copy(branch, parent);
    project.updateTime = now;
    return this.record('branch', branchName(branch), readyAt);
  }

  /** PATCH a branch: `update_mask` names the spec fields to take (`spec.is_protected`, `spec.ttl`, ...). */
  updateBranch(
    projectId: string,
    branchId: string,
    updateMask: string | undefined,
    input: BranchInput,
  ): OperationRecord {
    const branch = this.branch(projectId, branchId);
    const spec = input.spec ?? {};
    const fields = (updateMask ?? '')
      .split(',')
      .map((f) => f.trim().replace(/^spec\./, ''))
      .filter(Boolean);
    if (fields.length === 0)
      throw invalidParameter('Field \'update_mask\' is required, expected non-default value (not "")!');
    const known = ['is_protected', 'ttl', 'expire_time', 'no_expiry'];
    const unknown = fields.filter((f) => !known.includes(f));
    if (unknown.length)
      throw invalidParameter(`update_mask names fields that cannot be updated: ${unknown.join(', ')}.`);
    const now = this.ctx.now();
    if (fields.some((f) => f !== 'is_protected')) {
      const expiry: Pick<typeof spec, 'ttl' | 'expire_time' | 'no_expiry'> = {};
      if (fields.includes('ttl')) expiry.ttl = spec.ttl;
      if (fields.includes('expire_time')) expiry.expire_time = spec.expire_time;
      if (fields.includes('no_expiry')) expiry.no_expiry = spec.no_expiry ?? true;
      if (branch.isDefault && expiry.no_expiry !== true) throw invalidParameter('The default branch cannot expire.');
      const at = expiryFrom(expiry, now);
      if (at === undefined) delete branch.expireTime;
      else branch.expireTime = at;
    }
    if (fields.includes('is_protected')) branch.isProtected = spec.is_protected ?? false;
    branch.updateTime = now;
    return this.record('branch', branchName(branch), now + this.ctx.settings.operationDelayMs);
  }

  /** Deletes branches whose expiry time has passed, with their endpoints and data. */
  expireBranches(): void {
    const now = this.ctx.now();
    const expired = this.ctx.state.branches.filter((b) => b.expireTime !== undefined && b.expireTime <= now);
    for (const branch of expired) this.removeBranch(branch);
    if (expired.length) this.ctx.persist();
  }

  private removeBranch(branch: BranchRecord): void {
    const s = this.ctx.state;
    s.branches = s.branches.filter((b) => b !== branch);
    s.endpoints = s.endpoints.filter((e) => !(e.projectId === branch.projectId && e.branchId === branch.branchId));
    this.data.drop(branch);
  }

  /** Creates an endpoint; a branch has at most one read-write endpoint. */
  createEndpoint(
    projectId: string,
    branchId: string,
    endpointId: string | undefined,
    input: EndpointInput,
  ): OperationRecord {
    const project = this.project(projectId);
    this.branch(projectId, branchId);
    checkId('endpoint_id', endpointId);
    const siblings = this.ctx.state.endpoints.filter((e) => e.projectId === projectId && e.branchId === branchId);
    if (siblings.some((e) => e.endpointId === endpointId)) {
      throw new ApiError(409, 'ALREADY_EXISTS', 'endpoint with such id already exists in the branch');
    }
    const type = input.spec?.endpoint_type;
    if (!type) throw requiredField('spec.endpoint_type');
    if (type !== 'ENDPOINT_TYPE_READ_WRITE' && type !== 'ENDPOINT_TYPE_READ_ONLY') {
      throw invalidParameter(
        `Invalid endpoint_type '${type}': expected ENDPOINT_TYPE_READ_WRITE or ENDPOINT_TYPE_READ_ONLY.`,
      );
    }
    if (type === 'ENDPOINT_TYPE_READ_WRITE' && siblings.some((e) => e.endpointType === type)) {
      throw new ApiError(400, 'BAD_REQUEST', `branch ${branchId} already has a read-write endpoint`);
    }
    const d = project.defaultEndpointSettings;
    const sizing = checkSizing({
      autoscaling_limit_min_cu: input.spec?.autoscaling_limit_min_cu ?? d.minCu,
      autoscaling_limit_max_cu: input.spec?.autoscaling_limit_max_cu ?? d.maxCu,
      suspend_timeout_duration: input.spec?.suspend_timeout_duration ?? d.suspendTimeoutDuration,
    });
    const now = this.ctx.now();
    const readyAt = now + this.ctx.settings.operationDelayMs;
    const endpoint = newEndpoint(projectId, branchId, endpointId, now, readyAt, type, sizing);
    endpoint.disabled = input.spec?.disabled ?? false;
    if (input.spec?.no_suspension) endpoint.noSuspension = true;
    this.ctx.state.endpoints.push(endpoint);
    return this.record('endpoint', endpointName(endpoint), readyAt);
  }

  // ---- deletion (immediate; the Operation reports done after the usual delay) -----------------------------------

  /** Deletes a project with its branches and endpoints. */
  deleteProject(projectId: string): OperationRecord {
    this.project(projectId);
    const s = this.ctx.state;
    s.projects = s.projects.filter((p) => p.projectId !== projectId);
    for (const branch of s.branches) if (branch.projectId === projectId) this.data.drop(branch);
    s.branches = s.branches.filter((b) => b.projectId !== projectId);
    s.endpoints = s.endpoints.filter((e) => e.projectId !== projectId);
    return this.record('project', `projects/${projectId}`, this.ctx.now() + this.ctx.settings.operationDelayMs, true);
  }

  /**
   * Deletes a branch with its endpoints and data; the default branch and protected branches cannot go. With
   * `allowMissing`, a branch that does not exist is a successful no-op.
   */
  deleteBranch(projectId: string, branchId: string, allowMissing = false): OperationRecord {
    const doneAt = this.ctx.now() + this.ctx.settings.operationDelayMs;
    let branch: BranchRecord;
    try {
      branch = this.branch(projectId, branchId);
    } catch (error) {
      const missing = error instanceof ApiError && error.statusCode === 404;
      if (!allowMissing || !missing) throw error;
      this.project(projectId); // an unknown project is still an error
      return this.record('branch', `projects/${projectId}/branches/${branchId}`, doneAt, true);
    }
    if (branch.isDefault) throw new ApiError(400, 'BAD_REQUEST', 'cannot delete the default branch of a project');
    if (branch.isProtected) throw new ApiError(400, 'BAD_REQUEST', 'cannot delete protected branch');
    this.removeBranch(branch);
    return this.record('branch', branchName(branch), doneAt, true);
  }

  /** The Operation of an endpoint update (done at once: settings apply without a restart). */
  endpointUpdated(endpoint: EndpointRecord): OperationRecord {
    return this.record('endpoint', endpointName(endpoint), this.ctx.now());
  }

  /** Deletes an endpoint. */
  deleteEndpoint(projectId: string, branchId: string, endpointId: string): OperationRecord {
    const endpoint = this.endpoint(projectId, branchId, endpointId);
    this.ctx.state.endpoints = this.ctx.state.endpoints.filter((e) => e !== endpoint);
    return this.record('endpoint', endpointName(endpoint), this.ctx.now() + this.ctx.settings.operationDelayMs, true);
  }

  private record(
    kind: OperationRecord['kind'],
    resourceName: string,
    doneAt: number,
    deleted = false,
  ): OperationRecord {
    const operation: OperationRecord = {
      name: `${resourceName}/operations/${randomUUID()}`,
      kind,
      resourceName,
      doneAt,
    };
    if (deleted) operation.deleted = true;
    this.ctx.state.operations.push(operation);
    this.ctx.persist();
    return operation;
  }

  // ---- lists -----------------------------------------------------------------------------------------------------

  listProjects(pageSize?: number, pageToken?: string) {
    return paginate(
      byKey(this.ctx.state.projects, (p) => p.projectId),
      (p) => p.projectId,
      pageSize,
      pageToken,
    );
  }

  listBranches(projectId: string, pageSize?: number, pageToken?: string) {
    this.project(projectId);
    this.expireBranches();
    const branches = this.ctx.state.branches.filter((b) => b.projectId === projectId);
    return paginate(
      byKey(branches, (b) => b.branchId),
      (b) => b.branchId,
      pageSize,
      pageToken,
    );
  }

  listEndpoints(projectId: string, branchId: string, pageSize?: number, pageToken?: string) {
    this.branch(projectId, branchId);
    const endpoints = this.ctx.state.endpoints.filter((e) => e.projectId === projectId && e.branchId === branchId);
    return paginate(
      byKey(endpoints, (e) => e.endpointId),
      (e) => e.endpointId,
      pageSize,
      pageToken,
    );
  }

  // ---- state -----------------------------------------------------------------------------------------------------

  /** `INIT` while being created or forced, `IDLE` when disabled or suspended (scaled to zero), else `ACTIVE`. */
  endpointState(endpoint: EndpointRecord): 'INIT' | 'ACTIVE' | 'IDLE' {
    if (endpoint.disabled || this.compute.suspended(endpoint)) return 'IDLE';
    if (endpoint.pinnedInit || this.ctx.now() < endpoint.readyAt) return 'INIT';
    if (this.branchCopying(endpoint)) return 'INIT';
    return 'ACTIVE';
  }

  private branchCopying(endpoint: EndpointRecord): boolean {
    const branch = this.ctx.state.branches.find(
      (b) => b.projectId === endpoint.projectId && b.branchId === endpoint.branchId,
    );
    return branch !== undefined && this.data.copying(branch);
  }

  /** The storage database a login to `database` on this endpoint uses (its branch's copy). */
  storageDatabase(endpoint: EndpointRecord, database: string): string {
    const branch = this.ctx.state.branches.find(
      (b) => b.projectId === endpoint.projectId && b.branchId === endpoint.branchId,
    );
    return branch ? this.data.storageDatabase(branch, database) : database;
  }

  /** The default endpoint is served at pgHost; every other one at its own name, like `ep-...` hosts on Databricks. */
  endpointHost(endpoint: EndpointRecord): string {
    return endpointName(endpoint) === this.defaultEndpointName
      ? this.ctx.settings.pgHost
      : `${endpoint.uid}.database.localhost`;
  }

  /** Forces an endpoint state (test knob): STOPPED disables it, STARTING pins INIT, AVAILABLE makes it ACTIVE. */
  force(endpoint: EndpointRecord, state: 'AVAILABLE' | 'STARTING' | 'STOPPED'): void {
    endpoint.disabled = state === 'STOPPED';
    endpoint.pinnedInit = state === 'STARTING';
    if (state === 'AVAILABLE') endpoint.readyAt = Math.min(endpoint.readyAt, this.ctx.now());
    this.ctx.persist();
  }
}

export type { BranchInput, EndpointInput, EndpointSizing, ProjectInput } from './autoscaling-records.js';
export { endpointName } from './autoscaling-records.js';
