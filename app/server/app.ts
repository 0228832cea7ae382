import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
import { type DestinationStream, type Logger, pino } from 'pino';
import { clientErrorHandler, requireOneHost } from './client-errors.js';
import { type AppDatabase, databasePlugin } from './database.js';
import { errorHandlingPlugin } from './error-handling.js';
import { validationError } from './errors.js';
import { identityPlugin } from './identity.js';
import { jsonbStorableKeyword, limitJsonDepth, maxJsonBytesKeyword } from './json-body.js';
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
  /** Default: {@link createLogger} at `info` to stdout. `false`: no logs. */
  logger?: Logger | false;
}

/**
 * The request headers the access log keeps: who called (the Apps proxy's identity headers), through what, and with
 * what body. An allowlist: any other header (`Authorization`, `Cookie`, `Proxy-Authorization`, `X-Api-Key`, the
 * user's `X-Forwarded-Access-Token`, whatever a client invents next) is never logged. The request id is `reqId`.
 */
const LOGGED_HEADERS = [
  'host',
  'user-agent',
  'content-type',
  'content-length',
  'x-forwarded-email',
  'x-forwarded-preferred-username',
  'x-forwarded-for',
  'x-real-ip',
] as const;

/** Fields of other log lines (client and emulator events, errors) that may hold a credential. */
const REDACTED_PATHS = ['token', 'password', '*.token', '*.password', '*.clientSecret'];

/**
 * One access-log line per request, when it completes, carrying the request too: Fastify's default writes two (incoming
 * and completed), and halving them is a measurable share of a small request's cost (docs/BENCHMARKS.md, benchmark 6).
 *
 * The line goes through a child logger without the redaction pass: its fields are chosen here (method, URL, the
 * {@link LOGGED_HEADERS} allowlist, address, status, time), so none of the redacted paths (`token`, `*.password`, ...)
 * can occur in it, and the wildcard paths walk every field of every line: a third of the line's CPU
 * (docs/BENCHMARKS.md, benchmark 6). The redaction never looked inside the URL; that is unchanged.
 */
class AccessLog extends LogController {
  /** Set once the app's logger exists; until then (and with logging off) the request's own logger. */
  private log: FastifyBaseLogger | undefined;

  /** The child of the app's logger that writes the access lines: `redact: []` replaces the redaction with none. */
  attach(log: FastifyBaseLogger): void {
    this.log = log.child({}, { redact: [] } as Parameters<FastifyBaseLogger['child']>[1]);
  }

  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const fields = { req: request, res: reply, responseTime: reply.elapsedTime };
    // An error's fields are not chosen here (a driver error may carry anything): that line keeps the redaction.
    if (error) reply.log.error({ ...fields, err: error }, 'request errored');
    else if (this.log) this.log.info({ reqId: request.id, ...fields }, 'request completed');
    else reply.log.info(fields, 'request completed');
  }
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

/** The server's pino logger: JSON lines, only {@link LOGGED_HEADERS} of a request, token/password fields redacted. */
export function createLogger(options: { level?: string; stream?: DestinationStream } = {}): Logger {
  const settings = {
    level: options.level ?? 'info',
    redact: { paths: REDACTED_PATHS, censor: '[REDACTED]' },
    serializers: {
      req: (request: { method: string; url: string; headers: Record<string, unknown>; ip?: string }) => ({
        method: request.method,
        url: request.url,
        headers: loggedHeaders(request.headers),
        remoteAddress: request.ip,
      }),
    },
  };
  return pino(settings, options.stream ?? pino.destination(STDOUT_DESTINATION));
}

/**
 * Asynchronous, buffered stdout (pino's recommendation for servers): lines are written in batches of at least 4 KiB,
 * and at least every 250 ms, so under load one write carries ~20 access lines instead of one write a line (the
 * system call was a third of a line's cost; docs/BENCHMARKS.md, benchmark 6). pino flushes what is left synchronously
 * when the process exits; only a SIGKILL loses the last 250 ms of lines.
 */
const STDOUT_DESTINATION = { dest: 1, sync: false, minLength: 4096, periodicFlush: 250 };

function loggedHeaders(headers: Record<string, unknown>): Record<string, unknown> {
  const kept: Record<string, unknown> = {};
  for (const name of LOGGED_HEADERS) {
    const value = headers[name];
    if (value !== undefined) kept[name] = value;
  }
  return kept;
}
