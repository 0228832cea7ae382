/** The Autoscaling resources and long-running operations as the Postgres API answers them (reference section 2). */
import { ApiError } from './api-error.js';
import { branchName, DEFAULT_BRANCH_ID, endpointName, sizingJson } from './autoscaling-records.js';
import type { BranchData } from './branches.js';
import { type ModelContext, rfc3339 } from './context.js';
import { endpointHosts } from './endpoint-hosts.js';
import type { BranchRecord, EndpointRecord, OperationRecord, ProjectRecord } from './state.js';

const TYPE_PREFIX = 'type.googleapis.com/databricks.postgres.v1.';

type Json = Record<string, unknown>;

/**
 * What rendering reads from the Autoscaling model (the model passes itself): lookups and derived state, nothing that
 * changes a record.
 */
export interface AutoscalingLookup {
  readonly data: Pick<BranchData, 'copying'>;
  project(projectId: string): ProjectRecord;
  branch(projectId: string, branchId: string): BranchRecord;
  endpoint(projectId: string, branchId: string, endpointId: string): EndpointRecord;
  endpointState(endpoint: EndpointRecord): 'INIT' | 'ACTIVE' | 'IDLE';
  endpointHost(endpoint: EndpointRecord): string;
}

/** Renders the records of the Autoscaling model; reached as `model.json`. */
export class AutoscalingJson {
  constructor(
    private readonly model: AutoscalingLookup,
    private readonly ctx: ModelContext,
  ) {}

  operation(operation: OperationRecord): Json {
    const kind = operation.kind[0]?.toUpperCase() + operation.kind.slice(1);
    const branch = operation.kind === 'branch' && !operation.deleted ? this.operationBranch(operation) : undefined;
    const done = this.ctx.now() >= operation.doneAt && !(branch && this.model.data.copying(branch));
    const json: Json = {
      name: operation.name,
      metadata: { '@type': `${TYPE_PREFIX}${kind}OperationMetadata` },
      done,
    };
    if (done && branch?.dataState === 'failed') {
      json.error = { error_code: 'INTERNAL_ERROR', message: `copying the branch data failed: ${branch.dataError}` };
    } else if (done && operation.deleted) json.response = { '@type': 'type.googleapis.com/google.protobuf.Empty' };
    else if (done) json.response = { '@type': `${TYPE_PREFIX}${kind}`, ...this.resource(operation) };
    return json;
  }

  private operationBranch(operation: OperationRecord): BranchRecord | undefined {
    return this.ctx.state.branches.find((b) => branchName(b) === operation.resourceName);
  }

  private resource(operation: OperationRecord): Json {
    try {
      return this.currentResource(operation);
    } catch (error) {
      // Deleted since: the operation still succeeded, so answer with what is left of the resource, its name.
      if (error instanceof ApiError && error.statusCode === 404) return { name: operation.resourceName };
      throw error;
    }
  }

  private currentResource(operation: OperationRecord): Json {
    const parts = operation.resourceName.split('/');
    if (operation.kind === 'project') return this.project(this.model.project(parts[1] as string));
    if (operation.kind === 'branch') return this.branch(this.model.branch(parts[1] as string, parts[3] as string));
    return this.endpoint(this.model.endpoint(parts[1] as string, parts[3] as string, parts[5] as string));
  }

  project(project: ProjectRecord): Json {
    return {
      name: `projects/${project.projectId}`,
      project_id: project.projectId,
      uid: project.uid,
      create_time: rfc3339(project.createTime),
      update_time: rfc3339(project.updateTime),
      status: {
        project_id: project.projectId,
        display_name: project.displayName,
        pg_version: project.pgVersion,
        owner: project.owner,
        default_branch: `projects/${project.projectId}/branches/${DEFAULT_BRANCH_ID}`,
        default_endpoint_settings: sizingJson(project.defaultEndpointSettings),
        history_retention_duration: project.historyRetentionDuration,
        enable_pg_native_login: project.enablePgNativeLogin,
        custom_tags: project.customTags ?? [],
        branch_logical_size_limit_bytes: 8_796_093_022_208,
        synthetic_storage_size_bytes: 0,
      },
    };
  }

  branch(branch: BranchRecord): Json {
    const ready = this.ctx.now() >= branch.readyAt && !this.model.data.copying(branch);
    return {
      name: branchName(branch),
      branch_id: branch.branchId,
      parent: `projects/${branch.projectId}`,
      uid: branch.uid,
      create_time: rfc3339(branch.createTime),
      update_time: rfc3339(branch.updateTime),
      status: {
        branch_id: branch.branchId,
        current_state: ready ? 'READY' : 'INIT',
        ...(ready ? {} : { pending_state: 'READY' }),
        default: branch.isDefault,
        is_protected: branch.isProtected,
        logical_size_bytes: 0,
        ...(branch.sourceBranch
          ? { source_branch: branch.sourceBranch, source_branch_time: rfc3339(branch.createTime) }
          : {}),
        ...(branch.expireTime !== undefined ? { expire_time: rfc3339(branch.expireTime) } : {}),
        state_change_time: rfc3339(ready ? branch.readyAt : branch.createTime),
      },
    };
  }

  endpoint(endpoint: EndpointRecord): Json {
    const state = this.model.endpointState(endpoint);
    return {
      name: endpointName(endpoint),
      endpoint_id: endpoint.endpointId,
      parent: `projects/${endpoint.projectId}/branches/${endpoint.branchId}`,
      uid: endpoint.uid,
      create_time: rfc3339(endpoint.createTime),
      update_time: rfc3339(endpoint.updateTime),
      status: {
        endpoint_id: endpoint.endpointId,
        endpoint_type: endpoint.endpointType,
        current_state: state,
        ...(state === 'INIT' && !endpoint.pinnedInit ? { pending_state: 'ACTIVE' } : {}),
        autoscaling_limit_min_cu: endpoint.minCu,
        autoscaling_limit_max_cu: endpoint.maxCu,
        ...(endpoint.noSuspension
          ? { no_suspension: true }
          : { suspend_timeout_duration: endpoint.suspendTimeoutDuration }),
        disabled: endpoint.disabled,
        ...(endpoint.lastActiveAt !== undefined ? { last_active_time: rfc3339(endpoint.lastActiveAt) } : {}),
        settings: { pg_settings: {} },
        group: { min: 1, max: 1, enable_readable_secondaries: false },
        hosts: endpointHosts(this.model.endpointHost(endpoint), endpoint, this.ctx.state.endpoints),
      },
    };
  }
}
