import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { IdentityRecord } from '../../model/state.js';
import type { ApiWorkspace } from '../api-workspace.js';

const identities = new WeakMap<FastifyRequest, IdentityRecord>();
const scopes = new WeakMap<FastifyRequest, string[] | undefined>();
const NOT_SENT = 'Credential was not sent or was of an unsupported type for this API.';

/** The identity the request authenticated as (set by {@link addBearerAuth}). */
export function identityOf(request: FastifyRequest): IdentityRecord {
  const identity = identities.get(request);
  if (!identity) throw new Error('route registered outside addBearerAuth');
  return identity;
}

/** The OAuth scopes of the request's bearer token; undefined for a PAT. */
export function scopesOf(request: FastifyRequest): string[] | undefined {
  return scopes.get(request);
}

/**
 * Bearer check for `/api/**`, with the bodies real workspaces send: 401 with a numeric `error_code` and
 * `WWW-Authenticate` when no bearer credential came, 403 "Invalid access token." when it is unknown or expired.
 * Accepts the workspace's PATs and its unexpired OAuth access tokens (never database tokens).
 */
export function addBearerAuth(api: FastifyInstance, ws: ApiWorkspace): void {
  api.addHook('onRequest', async (request, reply) => {
    const header = request.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) {
      return reply
        .code(401)
        .headers({ 'www-authenticate': 'Bearer realm="DatabricksRealm"', 'x-databricks-reason-phrase': NOT_SENT })
        .send({ error_code: 401, message: `${NOT_SENT} [ReqId: ${request.id}]` });
    }
    const found = await ws.authenticateBearerWithScopes(match[1] as string);
    if (!found) {
      return reply
        .code(403)
        .header('x-databricks-reason-phrase', 'Invalid access token.')
        .send({ error_code: 403, message: `Invalid access token. [ReqId: ${request.id}]` });
    }
    identities.set(request, found.identity);
    scopes.set(request, found.scopes);
  });
}
