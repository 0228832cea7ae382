/**
 * Branches of the configured Autoscaling project, bound to its config: what `lakebase branch` and `lakebase
 * configure --branch` call. Creating (or resetting) a branch returns once its read-write endpoint accepts a login.
 */
import { withoutBranch } from '../config/branch.js';
import {
  type BranchName,
  branchIn,
  type EndpointName,
  type ProjectName,
  parseEndpointName,
  projectOf,
} from '../config/names.js';
import { resolveConfig } from '../config/resolve.js';
import { isLakebaseError, LakebaseError } from '../errors.js';
import { LakebaseApi } from '../workspace/api.js';
import { WorkspaceAuth } from '../workspace/auth/index.js';
import {
  type BranchExpiry,
  type BranchInfo,
  branchReadWriteEndpoint,
  type CreateBranchOptions,
  type CreatedBranch,
  createBranch,
  deleteBranch,
  getBranch,
  listBranches,
  type ResetBranchOptions,
  resetBranch,
  updateBranchExpiry,
} from '../workspace/branches.js';
import type { OperationWaitOptions } from '../workspace/operations.js';
import { withClient } from './client.js';
import type { ConnectorOptions } from './connector.js';

/** The branches of the project named by the configured endpoint (`LAKEBASE_ENDPOINT` / `{ endpoint }`). */
export class LakebaseBranches {
  /** `projects/<id>`. */
  readonly project: ProjectName;
  readonly api: LakebaseApi;

  constructor(private readonly options: ConnectorOptions = {}) {
    const config = options.config ?? resolveConfig({ ...options, branch: undefined }, withoutBranch(options.env));
    if (config.mode !== 'autoscaling' || !config.endpoint) {
      throw new LakebaseError(
        'LAKEBASE_CONFIG_INVALID',
        `Branches need an Autoscaling project, but the configured target is ${config.mode === 'provisioned' ? `the Provisioned instance ${config.instanceName ?? '(found by host)'}` : 'a static URL'}.`,
        {
          suggestion:
            'Set LAKEBASE_ENDPOINT to an endpoint of the project (e.g. projects/my-app/branches/production/endpoints/primary), or run `lakebase configure --endpoint ...`.',
        },
      );
    }
    this.project = projectOf(parseEndpointName(config.endpoint, config.sources.endpoint ?? 'LAKEBASE_ENDPOINT'));
    const auth = new WorkspaceAuth(config.workspace, { fetch: options.fetch, timeoutMs: options.apiTimeoutMs });
    this.api = new LakebaseApi(auth, { fetch: options.fetch, workspaceId: config.workspace.workspaceId });
  }

  /** `projects/<p>/branches/<id>` of a branch id (or full name) of this project; `LAKEBASE_CONFIG_INVALID` otherwise. */
  name(branch: string, source = 'branch'): BranchName {
    return branchIn(this.project, branch, source);
  }

  list(): Promise<BranchInfo[]> {
    return listBranches(this.api, this.project);
  }

  get(branch: string): Promise<BranchInfo> {
    return getBranch(this.api, this.project, branch);
  }

  /** Creates the branch, its read-write endpoint if it has none, and returns once that endpoint accepts a login. */
  async create(branch: string, options: CreateBranchOptions = {}): Promise<CreatedBranch> {
    const created = await createBranch(this.api, this.project, branch, options);
    await this.acceptsLogins(created);
    return created;
  }

  /**
   * The branch if it exists, else created as {@link create} does (`options` apply only then): what `lakebase
   * checkout` does. Returns its read-write endpoint and whether it was created.
   */
  async ensure(
    branch: string,
    options: CreateBranchOptions = {},
  ): Promise<{ branch: BranchInfo; endpoint: EndpointName; created: boolean }> {
    const existing = await this.find(branch);
    if (existing)
      return { branch: existing, endpoint: await branchReadWriteEndpoint(this.api, existing.name), created: false };
    const created = await this.create(branch, options);
    return { branch: created.branch, endpoint: created.endpoint, created: true };
  }

  /** The branch, or undefined when the project has none of that name. */
  async find(branch: string): Promise<BranchInfo | undefined> {
    try {
      return await this.get(branch);
    } catch (error) {
      if (isLakebaseError(error, 'LAKEBASE_RESOURCE_NOT_FOUND')) return undefined;
      throw error;
    }
  }

  /** Deletes and recreates the branch from its parent or `options.from` (see `resetBranch`: what is lost, refused). */
  async reset(branch: string, options: ResetBranchOptions = {}): Promise<CreatedBranch & { lost: readonly string[] }> {
    const reset = await resetBranch(this.api, this.project, branch, options);
    await this.acceptsLogins(reset);
    return reset;
  }

  delete(branch: string, options: { allowMissing?: boolean; wait?: OperationWaitOptions } = {}): Promise<void> {
    return deleteBranch(this.api, this.project, branch, options);
  }

  setExpiry(branch: string, expiry: BranchExpiry, wait?: OperationWaitOptions): Promise<BranchInfo> {
    return updateBranchExpiry(this.api, this.project, branch, expiry, wait);
  }

  /** One login and `select 1` on the branch (the connect path retries the transient refusals of a new compute). */
  private async acceptsLogins(created: CreatedBranch): Promise<void> {
    const { branch: _branch, host: _host, config: _config, ...rest } = this.options;
    await withClient(
      { ...rest, endpoint: created.endpoint, host: created.host, env: withoutBranch(this.options.env) },
      (client) => client.query('select 1'),
    );
  }
}
