/**
 * The Autoscaling branch a command manages (roles, computes): the branch of the configured endpoint, after
 * `LAKEBASE_BRANCH`/`--branch` moved it. One connector without background refresh, closed afterwards.
 */
import { type BranchName, branchOf, type EndpointName, parseEndpointName } from '../config/names.js';
import { LakebaseError } from '../errors.js';
import type { LakebaseApi } from '../workspace/api.js';
import { type ConnectionTarget, type ConnectorOptions, LakebaseConnector } from './connector.js';

/** What {@link withConfiguredBranch} hands to its work. */
export interface BranchContext {
  api: LakebaseApi;
  branch: BranchName;
  /** The configured endpoint (on `branch`). */
  endpoint: EndpointName;
  target: ConnectionTarget;
  connector: LakebaseConnector;
}

export async function withConfiguredBranch<T>(
  options: ConnectorOptions,
  what: string,
  work: (context: BranchContext) => Promise<T>,
): Promise<T> {
  const connector = new LakebaseConnector(options, { backgroundRefresh: false });
  try {
    const target = await connector.target();
    if (!target.endpoint || !connector.api) {
      throw new LakebaseError(
        'LAKEBASE_CONFIG_INVALID',
        `${what} are managed on an Autoscaling branch, but the configured target is not an Autoscaling endpoint.`,
        {
          suggestion:
            'Set LAKEBASE_ENDPOINT (e.g. projects/my-app/branches/production/endpoints/primary), or run `lakebase configure --endpoint ...`.',
        },
      );
    }
    const endpoint = parseEndpointName(target.endpoint, 'endpoint');
    return await work({ api: connector.api, branch: branchOf(endpoint), endpoint, target, connector });
  } finally {
    await connector.close();
  }
}
