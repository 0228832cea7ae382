import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
import { type DestinationStream, type Logger, pino } from 'pino';
import { type AppDatabase, databasePlugin } from './database.js';
import { errorHandlingPlugin } from './error-handling.js';
import { validationError } from './errors.js';
import { identityPlugin } from './identity.js';
import { preferencesRoutes } from './routes/preferences.js';
import { statusRoutes } from './routes/status.js';
import { webPlugin } from './web.js';

export interface BuildAppOptions {
  /** The database, or `{ configured: false }` (preferences then answer 503 `LAKEBASE_NOT_CONFIGURED`). */
  database: AppDatabase;
  /** Production (Databricks Apps): identity must come from the proxy. Default false. */
  production?: boolean;
  /** Local mode: the user of requests without `X-Forwarded-Email`. Default `dev@example.com`. */
  devUser?: string;
  /** Directory of the built web UI (`app/dist/web`); not served when absent. */
  webRoot?: string;
  /** Default: {@link createLogger} at `info` to stdout. `false`: no logs. */
  logger?: Logger | false;
}

/** Headers that carry credentials; never logged. `x-forwarded-access-token` is the user's token in Databricks Apps. */
const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-forwarded-access-token"]',
  'req.headers["x-databricks-token"]',
  'res.headers["set-cookie"]',
  'token',
  'password',
  '*.token',
  '*.password',
  '*.clientSecret',
];

/**
 * One access-log line per request, when it completes, carrying the request too: Fastify's default writes two (incoming
 * and completed), and halving them is a measurable share of a small request's cost (docs/BENCHMARKS.md, benchmark 6).
 */
class AccessLog extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const line = { req: request, res: reply, responseTime: reply.elapsedTime };
    if (error) reply.log.error({ ...line, err: error }, 'request errored');
    else reply.log.info(line, 'request completed');
  }
}

/** Builds the app: every part is a plugin with declared dependencies, so the order mistakes fail at boot. */
export async function buildApp(options: BuildAppOptions): Promise<FastifyInstance> {
  const production = options.production ?? false;
  const app = Fastify({
    ...(options.logger === false
      ? { logger: false }
      : { loggerInstance: (options.logger ?? createLogger()) as FastifyBaseLogger }),
    requestIdHeader: 'x-request-id',
    logController: new AccessLog(),
    // A preference value is at most 16 KiB; anything far beyond that is refused before parsing.
    bodyLimit: 256 * 1024,
    // Reject unknown body properties instead of silently dropping them (Fastify's default), so typos surface.
    ajv: { customOptions: { removeAdditional: false }, plugins: [maxJsonBytesKeyword, jsonbStorableKeyword] },
    // Errors Fastify raises before routing (a malformed percent-encoding) also get the app's error shape.
    frameworkErrors: (error, _request, reply) => {
      const appError =
        error.code === 'FST_ERR_BAD_URL'
          ? validationError('url', 'the URL has a malformed percent-encoding', 'BAD_URL')
          : validationError('request', error.message, 'BAD_REQUEST');
      (reply as FastifyReply).code(appError.statusCode).send(appError.toBody());
    },
  });
  await app.register(errorHandlingPlugin);
  await app.register(identityPlugin, { production, devUser: options.devUser ?? 'dev@example.com' });
  await app.register(databasePlugin, { database: options.database });
  await app.register(statusRoutes, { production });
  await app.register(preferencesRoutes);
  await app.register(webPlugin, { webRoot: options.webRoot });
  return app;
}

/** The server's pino logger: JSON lines, credential headers and token/password fields redacted. */
export function createLogger(options: { level?: string; stream?: DestinationStream } = {}): Logger {
  const settings = {
    level: options.level ?? 'info',
    redact: { paths: REDACTED_PATHS, censor: '[REDACTED]' },
    serializers: {
      // Headers are logged (the caller's identity and request id are useful) and credential headers redacted above.
      req: (request: { method: string; url: string; headers: Record<string, unknown>; ip?: string }) => ({
        method: request.method,
        url: request.url,
        headers: request.headers,
        remoteAddress: request.ip,
      }),
    },
  };
  // Asynchronous stdout (pino's recommendation for servers): lines written while a write is in flight go out together;
  // pino flushes what is left synchronously on exit.
  return pino(settings, options.stream ?? pino.destination({ dest: 1, sync: false }));
}

/** An Ajv keyword whose `check` returns what is wrong with the value (message and params), or undefined if nothing. */
function valueKeyword<Schema>(
  keyword: string,
  schemaType: 'number' | 'boolean',
  check: (schema: Schema, data: unknown) => { message: string; params: Record<string, unknown> } | undefined,
) {
  // biome-ignore lint/suspicious/noExplicitAny: Ajv's instance type is not exported by Fastify.
  return (ajv: any): any => {
    ajv.addKeyword({
      keyword,
      schemaType,
      errors: true,
      validate: function validate(schema: Schema, data: unknown) {
        const failure = check(schema, data);
        if (!failure) return true;
        (validate as unknown as { errors: unknown[] }).errors = [{ keyword, ...failure }];
        return false;
      },
    });
    return ajv;
  };
}

/**
 * Ajv keyword `maxJsonBytes: n`: the value, serialised as compact JSON, is at most `n` UTF-8 bytes. Route schemas use
 * it to bound a preference value of any JSON type.
 */
const maxJsonBytesKeyword = valueKeyword<number>('maxJsonBytes', 'number', (limit, data) => {
  const size = Buffer.byteLength(JSON.stringify(data) ?? '', 'utf8');
  return size <= limit
    ? undefined
    : { message: `must be at most ${limit} bytes as JSON (got ${size})`, params: { limit, size } };
});

/**
 * Ajv keyword `jsonbStorable: true`: the value survives a round trip through PostgreSQL `jsonb` unchanged. jsonb
 * refuses U+0000 and unpaired surrogates (a 500 from the database otherwise), and JSON numbers beyond a double
 * (`1e400`) parse to Infinity, which would be stored as `null` without a word.
 */
const jsonbStorableKeyword = valueKeyword<boolean>('jsonbStorable', 'boolean', (enabled, data) => {
  const problem = enabled ? unstorable(data) : undefined;
  return problem ? { message: `cannot be stored: ${problem}`, params: {} } : undefined;
});

// biome-ignore lint/suspicious/noControlCharactersInRegex: U+0000 is what jsonb refuses
const NOT_IN_JSONB = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Why `value` cannot be stored in jsonb as it is, or undefined when it can. */
function unstorable(value: unknown): string | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : 'a number too large for JSON';
  if (typeof value === 'string')
    return NOT_IN_JSONB.test(value) ? 'text with U+0000 or an unpaired surrogate' : undefined;
  if (Array.isArray(value)) {
    for (const item of value) {
      const problem = unstorable(item);
      if (problem) return problem;
    }
    return undefined;
  }
  if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      const problem = unstorable(key) ?? unstorable(item);
      if (problem) return problem;
    }
  }
  return undefined;
}
