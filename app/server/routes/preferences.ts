import type { FastifySchemaValidationError } from 'fastify/types/schema.js';
import fp from 'fastify-plugin';
import { AppError, validationError } from '../errors.js';
import {
  alreadyExists,
  bothPreconditions,
  parseIfMatch,
  parseIfNoneMatch,
  preconditionFailed,
  toETag,
} from '../etag.js';
import { requireIdentity } from '../identity.js';

/** 1–64 characters: letters, digits, `_`, `.`, `-`, starting with a letter or digit (mirrored by a CHECK in SQL). */
export const KEY_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$';
/** Largest value accepted, measured as compact JSON in UTF-8 bytes. */
export const MAX_VALUE_BYTES = 16 * 1024;

const KEY_RULE = "key must be 1-64 characters of letters, digits, '_', '.' or '-', starting with a letter or digit";

const errorBody = { $ref: 'error-body#' };
const preference = {
  type: 'object',
  required: ['key', 'value', 'createdAt', 'updatedAt'],
  properties: {
    key: { type: 'string' },
    value: {},
    createdAt: { type: 'string', format: 'date-time' },
    updatedAt: { type: 'string', format: 'date-time' },
  },
} as const;
const keyParams = {
  type: 'object',
  required: ['key'],
  properties: { key: { type: 'string', pattern: KEY_PATTERN } },
} as const;
const putBody = {
  type: 'object',
  required: ['value'],
  additionalProperties: false,
  // `maxJsonBytes` is our Ajv keyword (see json-body.ts): JSON Schema alone cannot bound the size of an arbitrary value.
  properties: { value: { maxJsonBytes: MAX_VALUE_BYTES, jsonbStorable: true } },
} as const;
const failures = { 400: errorBody, 401: errorBody, 500: errorBody, 503: errorBody };
const ifMatchHeaders = {
  type: 'object',
  properties: {
    'if-match': { type: 'string', description: 'ETag of a previous read, or *: write only if it still holds' },
  },
} as const;
const putHeaders = {
  type: 'object',
  properties: {
    ...ifMatchHeaders.properties,
    'if-none-match': { type: 'string', description: '*: create only, never replace an existing preference' },
  },
} as const;

/** `GET /api/preferences`, `GET|PUT|DELETE /api/preferences/:key`: always the caller's own rows only. */
export const preferencesRoutes = fp(
  async (fastify) => {
    // Per-user mode: the request's queries run on the caller's own pool (a no-op in service-principal mode).
    // Per-user mode leases the caller's own pool for the request; the app's pool needs no per-request step.
    if (fastify.database.perUser) fastify.addHook('preHandler', async (request) => fastify.database.attach(request));
    fastify.get(
      '/api/preferences',
      {
        schema: {
          summary: "List the caller's preferences",
          response: {
            200: {
              type: 'object',
              required: ['preferences'],
              properties: { preferences: { type: 'array', items: preference } },
            },
            ...failures,
          },
        },
      },
      async (request) => {
        const user = requireIdentity(request);
        return {
          preferences: await query(() => fastify.database.preferences(request).list(user.email), fastify.database),
        };
      },
    );

    fastify.get<{ Params: { key: string } }>(
      '/api/preferences/:key',
      {
        schema: { params: keyParams, response: { 200: preference, 404: errorBody, ...failures } },
        schemaErrorFormatter: describeValidationErrors,
      },
      async (request, reply) => {
        const user = requireIdentity(request);
        const found = await query(
          () => fastify.database.preferences(request).get(user.email, request.params.key),
          fastify.database,
        );
        if (!found) throw notFound(request.params.key);
        return reply.header('etag', toETag(found.version)).send(found.preference);
      },
    );

    fastify.put<{
      Params: { key: string };
      Body: { value: unknown };
      Headers: { 'if-match'?: string; 'if-none-match'?: string };
    }>(
      '/api/preferences/:key',
      {
        schema: {
          params: keyParams,
          body: putBody,
          headers: putHeaders,
          response: { 200: preference, 201: preference, 412: errorBody, ...failures },
        },
        schemaErrorFormatter: describeValidationErrors,
      },
      async (request, reply) => {
        const user = requireIdentity(request);
        const { key } = request.params;
        const precondition = parseIfMatch(request.headers['if-match']);
        const createOnly = parseIfNoneMatch(request.headers['if-none-match']);
        if (createOnly && precondition) throw bothPreconditions();
        const store = fastify.database.preferences(request);
        if (createOnly) {
          const created = await query(() => store.create(user.email, key, request.body.value), fastify.database);
          if (!created) throw alreadyExists(key);
          return reply.code(201).header('etag', toETag(created.version)).send(created.preference);
        }
        if (precondition) {
          const updated = await query(
            () => store.update(user.email, key, request.body.value, precondition),
            fastify.database,
          );
          if (!updated) throw preconditionFailed(key);
          return reply.header('etag', toETag(updated.version)).send(updated.preference);
        }
        const saved = await query(() => store.put(user.email, key, request.body.value), fastify.database);
        return reply
          .code(saved.created ? 201 : 200)
          .header('etag', toETag(saved.version))
          .send(saved.preference);
      },
    );

    fastify.delete<{ Params: { key: string }; Headers: { 'if-match'?: string } }>(
      '/api/preferences/:key',
      {
        schema: {
          params: keyParams,
          headers: ifMatchHeaders,
          response: { 204: { type: 'null' }, 404: errorBody, 412: errorBody, ...failures },
        },
        schemaErrorFormatter: describeValidationErrors,
      },
      async (request, reply) => {
        const user = requireIdentity(request);
        const { key } = request.params;
        const precondition = parseIfMatch(request.headers['if-match']);
        const deleted = await query(
          () => fastify.database.preferences(request).delete(user.email, key, precondition),
          fastify.database,
        );
        if (!deleted) throw precondition ? preconditionFailed(key) : notFound(key);
        return reply.code(204).send();
      },
    );
  },
  { name: 'preferences-routes', dependencies: ['lakebase-database', 'identity', 'error-handling'], encapsulate: true },
);

/** Run a database call; anything it throws becomes the API's error shape (the original goes to the log). */
async function query<T>(run: () => Promise<T>, database: { errorOf(error: unknown): AppError }): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof AppError) throw error;
    throw Object.assign(database.errorOf(error), { cause: error });
  }
}

function notFound(key: string): AppError {
  return new AppError('PREFERENCE_NOT_FOUND', `You have no preference named '${key}'.`, { field: 'key' });
}

/** Turn Ajv's errors into one sentence about the first problem, naming the input that is wrong. */
function describeValidationErrors(errors: FastifySchemaValidationError[], context: string): Error {
  const first = errors[0];
  if (context === 'params') return validationError('key', KEY_RULE, 'INVALID_KEY');
  if (!first) return validationError(context, `${context} is invalid`);
  switch (first.keyword) {
    case 'maxJsonBytes':
      return validationError('value', `value ${first.message}`, 'VALUE_TOO_LARGE');
    case 'jsonbStorable':
      return validationError('value', `value ${first.message}`, 'VALUE_NOT_STORABLE');
    case 'required':
      return validationError('value', 'body must be a JSON object with a "value" property, e.g. {"value": "dark"}');
    case 'additionalProperties': {
      const extra = (first.params as { additionalProperty?: string }).additionalProperty;
      return validationError('body', `unknown property "${extra}": the body is {"value": <any JSON>} only`);
    }
    case 'type':
      return validationError('body', 'body must be a JSON object like {"value": <any JSON>}');
    default:
      return validationError(context, `${context}${first.instancePath} ${first.message ?? 'is invalid'}`);
  }
}
