/**
 * Computes of the configured branch (what `lakebase endpoint` calls): an endpoint is named by its id on the branch
 * (`primary`), by its full name, or defaults to the configured endpoint. Sizes are checked before any request.
 */
import { endpointIn } from '../config/names.js';
import {
  type ComputeSettings,
  checkComputeSettings,
  createEndpoint,
  deleteEndpoint,
  type EndpointInfo,
  listEndpoints,
  toEndpointInfo,
  updateEndpoint,
} from '../workspace/endpoints.js';
import { withConfiguredBranch } from './branch-target.js';
import type { ConnectorOptions } from './connector.js';

export class LakebaseEndpoints {
  constructor(private readonly options: ConnectorOptions = {}) {}

  list(): Promise<EndpointInfo[]> {
    return withConfiguredBranch(this.options, 'Computes', ({ api, branch }) => listEndpoints(api, branch));
  }

  /** One endpoint (default: the configured one). */
  get(endpoint?: string): Promise<EndpointInfo> {
    return withConfiguredBranch(this.options, 'Computes', async (c) =>
      toEndpointInfo(await c.api.getEndpoint(endpoint ? endpointIn(c.branch, endpoint) : c.endpoint)),
    );
  }

  /** Creates endpoint `id` on the branch: read-write (one per branch), or read-only with `readOnly`. */
  create(id: string, settings: ComputeSettings & { readOnly?: boolean } = {}): Promise<EndpointInfo> {
    checkComputeSettings(settings);
    return withConfiguredBranch(this.options, 'Computes', (c) =>
      createEndpoint(c.api, endpointIn(c.branch, id), settings),
    );
  }

  /** Changes the given settings of an endpoint (default: the configured one). */
  update(endpoint: string | undefined, settings: ComputeSettings): Promise<EndpointInfo> {
    checkComputeSettings(settings);
    return withConfiguredBranch(this.options, 'Computes', (c) =>
      updateEndpoint(c.api, endpoint ? endpointIn(c.branch, endpoint) : c.endpoint, settings),
    );
  }

  delete(endpoint: string): Promise<void> {
    return withConfiguredBranch(this.options, 'Computes', (c) => deleteEndpoint(c.api, endpointIn(c.branch, endpoint)));
  }
}
