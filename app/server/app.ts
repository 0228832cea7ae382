import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { type DestinationStream, type Logger, pino } from 'pino';
import { type AppDatabase, databasePlugin } from './database.js';
import { errorHandlingPlugin } from './error-handling.js';
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

/** Builds the app: every part is a plugin with declared dependencies, so the order mistakes fail at boot. */
export async function buildApp(options: BuildAppOptions): Promise<FastifyInstance> {
  const production = options.production ?? false;
  const app = Fastify({
    ...(options.logger === false
      ? { logger: false }
      : { loggerInstance: (options.logger ?? createLogger()) as FastifyBaseLogger }),
    requestIdHeader: 'x-request-id',
    // A preference value is at most 16 KiB; anything far beyond that is refused before parsing.
    bodyLimit: 256 * 1024,
    // Reject unknown body properties instead of silently dropping them (Fastify's default), so typos surface.
    ajv: { customOptions: { removeAdditional: false }, plugins: [maxJsonBytesKeyword] },
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
  return options.stream ? pino(settings, options.stream) : pino(settings);
}

/**
 * Ajv keyword `maxJsonBytes: n`: the value, serialised as compact JSON, is at most `n` UTF-8 bytes. Route schemas use
 * it to bound a preference value of any JSON type.
 */
// biome-ignore lint/suspicious/noExplicitAny: Ajv's instance type is not exported by Fastify.
function maxJsonBytesKeyword(ajv: any): any {
  ajv.addKeyword({
    keyword: 'maxJsonBytes',
    schemaType: 'number',
    errors: true,
    validate: function validate(limit: number, data: unknown) {
      const size = Buffer.byteLength(JSON.stringify(data) ?? '', 'utf8');
      if (size <= limit) return true;
      (validate as unknown as { errors: unknown[] }).errors = [
        {
          keyword: 'maxJsonBytes',
          message: `must be at most ${limit} bytes as JSON (got ${size})`,
          params: { limit, size },
        },
      ];
      return false;
    },
  });
  return ajv;
}
