/**
 * The server's logs: the pino logger (JSON lines, secrets redacted, buffered stdout) and the access log, one line per
 * request.
 */
import { type FastifyBaseLogger, type FastifyReply, type FastifyRequest, LogController } from 'fastify';
import { type DestinationStream, type Logger, pino } from 'pino';

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
 * Asynchronous, buffered stdout (pino's recommendation for servers): lines are written in batches of at least 4 KiB,
 * and at least every 250 ms, so under load one write carries ~20 access lines instead of one write a line. pino
 * flushes what is left synchronously when the process exits; only a SIGKILL loses the last 250 ms of lines.
 */
const STDOUT_DESTINATION = { dest: 1, sync: false, minLength: 4096, periodicFlush: 250 };

/** Loggers made by {@link createLogger}: their settings are known, so the access line can be written directly. */
const ownLoggers = new WeakSet<object>();

/** The server's pino logger: JSON lines, only {@link LOGGED_HEADERS} of a request, token/password fields redacted. */
export function createLogger(options: { level?: string; stream?: DestinationStream } = {}): Logger {
  const settings = {
    level: options.level ?? 'info',
    redact: { paths: REDACTED_PATHS, censor: '[REDACTED]' },
    serializers: { req: requestFields },
  };
  const logger = pino(settings, options.stream ?? pino.destination(STDOUT_DESTINATION));
  ownLoggers.add(logger);
  return logger;
}

/** What a log line says of a request (pino's `req` serializer, and the access line's `req`). */
function requestFields(request: { method: string; url: string; headers: Record<string, unknown>; ip?: string }) {
  return {
    method: request.method,
    url: request.url,
    headers: loggedHeaders(request.headers),
    remoteAddress: request.ip,
  };
}

function loggedHeaders(headers: Record<string, unknown>): Record<string, unknown> {
  const kept: Record<string, unknown> = {};
  for (const name of LOGGED_HEADERS) {
    const value = headers[name];
    if (value !== undefined) kept[name] = value;
  }
  return kept;
}

/**
 * One access-log line per request, when it completes, carrying the request too: Fastify's default writes two (incoming
 * and completed), and halving them is a measurable share of a small request's cost (docs/BENCHMARKS.md, benchmark 6).
 *
 * The line's fields are chosen here (method, URL, the {@link LOGGED_HEADERS} allowlist, address, status, time), so
 * none of the redacted paths (`token`, `*.password`, ...) can occur in it: it skips pino's redaction pass. On a
 * logger from {@link createLogger} it is written straight to the logger's destination as the same JSON pino would
 * write (app/test/server.test.ts compares the two), without pino's per-field serialisation: in the server that was
 * 17 µs of a request's ~185 µs of CPU (docs/BENCHMARKS.md, benchmark 6). Any other logger gets it through a child.
 */
export class AccessLog extends LogController {
  /** Set once the app's logger exists; until then (and with logging off) the request's own logger. */
  private log: FastifyBaseLogger | undefined;
  private direct: ((request: FastifyRequest, reply: FastifyReply) => void) | undefined;

  /** Writes the access lines through `log`: directly when it is one of ours, else a child without redaction. */
  attach(log: FastifyBaseLogger): void {
    this.log = log.child({}, { redact: [] } as Parameters<FastifyBaseLogger['child']>[1]);
    this.direct = isOwnLogger(log) ? directAccessLine(log as unknown as Logger) : undefined;
  }

  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (!error && this.direct) {
      this.direct(request, reply);
      return;
    }
    const fields = { req: request, res: reply, responseTime: reply.elapsedTime };
    // An error's fields are not chosen here (a driver error may carry anything): that line keeps the redaction.
    if (error) reply.log.error({ ...fields, err: error }, 'request errored');
    else if (this.log) this.log.info({ reqId: request.id, ...fields }, 'request completed');
    else reply.log.info(fields, 'request completed');
  }
}

/**
 * A logger made by {@link createLogger}, or a child of one (Fastify's `app.log` is a child of the instance it is given)
 * that still serialises requests with {@link requestFields}: the lines it writes are known.
 */
function isOwnLogger(log: object): boolean {
  const serializers = (log as Record<symbol, Record<string, unknown> | undefined>)[pino.symbols.serializersSym];
  if (serializers?.req !== requestFields) return false;
  for (let logger: object | null = log; logger; logger = Object.getPrototypeOf(logger)) {
    if (ownLoggers.has(logger)) return true;
  }
  return false;
}

/**
 * The access line pino would write for `logger` (level 30, `time` in epoch ms, its bindings `pid` and `hostname`, then
 * the fields in the order pino writes them), as one string to its destination. The level is checked on each line, as
 * it may change at run time.
 */
function directAccessLine(logger: Logger): ((request: FastifyRequest, reply: FastifyReply) => void) | undefined {
  const stream = (logger as unknown as Record<symbol, DestinationStream | undefined>)[pino.symbols.streamSym];
  const bindings = (logger as unknown as Record<symbol, string | undefined>)[pino.symbols.chindingsSym];
  if (!stream || bindings === undefined) return undefined; // not the pino this was written for: the child path
  return (request, reply) => {
    if (!logger.isLevelEnabled('info')) return;
    stream.write(
      `{"level":30,"time":${Date.now()}${bindings},"reqId":${JSON.stringify(request.id)},"req":${JSON.stringify(requestFields(request))},"res":{"statusCode":${reply.statusCode}},"responseTime":${reply.elapsedTime},"msg":"request completed"}\n`,
    );
  };
}
