/**
 * The HTTP plumbing shared by the REST client and the auth providers: one request with a timeout, bounded retry of
 * 429/503 and network failures honouring `Retry-After`, cancellation by the owner's abort signal, and parsing of the
 * Databricks error body shapes.
 */

import { AsyncLocalStorage } from 'node:async_hooks';
import { setMaxListeners } from 'node:events';
import { LakebaseError } from '../errors.js';
import { backoffDelay, type Clock, sleep, systemClock, systemTimers, type Timers, withDeadline } from '../time.js';

export type FetchFn = typeof fetch;

export interface HttpResponse {
  status: number;
  headers: Headers;
  /** Parsed JSON, or undefined when the body is empty or not JSON. */
  json: unknown;
  text: string;
}

export interface RetryPolicy {
  /** Total attempts including the first (default 4). */
  maxAttempts: number;
  /** First backoff delay when the server sends no Retry-After (default 250 ms). */
  baseDelayMs: number;
  /** Cap of one delay (default 5000 ms). A longer Retry-After ends the retries. */
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 4, baseDelayMs: 250, maxDelayMs: 5000 };

export interface HttpDeps {
  fetch?: FetchFn;
  clock?: Clock;
  timers?: Timers;
  /** Per-request timeout in ms (default 10000). */
  timeoutMs?: number;
  retry?: Partial<RetryPolicy>;
}

/**
 * The largest REST response body we read (1 MiB). A credential or an instance is a few KB and a page of a list well
 * under 100 KB: anything bigger is a broken proxy or endpoint, and reading it whole would cost memory for nothing.
 */
export const MAX_RESPONSE_BYTES = 1024 * 1024;

/**
 * The signal of whoever owns the requests started inside {@link withAbortSignal}: a credential manager or a pool
 * (aborted when it is closed or ended), a `diagnose` step (aborted at the step timeout). It travels in the async
 * context, so every request on the way (the workspace OAuth token, the REST call, its retries and their backoff) is
 * cancelled without each layer in between passing a signal along.
 */
const owner = new AsyncLocalStorage<AbortSignal>();

/**
 * Run `work` with `signal` as the owner of its REST requests: once it aborts, a request in flight is cancelled (its
 * socket closed) and fails, and no retry follows. The failure is `signal.reason` when that is a
 * {@link LakebaseError} (the owner says why: `LAKEBASE_CLOSED`, a step timeout), else `LAKEBASE_ABORTED`. A nested
 * call replaces the outer owner: a request shared by several callers belongs to the one that started the sharing.
 */
export function withAbortSignal<T>(signal: AbortSignal, work: () => Promise<T>): Promise<T> {
  ownedScopes++;
  let result: Promise<T>;
  try {
    result = owner.run(signal, work);
  } catch (error) {
    leaveOwnedScope();
    throw error;
  }
  return result.finally(leaveOwnedScope);
}

/**
 * Scopes of {@link withAbortSignal} whose work has not settled. While an AsyncLocalStorage is enabled, Node 20 runs
 * a hook on every promise of the process (about 3x the CPU of an `await`, measured: docs/BENCHMARKS.md, benchmark
 * 6), so the storage is disabled whenever no scope is open and the app's promises stop paying for it. Work started in
 * a scope is awaited by it, and each request reads its owner once, when it starts, so nothing still running loses
 * its signal; the next scope enables the storage again.
 */
let ownedScopes = 0;

function leaveOwnedScope(): void {
  ownedScopes--;
  if (ownedScopes === 0) owner.disable();
}

/** Open {@link withAbortSignal} scopes (0 when none: the async-context storage is then off). For tests. */
export function openAbortScopes(): number {
  return ownedScopes;
}

/**
 * The controller of a long-lived owner (a pool, a credential manager): every request in flight and every waiting
 * caller listens to its signal, so it takes any number of listeners (Node warns of a leak past 10 otherwise).
 */
export function ownerController(): AbortController {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  return controller;
}

/** What a request cancelled by its owner's `signal` fails with (see {@link withAbortSignal}). */
export function cancelledBy(signal: AbortSignal, what: string): LakebaseError {
  if (signal.reason instanceof LakebaseError) return signal.reason;
  return new LakebaseError('LAKEBASE_ABORTED', `${what} was cancelled by its caller.`, {
    suggestion: 'Nothing to fix if the cancellation was intended; otherwise retry.',
    details: { reason: 'aborted' },
  });
}

/** `promise`, or `onAbort()` as soon as `signal` aborts (the promise runs on; the listener is removed once settled). */
export function unlessAborted<T>(promise: Promise<T>, signal: AbortSignal, onAbort: () => Error): Promise<T> {
  if (signal.aborted) return Promise.reject(onAbort());
  return new Promise<T>((resolve, reject) => {
    const abort = () => reject(onAbort());
    signal.addEventListener('abort', abort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', abort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', abort);
        reject(error);
      },
    );
  });
}

/**
 * `ms` on `timers`, ended early with `onAbort()` (and the timer cleared, so nothing is left to hold the process) when
 * `signal` aborts.
 */
export function sleepUnlessAborted(
  ms: number,
  timers: Timers,
  signal: AbortSignal | undefined,
  onAbort: () => Error,
  keepAlive = true,
): Promise<void> {
  if (!signal) return sleep(ms, timers, keepAlive);
  if (signal.aborted) return Promise.reject(onAbort());
  return new Promise((resolve, reject) => {
    const abort = () => {
      timers.clearTimeout(handle);
      reject(onAbort());
    };
    const handle = timers.setTimeout(
      () => {
        signal.removeEventListener('abort', abort);
        resolve();
      },
      ms,
      keepAlive,
    );
    signal.addEventListener('abort', abort, { once: true });
  });
}

/**
 * Send one request. The timeout bounds the whole response, headers and body (a server that drips bytes cannot hold
 * a caller beyond it). Network failures and timeouts become `LAKEBASE_API_UNREACHABLE` (retryable); a body over
 * {@link MAX_RESPONSE_BYTES} becomes `LAKEBASE_API_ERROR` (reason `response-too-large`, not retryable); a request
 * whose owner aborts (see {@link withAbortSignal}) is cancelled and fails with the owner's reason, not retryable.
 */
export async function sendOnce(url: string, init: RequestInit, deps: HttpDeps): Promise<HttpResponse> {
  const fetchFn = deps.fetch ?? fetch;
  const timeoutMs = deps.timeoutMs ?? 10_000;
  const target = new URL(url);
  const what = `${init.method ?? 'GET'} ${target.pathname}`;
  const cancel = owner.getStore();
  if (cancel?.aborted) throw cancelledBy(cancel, what);
  const controller = new AbortController();
  let response: Response;
  let text: string;
  try {
    const exchange = fetchFn(url, { ...init, signal: controller.signal }).then(async (res) => ({
      res,
      body: await readBodyCapped(res, MAX_RESPONSE_BYTES, what),
    }));
    // The owner's abort ends the wait at once (and closes the socket), even for a fetch that ignores its signal.
    const owned = cancel
      ? unlessAborted(exchange, cancel, () => {
          controller.abort();
          return cancelledBy(cancel, what);
        })
      : exchange;
    // Real time, like the socket it guards. The deadline also covers a fetch that ignores its signal.
    ({ res: response, body: text } = await withDeadline(owned, timeoutMs, () => {
      controller.abort();
      return new DeadlineExceeded();
    }));
  } catch (cause) {
    if (cause instanceof LakebaseError) throw cause;
    if (cancel?.aborted) throw cancelledBy(cancel, what);
    const timedOut =
      cause instanceof DeadlineExceeded ||
      (cause instanceof Error && (cause.name === 'TimeoutError' || cause.name === 'AbortError'));
    throw new LakebaseError(
      'LAKEBASE_API_UNREACHABLE',
      timedOut
        ? `${what} timed out after ${timeoutMs} ms`
        : `${init.method ?? 'GET'} ${target.origin}${target.pathname} failed: ${errorText(cause)}`,
      {
        suggestion: `Check that ${target.origin} is reachable from this machine (proxy, VPN, DATABRICKS_HOST).`,
        cause,
        retryable: true,
        details: { url: `${target.origin}${target.pathname}`, reason: timedOut ? 'timeout' : undefined },
      },
    );
  }
  let json: unknown;
  if (text) {
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
  }
  return { status: response.status, headers: response.headers, json, text };
}

class DeadlineExceeded extends Error {
  override readonly name = 'DeadlineExceeded';
}

/** The body as text, refusing (and cancelling) one longer than `maxBytes`, whether declared or streamed. */
export async function readBodyCapped(response: Response, maxBytes: number, what: string): Promise<string> {
  const tooLarge = () =>
    new LakebaseError('LAKEBASE_API_ERROR', `${what} answered with a body larger than ${maxBytes} bytes.`, {
      suggestion:
        'A Databricks API response is a few KB: check DATABRICKS_HOST and any proxy in between (HTTPS_PROXY).',
      details: { reason: 'response-too-large', maxBytes },
    });
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (declared > maxBytes) {
    await response.body?.cancel().catch(() => {});
    throw tooLarge();
  }
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => {});
      throw tooLarge();
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Send with bounded retry: 429 and 503 (waiting `Retry-After` when given, else exponential backoff with jitter) and
 * network errors/timeouts. Returns the last response for any other status; throws the last network error.
 */
export async function sendWithRetry(url: string, init: RequestInit, deps: HttpDeps): Promise<HttpResponse> {
  const policy = { ...DEFAULT_RETRY, ...deps.retry };
  const clock = deps.clock ?? systemClock;
  const timers = deps.timers ?? systemTimers;
  const cancel = owner.getStore();
  const what = `${init.method ?? 'GET'} ${new URL(url).pathname}`;
  const pause = (ms: number) => sleepUnlessAborted(ms, timers, cancel, () => cancelledBy(cancel as AbortSignal, what));
  for (let attempt = 0; ; attempt++) {
    const last = attempt + 1 >= policy.maxAttempts;
    let response: HttpResponse;
    try {
      response = await sendOnce(url, init, deps);
    } catch (error) {
      if (last || cancel?.aborted || (error instanceof LakebaseError && !error.retryable)) throw error;
      await pause(backoffDelay(attempt, policy.baseDelayMs, policy.maxDelayMs));
      continue;
    }
    if ((response.status !== 429 && response.status !== 503) || last) return response;
    const retryAfter = parseRetryAfter(response.headers.get('retry-after'), clock.now());
    if (retryAfter !== undefined && retryAfter > policy.maxDelayMs) return response;
    await pause(retryAfter ?? backoffDelay(attempt, policy.baseDelayMs, policy.maxDelayMs));
  }
}

/** `Retry-After` as milliseconds: delta-seconds or an HTTP date. Undefined when absent or unparsable. */
export function parseRetryAfter(header: string | null, now: number): number | undefined {
  if (!header) return undefined;
  const trimmed = header.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * Extract `{errorCode, message}` from any Databricks error body: the standard `{error_code, message}` (code may be a
 * number), legacy `{error}`, OAuth `{error, error_description}`, SCIM `{detail, status}`, `CODE: message` text, HTML.
 */
export function describeErrorBody(response: HttpResponse): { errorCode: string | undefined; message: string } {
  const body = response.json;
  if (body && typeof body === 'object') {
    const b = body as Record<string, unknown>;
    if (b.error_code !== undefined || b.message !== undefined) {
      return {
        errorCode: b.error_code === undefined ? undefined : String(b.error_code),
        message: String(b.message ?? ''),
      };
    }
    if (typeof b.error === 'string') {
      return { errorCode: b.error, message: String(b.error_description ?? b.error) };
    }
    if (b.detail !== undefined)
      return { errorCode: `SCIM_${String(b.status ?? response.status)}`, message: String(b.detail) };
    if (typeof b.errorCode === 'string') return { errorCode: b.errorCode, message: String(b.errorSummary ?? '') };
  }
  const pre = /<pre>([\s\S]*?)<\/pre>/i.exec(response.text);
  const text = (pre?.[1] ?? response.text).trim().slice(0, 500);
  const coded = /^([A-Z_]+): (.*)$/s.exec(text);
  if (coded?.[1] && coded[2] !== undefined) return { errorCode: coded[1], message: coded[2] };
  return { errorCode: undefined, message: text || `HTTP ${response.status}` };
}

export function errorText(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as { cause?: unknown }).cause;
    const code = (error as { code?: unknown }).code;
    const inner = cause instanceof Error ? `: ${cause.message}` : '';
    return `${error.message}${typeof code === 'string' ? ` (${code})` : ''}${inner}`;
  }
  return String(error);
}
