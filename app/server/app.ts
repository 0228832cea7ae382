import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify';
import type { Logger } from 'pino';
import { clientErrorHandler, requireOneHost } from './client-errors.js';
import { type AppDatabase, databasePlugin } from './database.js';
import { errorHandlingPlugin } from './error-handling.js';
import { validationError } from './errors.js';
import { identityPlugin } from './identity.js';
import { jsonbStorableKeyword, limitJsonDepth, maxJsonBytesKeyword } from './json-body.js';
import { AccessLog, createLogger, lazyRequestLogger } from './logging.js';
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
  /** Running on Databricks Apps (no warning about trusting `X-Forwarded-Email` beyond loopback). Default false. */
  databricksApps?: boolean;
  /** Directory of the built web UI (`app/dist/web`); not served when absent. */
  webRoot?: string;
  /**
   * Default: `createLogger()` (logging.ts) at `info` to stdout. `false`: no logs. The access line keeps
   * `createLogger`'s format (numeric level, epoch-millisecond time) whatever formatters another pino logger has.
   */
  logger?: Logger | false;
}

/** Builds the app: every part is a plugin with declared dependencies, so the order mistakes fail at boot. */
export async function buildApp(options: BuildAppOptions): Promise<FastifyInstance> {
  const production = options.production ?? false;
  const accessLog = new AccessLog();
  const app = Fastify({
    ...(options.logger === false
      ? { logger: false }
      : { loggerInstance: (options.logger ?? createLogger()) as FastifyBaseLogger }),
    requestIdHeader: 'x-request-id',
    logController: accessLog,
    childLoggerFactory: lazyRequestLogger,
    // A preference value is at most 16 KiB; anything far beyond that is refused before parsing.
    bodyLimit: 256 * 1024,
    // Reject unknown body properties instead of silently dropping them (Fastify's default), so typos surface.
    ajv: { customOptions: { removeAdditional: false }, plugins: [maxJsonBytesKeyword, jsonbStorableKeyword] },
    clientErrorHandler,
    // The Host rule is checked by requireOneHost (client-errors.ts), in the app's error shape.
    http: { requireHostHeader: false },
    // Errors Fastify raises before routing (a malformed percent-encoding) also get the app's error shape.
    frameworkErrors: (error, _request, reply) => {
      const appError =
        error.code === 'FST_ERR_BAD_URL'
          ? validationError('url', 'the URL has a malformed percent-encoding', 'BAD_URL')
          : validationError('request', error.message, 'BAD_REQUEST');
      (reply as FastifyReply).code(appError.statusCode).send(appError.toBody());
    },
  });
  if (options.logger !== false) accessLog.attach(app.log);
  app.addHook('onRequest', requireOneHost);
  // A JSON API: a body declared as text is 415, not a string handed to the routes.
  app.removeContentTypeParser('text/plain');
  limitJsonDepth(app);
  await app.register(errorHandlingPlugin);
  await app.register(identityPlugin, {
    production,
    devUser: options.devUser ?? 'dev@example.com',
    databricksApps: options.databricksApps ?? false,
  });
  await app.register(databasePlugin, { database: options.database });
  await app.register(statusRoutes, { production });
  await app.register(preferencesRoutes);
  await app.register(webPlugin, { webRoot: options.webRoot });
  return app;
}
