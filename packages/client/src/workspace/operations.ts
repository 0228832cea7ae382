/**
 * Long-running Autoscaling operations (reference 2.2): create, update and delete answer an Operation that is polled
 * at `GET /api/2.0/postgres/{operation.name}` until `done`; then `error` or `response` holds the outcome.
 */
import { fromServer, parseOperationName } from '../config/names.js';
import { LakebaseError } from '../errors.js';
import { backoffDelay, monotonicClock, sleep } from '../time.js';
import type { LakebaseApi } from './api.js';

/** An Operation as the API returns it. */
export interface Operation<T = Record<string, unknown>> {
  name: string;
  done?: boolean;
  metadata?: Record<string, unknown>;
  error?: { error_code?: string; message?: string };
  response?: T;
}

/** How to wait for an operation. Every field is optional. */
export interface OperationWaitOptions {
  /** Give up after this long (default 10 minutes; at most 1 hour). */
  timeoutMs?: number;
  /** Cancels the wait (the operation itself runs on in the workspace). */
  signal?: AbortSignal;
  /** Called after each poll that found the operation still running. */
  onProgress?: (progress: { operation: string; elapsedMs: number; polls: number }) => void;
  /** First poll delay in ms (default 250), doubling with jitter up to 5 s. */
  pollMs?: number;
}

const MAX_WAIT_MS = 3_600_000;

/**
 * Polls `operation` until it is done and returns its `response`; an `error` becomes `LAKEBASE_OPERATION_FAILED`.
 * The workspace named the operation, so its name is parsed before it becomes a path (and polled under that name only).
 */
export async function waitForOperation<T>(
  api: LakebaseApi,
  operation: Operation<T>,
  options: OperationWaitOptions = {},
): Promise<T> {
  const name =
    operation.done === true ? undefined : fromServer(parseOperationName, operation.name, 'an operation name');
  const current = await pollUntil(
    operation.name,
    operation,
    () => api.postgres<Operation<T>>('GET', name as NonNullable<typeof name>, undefined, `operation ${name}`),
    (op) => op.done === true,
    options,
  );
  if (current.error) {
    const code = current.error.error_code ?? 'UNKNOWN';
    throw new LakebaseError(
      'LAKEBASE_OPERATION_FAILED',
      `Operation ${current.name} failed: [${code}] ${current.error.message ?? ''}`.trim(),
      { suggestion: 'Read the message above; fix its cause and run the command again.', details: { errorCode: code } },
    );
  }
  return current.response as T;
}

/**
 * Polls with jittered exponential backoff until `done(value)`: bounded by `timeoutMs`, cancellable with `signal`,
 * reporting progress. `what` names the thing waited for in messages (an operation or resource name).
 */
export async function pollUntil<T>(
  what: string,
  first: T,
  next: () => Promise<T>,
  done: (value: T) => boolean,
  options: OperationWaitOptions = {},
): Promise<T> {
  const timeoutMs = Math.min(Math.max(options.timeoutMs ?? 600_000, 0), MAX_WAIT_MS);
  const started = monotonicClock.now();
  let current = first;
  for (let polls = 0; !done(current); polls++) {
    throwIfAborted(options.signal, what);
    const elapsedMs = monotonicClock.now() - started;
    if (elapsedMs >= timeoutMs) {
      throw new LakebaseError(
        'LAKEBASE_OPERATION_FAILED',
        `${what} is still not done after ${Math.round(elapsedMs / 1000)} s.`,
        {
          suggestion: 'It may still finish in the workspace: check it there, or wait longer (timeoutMs).',
          details: { operation: what, reason: 'timeout' },
        },
      );
    }
    if (polls > 0) options.onProgress?.({ operation: what, elapsedMs, polls });
    const delay = Math.min(backoffDelay(polls, options.pollMs ?? 250, 5000), timeoutMs - elapsedMs);
    await abortableSleep(delay, options.signal);
    throwIfAborted(options.signal, what);
    current = await next();
  }
  return current;
}

function throwIfAborted(signal: AbortSignal | undefined, operation: string): void {
  if (signal?.aborted) {
    throw new LakebaseError('LAKEBASE_ABORTED', `Stopped waiting for operation ${operation}.`, {
      suggestion: 'The operation itself continues in the workspace; check the resource before retrying.',
    });
  }
}

function abortableSleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return sleep(ms);
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, ms));
    signal.addEventListener('abort', done, { once: true });
  });
}
