/**
 * The other hosts of one Lakebase database: the read host (`read_only_host` of an Autoscaling endpoint,
 * `read_only_dns` of a Provisioned instance) and the pooled host (`read_write_pooled_host`, PgBouncer in transaction
 * mode). A routed connector is a view of the primary connector that reaches one of them with the same config, the
 * same workspace auth and the same credential manager: one token request per rotation serves every pool.
 */
import { parseEndpointName, parseInstanceName } from '../config/names.js';
import { LakebaseError } from '../errors.js';
import type { ConnectionTarget, LakebaseConnector } from './connector.js';

export type Route = 'read' | 'pooled';

/** Routed view -> the connector of the direct host it is a view of. */
const directOf = new WeakMap<LakebaseConnector, LakebaseConnector>();

/** A connector reaching `route`'s host; `target()` fails with `LAKEBASE_READ_HOST_UNAVAILABLE` if there is none. */
export function routedConnector(primary: LakebaseConnector, route: Route): LakebaseConnector {
  let pending: Promise<ConnectionTarget> | undefined;
  let resolved: ConnectionTarget | undefined;
  const target = (): Promise<ConnectionTarget> => {
    pending ??= primary.target().then(async (primaryTarget) => {
      const host = await routeHost(primary, route, primaryTarget);
      resolved = { ...primaryTarget, host };
      return resolved;
    });
    pending.catch(() => {
      pending = undefined; // a failed lookup is tried again on the next connect
    });
    return pending;
  };
  const routed = Object.create(primary) as LakebaseConnector;
  Object.defineProperties(routed, {
    route: { value: route, enumerable: true },
    target: { value: target },
    resolvedTarget: { get: () => resolved },
    // The read pool shares the primary's credentials: ending it must not stop their refresh. A pooled primary pool
    // owns them, so it closes them.
    close: { value: route === 'read' ? async () => {} : () => primary.close() },
  });
  directOf.set(routed, directOf.get(primary) ?? primary);
  return routed;
}

/**
 * A view of `primary`'s direct host (its own host, not the pooled host: fallback sessions carry a startup option a
 * transaction pooler refuses) for the read pool's fallback sessions: same target and credentials, counted as reads,
 * and ending it leaves the credentials to the primary.
 */
export function fallbackConnector(primary: LakebaseConnector): LakebaseConnector {
  const direct = directOf.get(primary) ?? primary;
  const view = Object.create(direct) as LakebaseConnector;
  Object.defineProperties(view, {
    route: { value: 'read', enumerable: true },
    target: { value: () => direct.target() },
    resolvedTarget: { get: () => direct.resolvedTarget },
    close: { value: async () => {} },
  });
  directOf.set(view, direct);
  return view;
}

/** The host of `route`: from config, else from the instance or endpoint the workspace describes. */
async function routeHost(connector: LakebaseConnector, route: Route, primary: ConnectionTarget): Promise<string> {
  const settings = connector.config.readScaling;
  const configured = route === 'read' ? settings.readHost : settings.pooledHost;
  if (configured) return configured;
  const api = connector.api;
  let found: string | undefined;
  if (api && connector.config.mode === 'autoscaling' && primary.endpoint) {
    const hosts = (await api.getEndpoint(parseEndpointName(primary.endpoint, 'endpoint'))).status?.hosts;
    if (route === 'pooled') found = hosts?.read_write_pooled_host;
    else found = settings.pooled ? hosts?.read_only_pooled_host : hosts?.read_only_host;
  } else if (api && connector.config.mode === 'provisioned' && route === 'read' && primary.instanceName) {
    found = (await api.getInstance(parseInstanceName(primary.instanceName, 'instance'))).read_only_dns;
  }
  if (found) return found;
  const what = route === 'read' ? 'read host' : 'pooled host';
  throw new LakebaseError(
    route === 'read' ? 'LAKEBASE_READ_HOST_UNAVAILABLE' : 'LAKEBASE_RESOURCE_NOT_FOUND',
    `No ${what} is configured and the workspace reports none for ${primary.endpoint ?? primary.instanceName ?? primary.host}.`,
    {
      suggestion:
        route === 'read'
          ? 'Create a read-only endpoint on the branch (ENDPOINT_TYPE_READ_ONLY) or enable readable secondaries, or set LAKEBASE_READ_HOST.'
          : 'Set LAKEBASE_POOLED_HOST (status.hosts.read_write_pooled_host of the endpoint), or unset LAKEBASE_POOLED.',
      details: { route },
    },
  );
}
