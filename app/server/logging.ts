/**
 * The server's logs: the pino logger (JSON lines, secrets redacted, buffered stdout) and the access log, one line per
 * request.
 */
import { type FastifyBaseLogger, type FastifyReply, type FastifyRequest, LogController } from 'fastify';
import type { Bindings, ChildLoggerOptions } from 'fastify/types/logger.js';
import { type DestinationStream, type LogFn, type Logger, pino } from 'pino';

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

/** The process's stdout destination: one per process, made by the first logger that writes to stdout. */
let stdout: TurnBatchedDestination | undefined;

/** The server's pino logger: JSON lines, only {@link LOGGED_HEADERS} of a request, token/password fields redacted. */
export function createLogger(options: { level?: string; stream?: DestinationStream } = {}): Logger {
  const settings = {
    level: options.level ?? 'info',
    redact: { paths: REDACTED_PATHS, censor: '[REDACTED]' },
    serializers: { req: requestFields },
  };
  return pino(settings, options.stream ?? stdoutDestination());
}

function stdoutDestination(): TurnBatchedDestination {
  if (!stdout) {
    const batched = new TurnBatchedDestination(pino.destination({ dest: 1, sync: true }));
    process.once('exit', () => batched.flushSync());
    stdout = batched;
  }
  return stdout;
}

/**
 * The lines of one event-loop turn, written together in one synchronous write when the turn ends (`setImmediate`). A
 * busy server logs several lines a turn; one `write(2)` for all of them, on the main thread, is cheaper than pino's
 * asynchronous destination (a `fs.write` on libuv's thread pool per batch: a thread handoff and a completion callback)
 * and than one write per line: benchmark 6 in docs/BENCHMARKS.md measured the three. A line waits at most for the
 * turn to end; what is pending when the process exits is written by {@link flushSync}. The target is a synchronous
 * SonicBoom (pino's own destination), which retries a write the pipe refused for now (`EAGAIN`): a log reader that
 * falls behind slows the server down rather than letting unwritten lines pile up in memory.
 */
export class TurnBatchedDestination {
  private pending: string[] = [];
  private scheduled = false;

  constructor(private readonly target: { write(data: string): unknown; flushSync(): void }) {}

  write(line: string): void {
    this.pending.push(line);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.writePending);
    }
  }

  /** Writes what is pending now: on process exit, and from {@link flush} (which pino's `logger.flush()` calls). */
  flushSync(): void {
    this.writePending();
    this.target.flushSync();
  }

  flush(callback?: (error?: Error) => void): void {
    try {
      this.flushSync();
    } catch (error) {
      callback?.(error as Error);
      return;
    }
    callback?.();
  }

  private readonly writePending = (): void => {
    this.scheduled = false;
    if (this.pending.length === 0) return;
    const text = this.pending.join('');
    this.pending = [];
    this.target.write(text);
  };
}

/** What a log line says of a request (pino's `req` serializer). */
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
 * The line is built here in pino's line format (level, time, the logger's bindings, then the fields) and written to the
 * logger's own destination, instead of going through pino's generic per-field path: its fields are chosen here (the
 * request id, method, URL, the {@link LOGGED_HEADERS} allowlist, address, status, time), so it needs neither pino's
 * serializer lookups nor its redaction pass (the redacted paths, `token`, `*.password`, ..., cannot occur in it). A CPU
 * profile of the app under load put pino's path at ~15 µs per request and this one at ~7 (docs/BENCHMARKS.md,
 * benchmark 6). Every string goes through `JSON.stringify`, so a crafted URL, header or request id stays one string
 * value of one line. Errors still go through pino, with the redaction: an error's fields are not chosen here.
 */
export class AccessLog extends LogController {
  /** Set once the app's logger exists; until then (and with logging off) the request's own logger. */
  private log: Logger | undefined;
  /** The line up to its time: `{"level":30,"time":`. */
  private head = '';
  /** The logger's bindings as pino writes them after the time: `,"pid":...,"hostname":"..."`. */
  private bindings = '';
  private destination: { write(line: string): unknown } | undefined;

  /** Writes the access lines through `log` (a pino logger): its level, bindings and destination. */
  attach(log: FastifyBaseLogger): void {
    const logger = log as unknown as Logger;
    this.log = logger;
    this.head = `{"level":${logger.levels.values.info},"time":`;
    this.bindings = (logger as unknown as Record<symbol, string>)[pino.symbols.chindingsSym] ?? '';
    this.destination = (logger as unknown as Record<symbol, { write(line: string): unknown }>)[pino.symbols.streamSym];
  }

  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (error) {
      reply.log.error({ ...pinoFields(request, reply), err: error }, 'request errored');
    } else if (this.log && this.destination) {
      if (!this.log.isLevelEnabled('info')) return;
      this.destination.write(
        `${this.head}${Date.now()}${this.bindings},"reqId":${JSON.stringify(request.id)},"req":${JSON.stringify(requestFields(request))},"res":{"statusCode":${reply.statusCode}},"responseTime":${reply.elapsedTime},"msg":"request completed"}\n`,
      );
    } else {
      reply.log.info(pinoFields(request, reply), 'request completed');
    }
  }
}

/** The access line's fields for a line that goes through pino (an error, or no app logger attached yet). */
function pinoFields(request: FastifyRequest, reply: FastifyReply) {
  return { req: request, res: reply, responseTime: reply.elapsedTime };
}

/**
 * `request.log`, made on first use (Fastify's `childLoggerFactory`). Fastify gives every request a child of the app's
 * logger bound to its id, but most requests never log through it (their one line is the access log's), while a pino
 * child costs an object, its bindings' JSON and, with the wildcard redaction paths, a redaction pass over them on every
 * request (a CPU profile of the app under load: ~3 µs per request). The child is made by the first line a request
 * does log (an error, a refusal), with the same bindings and options, so that line is the same.
 */
export function lazyRequestLogger(
  parent: FastifyBaseLogger,
  bindings: Bindings,
  options: ChildLoggerOptions,
): FastifyBaseLogger {
  return new LazyRequestLogger(parent, bindings, options) as unknown as FastifyBaseLogger;
}

class LazyRequestLogger {
  private made: FastifyBaseLogger | undefined;

  constructor(
    private readonly parent: FastifyBaseLogger,
    private readonly bindings: Bindings,
    private readonly options: ChildLoggerOptions,
  ) {}

  /** The pino child, made now if it was not yet. */
  target(): FastifyBaseLogger {
    this.made ??= this.parent.child(this.bindings, this.options);
    return this.made;
  }

  get level(): string {
    return this.made?.level ?? this.options.level ?? this.parent.level;
  }

  set level(level: string) {
    this.target().level = level;
  }

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.target().child(bindings, options);
  }
}

// One method per level on the prototype (not per instance): each makes the child, then logs through it.
for (const level of ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const) {
  Object.defineProperty(LazyRequestLogger.prototype, level, {
    value(this: LazyRequestLogger, ...args: Parameters<LogFn>) {
      this.target()[level](...args);
    },
  });
}
