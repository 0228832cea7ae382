import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { OAUTH_TOKEN_TTL_SECONDS } from '../../model/tokens.js';
import type { ApiWorkspace } from '../api-workspace.js';

/** OIDC discovery (both documents the SDKs read) and the client-credentials token endpoint (reference 4.4). */
export function oidcRoutes(ws: ApiWorkspace): FastifyPluginAsync {
  const base = (request: FastifyRequest) => ws.baseUrlOr(`${request.protocol}://${request.host}`);

  return async (app) => {
    app.get('/.well-known/databricks-config', async (request) => ({
      oidc_endpoint: `${base(request)}/oidc`,
      workspace_id: ws.workspaceId,
      cloud: 'AWS',
    }));

    app.get('/oidc/.well-known/oauth-authorization-server', async (request) => {
      const oidc = `${base(request)}/oidc`;
      return {
        issuer: oidc,
        authorization_endpoint: `${oidc}/v1/authorize`,
        token_endpoint: `${oidc}/v1/token`,
        grant_types_supported: ['client_credentials'],
        token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
        scopes_supported: ['all-apis'],
      };
    });

    app.post('/oidc/v1/token', async (request, reply) => {
      const form = (request.body ?? {}) as Record<string, string | undefined>;
      if (form.grant_type !== 'client_credentials') {
        return oauthError(reply, 400, 'unsupported_grant_type', 'Only grant_type=client_credentials is supported.');
      }
      // Every SDK sends client_secret_basic; client_secret_post is accepted too, as Databricks does.
      const basic = parseBasic(request.headers.authorization);
      const clientId = basic?.id ?? form.client_id;
      const clientSecret = basic?.secret ?? form.client_secret;
      if (!clientId || !clientSecret) {
        return oauthError(reply, 401, 'invalid_client', 'Client authentication failed: no client credentials sent.');
      }
      const client = ws.clientByCredentials(clientId, clientSecret);
      if (!client) {
        return oauthError(reply, 401, 'invalid_client', 'Client authentication failed: unknown client or bad secret.');
      }
      const scope = form.scope?.trim() || 'all-apis';
      const accessToken = await ws.issueAccessToken(client.userName, scope, `${base(request)}/oidc`);
      reply.header('cache-control', 'no-store');
      return { access_token: accessToken, token_type: 'Bearer', expires_in: OAUTH_TOKEN_TTL_SECONDS, scope };
    });
  };
}

function oauthError(reply: FastifyReply, status: number, error: string, description: string) {
  return reply.code(status).send({ error, error_description: description });
}

/** `Basic base64(client_id:client_secret)`, as every SDK sends it (unencoded ids and secrets). */
function parseBasic(header: string | undefined): { id: string; secret: string } | undefined {
  const match = /^Basic\s+(\S+)\s*$/i.exec(header ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1] as string, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : { id: decoded.slice(0, colon), secret: decoded.slice(colon + 1) };
}
