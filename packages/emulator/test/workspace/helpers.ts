import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterEach } from 'vitest';
import { buildApiServer, createWorkspace, type Workspace, type WorkspaceOptions } from '../../src/workspace/index.js';

/** A clock the test moves by hand; starts at a whole second so token `exp` arithmetic is exact. */
export class FakeClock {
  ms = Date.parse('2026-01-01T00:00:00.000Z');
  readonly now = () => this.ms;
  advance(ms: number): void {
    this.ms += ms;
  }
}

/** A workspace, its API server (listening on loopback when asked), a fake clock and a data dir. */
export interface Fixture {
  ws: Workspace;
  app: FastifyInstance;
  clock: FakeClock;
  dataDir: string;
  /** `http://127.0.0.1:<port>` when listening, else empty. */
  base: string;
  /** Calls the API over the socket (or `inject` when not listening) and parses JSON. */
  call(method: string, url: string, init?: CallInit): Promise<CallResult>;
  /** Same as `call` with the primary user's PAT. */
  as(token: string): (method: string, url: string, body?: unknown) => Promise<CallResult>;
  /** The OAuth M2M token request of the service principal (client_credentials with Basic auth). */
  m2mToken(): Promise<CallResult>;
}

export interface CallInit {
  token?: string;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface CallResult {
  status: number;
  headers: Record<string, string>;
  // biome-ignore lint/suspicious/noExplicitAny: test assertions read arbitrary JSON
  json: any;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A fresh temporary data dir, removed after the test. */
export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'lakebase-ws-test-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Starts a workspace with short delays and a fake clock; closed after the test. */
export async function startWorkspace(
  options: Partial<WorkspaceOptions> = {},
  { listen = false, dataDir }: { listen?: boolean; dataDir?: string } = {},
): Promise<Fixture> {
  const clock = new FakeClock();
  const dir = dataDir ?? (await tempDir());
  const ws = await createWorkspace({ dataDir: dir, now: clock.now, instanceStartMs: 5000, ...options });
  const app = buildApiServer(ws);
  let base = '';
  if (listen) {
    base = await app.listen({ port: 0, host: '127.0.0.1' });
    ws.setBaseUrl(base);
  } else {
    await app.ready();
  }
  cleanups.push(async () => {
    await app.close();
    await ws.close();
  });

  const call = async (method: string, url: string, init: CallInit = {}): Promise<CallResult> => {
    const headers: Record<string, string> = { accept: 'application/json', ...init.headers };
    if (init.token) headers.authorization = `Bearer ${init.token}`;
    let payload: string | undefined;
    if (init.body !== undefined) {
      headers['content-type'] ??= 'application/json';
      payload = typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
    }
    if (listen) {
      const response = await fetch(`${base}${url}`, { method, headers, ...(payload ? { body: payload } : {}) });
      const text = await response.text();
      return { status: response.status, headers: Object.fromEntries(response.headers), json: parse(text) };
    }
    const response = await app.inject({ method: method as 'GET', url, headers, ...(payload ? { payload } : {}) });
    return {
      status: response.statusCode,
      headers: response.headers as Record<string, string>,
      json: parse(response.body),
    };
  };
  return {
    ws,
    app,
    clock,
    dataDir: dir,
    base,
    call,
    as: (token) => (method, url, body) => call(method, url, { token, body }),
    m2mToken: () => {
      const { clientId, clientSecret } = ws.servicePrincipal;
      return call('POST', '/oidc/v1/token', {
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`,
        },
        body: 'grant_type=client_credentials',
      });
    },
  };
}

function parse(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
