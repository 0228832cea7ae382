import type { FastifyPluginAsync } from 'fastify';
import { LOGIN_FAULT_KINDS, type LoginFaultKind } from '../../login/login-faults.js';
import { ApiError } from '../../model/api-error.js';
import type { ForcedInstanceState } from '../../model/context.js';
import type { ApiWorkspace } from '../api-workspace.js';

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);
/**
 * Every admin call must carry this header (any non-empty value; `1` by convention). A web page cannot send a custom
 * header cross-origin without a CORS preflight, and the emulator answers no preflight, so a page open in the
 * developer's browser cannot drive the emulator; POSTs must also be JSON, which a plain HTML form cannot send.
 */
export const ADMIN_HEADER = 'x-lakebase-emulator';
type Status = 500 | 429 | 503;

interface FaultsBody {
  failNext?: { count: number; status: Status; retryAfterSeconds?: number };
  failFraction?: { fraction: number; status: Status };
  latencyMs?: number;
  clear?: boolean;
}

const status = { type: 'integer', enum: [500, 429, 503] } as const;

/**
 * Test knobs under `/__emulator`, without auth but from loopback only: counters, fault injection, instance state
 * and token lifetime. Lets a test in another process (or the CLI) drive the emulator.
 */
export function adminRoutes(ws: ApiWorkspace): FastifyPluginAsync {
  return async (app) => {
    app.addHook('onRequest', async (request) => {
      if (!LOOPBACK.has(request.socket.remoteAddress ?? '')) {
        throw new ApiError(403, 'PERMISSION_DENIED', 'The emulator admin API is only served to loopback clients.');
      }
      if (!request.headers[ADMIN_HEADER]) {
        throw new ApiError(
          403,
          'PERMISSION_DENIED',
          `Emulator admin calls need the header ${ADMIN_HEADER}: 1 (browsers cannot send it cross-origin).`,
        );
      }
      const type = (request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
      if (request.method !== 'GET' && request.method !== 'HEAD' && type !== 'application/json') {
        throw new ApiError(415, 'INVALID_PARAMETER_VALUE', 'Emulator admin calls take a JSON body (application/json).');
      }
    });

    app.get('/stats', async () => ws.stats());

    app.post<{ Body: FaultsBody }>(
      '/faults',
      {
        schema: {
          body: {
            type: 'object',
            properties: {
              failNext: {
                type: 'object',
                properties: { count: { type: 'integer', minimum: 0 }, status, retryAfterSeconds: { type: 'integer' } },
                required: ['count', 'status'],
              },
              failFraction: {
                type: 'object',
                properties: { fraction: { type: 'number', minimum: 0, maximum: 1 }, status },
                required: ['fraction', 'status'],
              },
              latencyMs: { type: 'number', minimum: 0 },
              clear: { type: 'boolean' },
            },
          },
        },
      },
      async (request) => {
        const { failNext, failFraction, latencyMs, clear } = request.body ?? {};
        if (clear) ws.faults.clear();
        if (failNext) {
          const options =
            failNext.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: failNext.retryAfterSeconds };
          ws.faults.failNext(failNext.count, failNext.status, options);
        }
        if (failFraction) ws.faults.failFraction(failFraction.fraction, failFraction.status);
        if (latencyMs !== undefined) ws.faults.setLatency(latencyMs);
        return {};
      },
    );

    const kind = { type: 'string', enum: [...LOGIN_FAULT_KINDS] } as const;
    app.post<{
      Body: {
        failNext?: { count: number; kind?: LoginFaultKind };
        failForMs?: { ms: number; kind?: LoginFaultKind };
        delayMs?: number;
        clear?: boolean;
      };
    }>(
      '/login-faults',
      {
        schema: {
          body: {
            type: 'object',
            properties: {
              failNext: {
                type: 'object',
                properties: { count: { type: 'integer', minimum: 0 }, kind },
                required: ['count'],
              },
              failForMs: { type: 'object', properties: { ms: { type: 'number', minimum: 0 }, kind }, required: ['ms'] },
              delayMs: { type: 'number', minimum: 0 },
              clear: { type: 'boolean' },
            },
          },
        },
      },
      async (request) => {
        const { failNext, failForMs, delayMs, clear } = request.body ?? {};
        if (clear) ws.loginFaults.clear();
        if (failNext) ws.loginFaults.failNext(failNext.count, failNext.kind);
        if (failForMs) ws.loginFaults.failFor(failForMs.ms, failForMs.kind);
        if (delayMs !== undefined) ws.loginFaults.setDelay(delayMs);
        return {};
      },
    );

    app.post<{ Params: { name: string }; Body: { state: ForcedInstanceState } }>(
      '/instances/:name/state',
      {
        schema: {
          body: {
            type: 'object',
            properties: { state: { type: 'string', enum: ['AVAILABLE', 'STARTING', 'STOPPED'] } },
            required: ['state'],
          },
        },
      },
      async (request) => {
        if (!ws.instances.find(request.params.name) && !ws.autoscaling.findEndpoint(request.params.name)) {
          throw new ApiError(404, 'RESOURCE_DOES_NOT_EXIST', `No instance or endpoint named '${request.params.name}'.`);
        }
        ws.setInstanceState(request.params.name, request.body.state);
        return {};
      },
    );

    // A user's OAuth token, as the Apps proxy forwards it in x-forwarded-access-token (see users.ts).
    app.post<{ Body: { email: string; scopes?: string[]; role?: boolean } }>(
      '/users/token',
      {
        schema: {
          body: {
            type: 'object',
            properties: {
              email: { type: 'string', minLength: 3, maxLength: 320 },
              scopes: { type: 'array', items: { type: 'string' }, maxItems: 16 },
              role: { type: 'boolean' },
            },
            required: ['email'],
            additionalProperties: false,
          },
        },
      },
      async (request, reply) => {
        let token: Awaited<ReturnType<ApiWorkspace['issueUserToken']>>;
        try {
          token = await ws.issueUserToken(request.body.email, request.body);
        } catch (error) {
          if (error instanceof TypeError) throw new RangeError(error.message); // a bad email: 400
          throw error;
        }
        reply.header('cache-control', 'no-store');
        return token;
      },
    );

    // Revokes a user token (the user signed out, or the app's consent was revoked): refused by the API from now on.
    app.post<{ Body: { access_token: string } }>(
      '/users/token/revoke',
      {
        schema: {
          body: {
            type: 'object',
            properties: { access_token: { type: 'string', minLength: 1, maxLength: 8192 } },
            required: ['access_token'],
            additionalProperties: false,
          },
        },
      },
      async (request) => {
        try {
          await ws.revokeAccessToken(request.body.access_token);
        } catch (error) {
          if (error instanceof RangeError) {
            throw new ApiError(400, 'INVALID_PARAMETER_VALUE', 'access_token is not a token this workspace issued.');
          }
          throw error;
        }
        return {};
      },
    );

    app.post<{ Body: { seconds: number } }>(
      '/token-ttl',
      {
        schema: {
          body: {
            type: 'object',
            properties: { seconds: { type: 'number', exclusiveMinimum: 0 } },
            required: ['seconds'],
          },
        },
      },
      async (request) => {
        ws.setTokenTtl(request.body.seconds);
        return {};
      },
    );

    // Scale to zero now: the endpoint is IDLE until a login wakes it (refused with 57P03 while it wakes).
    app.post<{ Body: { endpoint: string; wakeMs?: number } }>(
      '/endpoints/suspend',
      {
        schema: {
          body: {
            type: 'object',
            properties: {
              endpoint: { type: 'string', minLength: 1, maxLength: 512 },
              wakeMs: { type: 'integer', minimum: 0, maximum: 60_000 },
            },
            required: ['endpoint'],
            additionalProperties: false,
          },
        },
      },
      async (request) => {
        const endpoint = ws.autoscaling.endpointByName(request.body.endpoint);
        if (request.body.wakeMs !== undefined) ws.autoscaling.compute.wakeMs = request.body.wakeMs;
        ws.autoscaling.compute.suspend(endpoint);
        return ws.autoscaling.json.endpoint(endpoint);
      },
    );
  };
}
