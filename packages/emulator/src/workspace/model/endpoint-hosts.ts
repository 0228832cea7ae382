/**
 * The four host names of an Autoscaling endpoint (`status.hosts`) and what a login to each of them reaches.
 *
 * - `host`: the endpoint itself; read-write on a READ_WRITE endpoint, read-only on a READ_ONLY one.
 * - `read_only_host`: on a READ_WRITE endpoint, the branch's read replicas (present once the branch has a READ_ONLY
 *   endpoint); on a READ_ONLY endpoint, its own host.
 * - `read_write_pooled_host` / `read_only_pooled_host`: the same, through the transaction-mode pooler
 *   (`<uid>-pooler.database.localhost`, Neon's naming), served by the same front door.
 *
 * Every name resolves to the one front door (`*.database.localhost` is loopback); the front door tells them apart
 * by the TLS server name. A token minted for any endpoint of a branch logs in to the branch's read-only hosts: the
 * client's read pool shares the write pool's credential.
 */
import type { ResourceRef } from '../../contracts.js';
import { endpointName } from './autoscaling-records.js';
import type { EndpointRecord } from './state.js';

const SUFFIX = '.database.localhost';

/** Where a login to one host name goes. */
export interface HostRoute {
  /** Resources whose tokens this host accepts. */
  resources: ResourceRef[];
  /** The endpoint that must be up for the login to succeed. */
  serving: EndpointRecord;
  /** Sessions are read-only (PostgreSQL answers writes with 25006). */
  readOnly: boolean;
  /** Reached through the transaction-mode pooler. */
  pooled: boolean;
}

/** `status.hosts` of an endpoint. */
export function endpointHosts(
  host: string,
  endpoint: EndpointRecord,
  endpoints: readonly EndpointRecord[],
): Record<string, string> {
  const hosts: Record<string, string> = { host };
  if (endpoint.endpointType === 'ENDPOINT_TYPE_READ_ONLY') {
    hosts.read_only_host = hosts.host as string;
    hosts.read_only_pooled_host = `${endpoint.uid}-pooler${SUFFIX}`;
    return hosts;
  }
  hosts.read_write_pooled_host = `${endpoint.uid}-pooler${SUFFIX}`;
  if (readReplicas(endpoints, endpoint).length > 0) {
    hosts.read_only_host = `${endpoint.uid}-ro${SUFFIX}`;
    hosts.read_only_pooled_host = `${endpoint.uid}-ro-pooler${SUFFIX}`;
  }
  return hosts;
}

/**
 * The route for a host name that is not the default endpoint's, or undefined if no endpoint has it. `hostOf` gives
 * an endpoint's own host (the model's `endpointHost`).
 */
export function routeEndpointHost(
  endpoints: readonly EndpointRecord[],
  hostOf: (endpoint: EndpointRecord) => string,
  host: string,
): HostRoute | undefined {
  for (const endpoint of endpoints) {
    const hosts = endpointHosts(hostOf(endpoint), endpoint, endpoints);
    for (const [key, name] of Object.entries(hosts)) {
      if (name.toLowerCase() !== host) continue;
      const pooled = key.endsWith('_pooled_host');
      const readOnly = key.startsWith('read_only') || endpoint.endpointType === 'ENDPOINT_TYPE_READ_ONLY';
      if (!readOnly) return { resources: [ref(endpoint)], serving: endpoint, readOnly, pooled };
      const replicas =
        endpoint.endpointType === 'ENDPOINT_TYPE_READ_ONLY' ? [endpoint] : readReplicas(endpoints, endpoint);
      // An enabled replica serves, else the first (whose state then refuses the login).
      const serving = replicas.find((e) => !e.disabled) ?? replicas[0] ?? endpoint;
      return { resources: branchEndpoints(endpoints, endpoint).map(ref), serving, readOnly, pooled };
    }
  }
  return undefined;
}

function readReplicas(endpoints: readonly EndpointRecord[], endpoint: EndpointRecord): EndpointRecord[] {
  return branchEndpoints(endpoints, endpoint).filter((e) => e.endpointType === 'ENDPOINT_TYPE_READ_ONLY');
}

function branchEndpoints(endpoints: readonly EndpointRecord[], endpoint: EndpointRecord): EndpointRecord[] {
  return endpoints.filter((e) => e.projectId === endpoint.projectId && e.branchId === endpoint.branchId);
}

function ref(endpoint: EndpointRecord): ResourceRef {
  return { kind: 'endpoint', name: endpointName(endpoint) };
}
