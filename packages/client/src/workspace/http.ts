/**
 * The HTTP plumbing shared by the REST client and the auth providers: one request with a timeout, bounded retry of
 * 429/503 and network failures honouring `Retry-After`, and parsing of the Databricks error body shapes.
 */

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
 * Send one request. The timeout bounds the whole response, headers and body (a server that drips bytes cannot hold
 * a caller beyond it). Network failures and timeouts become `LAKEBASE_API_UNREACHABLE` (retryable); a body over
 * {@link MAX_RESPONSE_BYTES} becomes `LAKEBASE_API_ERROR` (reason `response-too-large`, not retryable).
 */
export async function sendOnce(url: string, init: RequestInit, deps: HttpDeps): Promise<HttpResponse> {
  const fetchFn = deps.fetch ?? fetch;
  const timeoutMs = deps.timeoutMs ?? 10_000;
  const target = new URL(url);
  const what = `${init.method ?? 'GET'} ${target.pathname}`;
  const controller = new AbortController();
  let response: Response;
  let text: string;
  try {
    const exchange = fetchFn(url, { ...init, signal: controller.signal }).then(async (res) => ({
      res,
      body: await readBodyCapped(res, MAX_RESPONSE_BYTES, what),
    }));
    // Real time, like the socket it guards. The deadline also covers a fetch that ignores its signal.
    ({ res: response, body: text } = await withDeadline(exchange, timeoutMs, () => {
      controller.abort();
      return new DeadlineExceeded();
    }));
  } catch (cause) {
    if (cause instanceof LakebaseError) throw cause;
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
  for (let attempt = 0; ; attempt++) {
    const last = attempt + 1 >= policy.maxAttempts;
    let response: HttpResponse;
    try {
      response = await sendOnce(url, init, deps);
    } catch (error) {
      if (last || (error instanceof LakebaseError && !error.retryable)) throw error;
      await sleep(backoffDelay(attempt, policy.baseDelayMs, policy.maxDelayMs), timers);
      continue;
    }
    if ((response.status !== 429 && response.status !== 503) || last) return response;
    const retryAfter = parseRetryAfter(response.headers.get('retry-after'), clock.now());
    if (retryAfter !== undefined && retryAfter > policy.maxDelayMs) return response;
    await sleep(retryAfter ?? backoffDelay(attempt, policy.baseDelayMs, policy.maxDelayMs), timers);
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
