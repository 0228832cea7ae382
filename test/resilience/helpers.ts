/**
 * Shared pieces of the resilience suite: bounded vs full durations, an emulator on the real PostgreSQL, output capture
 * for the secret checks, and a guard that records unhandled errors.
 */
import { randomBytes } from 'node:crypto';
import { type Emulator, startEmulator } from '@lakebase-kit/emulator';
import pg from 'pg';

/** `npm run test:resilience` sets RESILIENCE_FULL=1: the full soak and longer outages. `npm test` runs bounded forms. */
export const FULL = process.env.RESILIENCE_FULL === '1';

/** The PostgreSQL the suite uses for upstream storage and `pg_terminate_backend` (100 connection slots: stay small). */
export const UPSTREAM = process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';

export function uniqueSuffix(): string {
  return randomBytes(4).toString('hex');
}

/**
 * An emulator whose storage is the real PostgreSQL, with a role of its own (so killing "our" backends never touches
 * another test file's connections).
 */
export async function startUpstreamEmulator(options: Parameters<typeof startEmulator>[0] = {}): Promise<Emulator> {
  return startEmulator({ upstream: UPSTREAM, user: `resilience-${uniqueSuffix()}@example.com`, ...options });
}

/** Terminates every backend of `role` on the upstream server; returns how many were killed. */
export async function killBackends(admin: pg.Client, role: string): Promise<number> {
  const { rows } = await admin.query<{ killed: boolean }>(
    'select pg_terminate_backend(pid) as killed from pg_stat_activity where usename = $1 and pid <> pg_backend_pid()',
    [role],
  );
  return rows.filter((r) => r.killed).length;
}

export async function adminClient(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: UPSTREAM });
  await client.connect();
  return client;
}

/** Drops the emulator's role after a test (its backends must be gone first). */
export async function dropRole(admin: pg.Client, role: string): Promise<void> {
  await killBackends(admin, role);
  const ident = `"${role.replaceAll('"', '""')}"`;
  await admin.query(`drop owned by ${ident}`).catch(() => {});
  await admin.query(`drop role if exists ${ident}`).catch(() => {});
}

/**
 * Captures everything written to stdout/stderr and through `console` while active (still passing it through), so a
 * test can assert that no secret was printed.
 */
export class OutputCapture {
  private chunks: string[] = [];
  private restore: Array<() => void> = [];

  start(): this {
    for (const stream of [process.stdout, process.stderr]) {
      const original = stream.write.bind(stream);
      stream.write = ((chunk: unknown, ...rest: unknown[]) => {
        this.chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
        return (original as (...args: unknown[]) => boolean)(chunk, ...rest);
      }) as typeof stream.write;
      this.restore.push(() => {
        stream.write = original as typeof stream.write;
      });
    }
    for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
      const original = console[method];
      console[method] = (...args: unknown[]) => {
        this.chunks.push(args.map((a) => (typeof a === 'string' ? a : safeInspect(a))).join(' '));
        original.apply(console, args);
      };
      this.restore.push(() => {
        console[method] = original;
      });
    }
    return this;
  }

  /** Adds text produced elsewhere (logger lines, error messages, JSON of errors). */
  add(text: string): void {
    this.chunks.push(text);
  }

  stop(): void {
    for (const undo of this.restore.splice(0).reverse()) undo();
  }

  get text(): string {
    return this.chunks.join('\n');
  }
}

function safeInspect(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** Everything an error can show: message, stack, JSON, and its causes. */
export function errorText(error: unknown, depth = 0): string {
  if (!error || typeof error !== 'object' || depth > 5) return String(error);
  const e = error as Error & { cause?: unknown };
  return [e.message, e.stack, safeInspect(e), String(e), errorText(e.cause, depth + 1)].join('\n');
}

/** A logger (the client's `LakebaseLogger` shape) that records every line as text. */
export function recordingLogger(lines: string[]) {
  const record = (level: string) => (message: string, fields?: Record<string, unknown>) => {
    lines.push(`${level} ${message} ${safeInspect(fields ?? {})}`);
  };
  return { debug: record('debug'), info: record('info'), warn: record('warn') };
}

/** Secrets found in `text` (by name, never the value). */
export function leakedSecrets(text: string, secrets: Iterable<string>): string[] {
  const found: string[] = [];
  let i = 0;
  for (const secret of secrets) {
    i++;
    if (secret.length >= 8 && text.includes(secret)) found.push(`secret #${i} (${secret.length} chars)`);
  }
  return found;
}

/** Records unhandled rejections and uncaught exceptions while installed. */
export function unhandledErrorGuard(): { errors: unknown[]; uninstall(): void } {
  const errors: unknown[] = [];
  const onRejection = (error: unknown) => errors.push({ kind: 'unhandledRejection', error: describe(error) });
  const onException = (error: unknown) => errors.push({ kind: 'uncaughtException', error: describe(error) });
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  return {
    errors,
    uninstall() {
      process.off('unhandledRejection', onRejection);
      process.off('uncaughtException', onException);
    },
  };
}

function describe(error: unknown): string {
  const e = error as { code?: string; message?: string; stack?: string };
  return `${e?.code ?? ''} ${e?.message ?? String(error)}\n${e?.stack ?? ''}`;
}

/** Wraps `fetch` to collect every token a Databricks API response hands out (database and OAuth tokens). */
export function tokenCollectingFetch(tokens: Set<string>): typeof fetch {
  return async (input, init) => {
    const response = await fetch(input, init);
    const body = await response
      .clone()
      .json()
      .catch(() => undefined);
    if (body && typeof body === 'object') {
      for (const key of ['token', 'access_token']) {
        const value = (body as Record<string, unknown>)[key];
        if (typeof value === 'string') tokens.add(value);
      }
    }
    return response;
  };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
