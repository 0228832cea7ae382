/** One deadline for the whole REST response (headers and body), and a cap on the body, at the HTTP layer. */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeHttpServer, listenOnLoopback } from '../../../test/helpers/loopback-http.js';
import { isLakebaseError } from '../src/index.js';
import { MAX_RESPONSE_BYTES, sendOnce } from '../src/workspace/http.js';

let server: http.Server;
let url: string;
const drips = new Set<NodeJS.Timeout>();

beforeAll(async () => {
  server = http.createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    if (req.url === '/drip') {
      res.write('{"a": "');
      const timer = setInterval(() => res.write('x'), 50);
      drips.add(timer);
      res.on('close', () => clearInterval(timer));
      return;
    }
    res.end(JSON.stringify({ ok: true }));
  });
  url = await listenOnLoopback(server);
});
afterAll(async () => {
  for (const timer of drips) clearInterval(timer);
  await closeHttpServer(server);
});

async function failure(promise: Promise<unknown>) {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isLakebaseError(error)) throw new Error(`expected a LakebaseError, got ${String(error)}`);
  return error;
}

describe('sendOnce', () => {
  it('a body that drips past the deadline times out with LAKEBASE_API_UNREACHABLE (reason timeout)', async () => {
    // The body drips forever (a byte every 50 ms, never idle), so only a deadline on the whole response can end it.
    const error = await failure(sendOnce(`${url}/drip`, { method: 'GET' }, { timeoutMs: 300 }));
    expect(error.message).toContain('timed out after 300 ms');
    expect(error.code).toBe('LAKEBASE_API_UNREACHABLE');
    expect(error.details.reason).toBe('timeout');
    expect(error.retryable).toBe(true);
  });

  it('a fetch that ignores its abort signal is still bounded', async () => {
    const deaf = (() => new Promise<Response>(() => {})) as typeof fetch;
    // The fetch never settles, so the failure can only come from the 200 ms deadline.
    const error = await failure(sendOnce(`${url}/x`, { method: 'GET' }, { timeoutMs: 200, fetch: deaf }));
    expect(error.message).toContain('timed out after 200 ms');
  });

  it('a streamed body over the cap is refused, not retried', async () => {
    const big = (async () =>
      new Response(
        new ReadableStream({
          pull(controller) {
            controller.enqueue(new Uint8Array(64 * 1024));
          },
        }),
      )) as typeof fetch;
    const error = await failure(sendOnce(`${url}/x`, { method: 'GET' }, { fetch: big }));
    expect(error.code).toBe('LAKEBASE_API_ERROR');
    expect(error.details).toMatchObject({ reason: 'response-too-large', maxBytes: MAX_RESPONSE_BYTES });
    expect(error.retryable).toBe(false);
  });

  it('an ordinary response is read whole', async () => {
    const response = await sendOnce(`${url}/ok`, { method: 'GET' }, {});
    expect(response.json).toEqual({ ok: true });
  });
});
