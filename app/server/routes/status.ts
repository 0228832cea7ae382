import fp from 'fastify-plugin';
import { requireIdentity } from '../identity.js';

const databaseInfo = {
  type: 'object',
  properties: {
    tier: { type: 'string' },
    instanceName: { type: 'string' },
    endpoint: { type: 'string' },
    host: { type: 'string' },
    database: { type: 'string' },
    user: { type: 'string' },
    emulator: { type: 'boolean' },
  },
} as const;

const health = {
  type: 'object',
  required: ['status', 'process', 'database'],
  properties: {
    status: { type: 'string', enum: ['ok', 'unavailable'] },
    process: {
      type: 'object',
      properties: { uptimeSeconds: { type: 'number' }, node: { type: 'string' }, production: { type: 'boolean' } },
    },
    database: {
      type: 'object',
      required: ['configured', 'reachable'],
      properties: {
        configured: { type: 'boolean' },
        reachable: { type: 'boolean' },
        latencyMs: { type: 'number' },
        info: databaseInfo,
        tokenExpiresAt: { type: 'string', format: 'date-time' },
        pool: {
          type: 'object',
          properties: {
            total: { type: 'integer' },
            idle: { type: 'integer' },
            waiting: { type: 'integer' },
            max: { type: 'integer' },
          },
        },
        // Per-user mode only: the users' pools (open users, connections and their bound, credentials minted).
        userPools: {
          type: 'object',
          properties: {
            users: { type: 'integer' },
            connections: { type: 'integer' },
            peakConnections: { type: 'integer' },
            maxConnections: { type: 'integer' },
            credentialRequests: { type: 'integer' },
            poolsOpened: { type: 'integer' },
            poolsClosed: { type: 'integer' },
          },
        },
        error: {
          type: 'object',
          properties: { error_code: { type: 'string' }, message: { type: 'string' }, suggestion: { type: 'string' } },
        },
      },
    },
  },
} as const;

const me = {
  type: 'object',
  required: ['email', 'source'],
  properties: {
    email: { type: 'string' },
    userName: { type: 'string' },
    source: { type: 'string', enum: ['proxy', 'dev-user'] },
    databaseUser: { type: 'string' },
  },
} as const;

/** `GET /api/health` (no identity needed, for probes) and `GET /api/me`. */
export const statusRoutes = fp<{ production: boolean }>(
  async (fastify, options) => {
    fastify.get(
      '/api/health',
      { schema: { summary: 'Process and database state', response: { 200: health, 503: health } } },
      async (_request, reply) => {
        const database = await fastify.database.health();
        return reply.code(database.reachable ? 200 : 503).send({
          status: database.reachable ? 'ok' : 'unavailable',
          process: {
            uptimeSeconds: Math.round(process.uptime()),
            node: process.version,
            production: options.production,
          },
          database,
        });
      },
    );

    fastify.get(
      '/api/me',
      {
        schema: {
          summary: 'The caller and the database role in use',
          response: { 200: me, 401: { $ref: 'error-body#' } },
        },
      },
      async (request) => {
        const identity = requireIdentity(request);
        return { ...identity, databaseUser: fastify.database.info()?.user };
      },
    );
  },
  { name: 'status-routes', dependencies: ['lakebase-database', 'identity', 'error-handling'], encapsulate: true },
);
