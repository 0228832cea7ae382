import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import { ApiError } from '../model/api-error.js';
import type { ApiWorkspace } from './api-workspace.js';
import { clientError, frameworkError, requireOneHost } from './http-edges.js';
import { adminRoutes } from './routes/admin.js';
import { addBearerAuth } from './routes/auth.js';
import { credentialRoutes } from './routes/credentials.js';
import { instanceRoutes } from './routes/instances.js';
import { oidcRoutes } from './routes/oidc.js';
import { permissionRoutes } from './routes/permissions.js';
import { postgresRoutes } from './routes/postgres.js';
import { roleRoutes } from './routes/roles.js';
import { scimRoutes } from './routes/scim.js';
import { telemetryRoutes } from './routes/telemetry.js';

const MAX_LISTED_PATH = 256;

/** Options for {@link buildApiServer}. */
export interface ApiServerOptions {
  /** Fastify logger setting. Default off. Requests are logged without headers, so no token reaches the log. */
  logger?: boolean | object;
  /** Serve HTTPS with this certificate (PEM) instead of plain HTTP. */
  tls?: { certPem: string; keyPem: string };
}

/** The REST API over `ws`, not yet listening (see `buildApiServer` in workspace.ts). */
export function apiServer(ws: ApiWorkspace, options: ApiServerOptions = {}): FastifyInstance {
  const app = Fastify({
    logger: options.logger ?? false,
    genReqId: () => randomUUID(),
    requestIdHeader: false,
    routerOptions: { ignoreTrailingSlash: true },
    // The Host rule, malformed URLs and what Node's parser refuses get the Databricks body too (see http-edges.ts).
    ...(options.tls
      ? { https: { cert: options.tls.certPem, key: options.tls.keyPem, requireHostHeader: false } }
      : { http: { requireHostHeader: false } }),
    frameworkErrors: frameworkError,
    clientErrorHandler: clientError,
  }) as unknown as FastifyInstance;

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-databricks-org-id', ws.workspaceId);
    reply.header('x-request-id', request.id);
    reply.header('server', 'databricks');
  });
  app.addHook('onRequest', requireOneHost);

  // SDKs send `Content-Type: application/json` on some bodiless calls (DELETE, GET); treat an empty body as `{}`.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    const text = String(body);
    if (text.trim() === '') return done(null, {});
    try {
      done(null, JSON.parse(text));
    } catch (error) {
      done(
        new ApiError(
          400,
          'MALFORMED_REQUEST',
          `Invalid JSON given in the body of the request: ${(error as Error).message}`,
        ),
        undefined,
      );
    }
  });
  // A JSON API: a body declared as text is 415, not a string handed to the routes.
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(String(body))));
  });

  // Bodiless POSTs still meet the body schemas, which expect an object.
  app.addHook('preValidation', async (request) => {
    if (request.body === undefined || request.body === null) request.body = {};
  });

  app.setErrorHandler((error: FastifyError | ApiError, request, reply) => {
    if (error instanceof ApiError) return reply.code(error.statusCode).headers(error.headers).send(error.body());
    if (error.validation) {
      return reply.code(400).send({ error_code: 'INVALID_PARAMETER_VALUE', message: error.message });
    }
    if (error instanceof RangeError) {
      // Raised by the workspace's own argument checks on the admin knobs.
      return reply.code(400).send({ error_code: 'INVALID_PARAMETER_VALUE', message: error.message });
    }
    const status = error.statusCode ?? 500;
    if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      return reply.code(415).send({ error_code: 'BAD_REQUEST', message: 'The request body must be application/json.' });
    }
    if (status < 500) return reply.code(status).send({ error_code: 'BAD_REQUEST', message: error.message });
    request.log.error({ err: error }, 'unhandled error');
    return reply.code(500).send({ error_code: 'INTERNAL_ERROR', message: 'An internal error occurred.' });
  });

  app.setNotFoundHandler((request, reply) => {
    // Bounded so a long URL cannot bloat the stats (or the answer).
    const path = (request.url.split('?')[0] ?? '').slice(0, MAX_LISTED_PATH);
    ws.countUnknownEndpoint(request.method, path);
    return reply
      .code(404)
      .send({ error_code: 'ENDPOINT_NOT_FOUND', message: `No API found for '${request.method} ${path}'` });
  });

  app.register(oidcRoutes(ws));
  app.register(telemetryRoutes(ws));
  app.register(adminRoutes(ws), { prefix: '/__emulator' });
  app.register(
    async (api) => {
      addBearerAuth(api, ws);
      await api.register(scimRoutes());
      await api.register(instanceRoutes(ws));
      await api.register(postgresRoutes(ws));
      await api.register(credentialRoutes(ws));
      await api.register(roleRoutes(ws));
      await api.register(permissionRoutes(ws));
    },
    { prefix: '/api/2.0' },
  );
  return app;
}
