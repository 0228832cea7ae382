import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { LakebaseError } from '../src/index.js';
import {
  LakebaseApi,
  parseBranchName,
  parseEndpointName,
  parseInstanceName,
  parseProjectName,
} from '../src/toolkit.js';
import { FakeTime } from './helpers/fake-time.js';
import { fakeJwt, TestServer } from './helpers/http-server.js';

const PAT = 'dapi00112233445566778899aabbccddeeff';
let server: TestServer;
let api: LakebaseApi;

beforeAll(async () => {
  server = await new TestServer().start();
});
afterAll(async () => {
  await server.stop();
});
beforeEach(() => {
  server.requests.length = 0;
  server.routes.clear();
  api = new LakebaseApi(
    { host: server.url, getToken: async () => PAT },
    { workspaceId: '1234567890', retry: { baseDelayMs: 20, maxDelayMs: 2000 } },
  );
});

async function failure(promise: Promise<unknown>): Promise<LakebaseError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeDefined();
  return error as LakebaseError;
}

describe('LakebaseApi', () => {
  it('sends the bearer token, JSON headers and X-Databricks-Workspace-Id; Me returns the identity', async () => {
    server.route('GET /api/2.0/preview/scim/v2/Me', () => ({ body: { id: '1', userName: 'jane@example.com' } }));
    expect((await api.me()).userName).toBe('jane@example.com');
    const req = server.requests[0];
    expect(req?.headers.authorization).toBe(`Bearer ${PAT}`);
    expect(req?.headers.accept).toBe('application/json');
    expect(req?.headers['x-databricks-workspace-id']).toBe('1234567890');
  });

  it('Provisioned credential: request_id + instance_names, expiration_time parsed', async () => {
    const token = fakeJwt({ sub: 'jane@example.com', exp: 2_000_000_000 });
    server.route('POST /api/2.0/database/credentials', () => ({
      body: { token, expiration_time: '2026-01-01T01:00:00Z' },
    }));
    const credential = await api.generateInstanceCredential([parseInstanceName('my-instance')]);
    expect(credential.token).toBe(token);
    expect(credential.expiresAt.toISOString()).toBe('2026-01-01T01:00:00.000Z');
    const body = JSON.parse(server.requests[0]?.body ?? '{}');
    expect(body.instance_names).toEqual(['my-instance']);
    expect(body.request_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(server.requests[0]?.headers['content-type']).toBe('application/json');
    expect(JSON.stringify(credential)).not.toContain(token.slice(0, 20));
  });

  it('Autoscaling credential: endpoint in the body, expire_time parsed; JWT exp used when the expiry is unusable', async () => {
    server.route('POST /api/2.0/postgres/credentials', (req) => {
      const body = JSON.parse(req.body) as { endpoint: string };
      return {
        body: {
          token: fakeJwt({ sub: 'x', exp: 1_900_000_000 }),
          expire_time: body.endpoint.endsWith('/bad') ? 'soon' : '2026-02-01T00:00:00Z',
        },
      };
    });
    const good = await api.generateEndpointCredential(parseEndpointName('projects/p/branches/b/endpoints/e'));
    expect(good.expiresAt.toISOString()).toBe('2026-02-01T00:00:00.000Z');
    const fallback = await api.generateEndpointCredential(parseEndpointName('projects/p/branches/b/endpoints/bad'));
    expect(fallback.expiresAt.getTime()).toBe(1_900_000_000_000);
  });

  it('retries 429 honouring Retry-After (seconds)', async () => {
    let calls = 0;
    server.route('GET /api/2.0/database/instances/i', () => {
      calls++;
      return calls === 1
        ? {
            status: 429,
            headers: { 'Retry-After': '1' },
            body: { error_code: 'REQUEST_LIMIT_EXCEEDED', message: 'slow down' },
          }
        : { body: { name: 'i', state: 'AVAILABLE' } };
    });
    // On a fake clock: the retry waits for the timer of exactly Retry-After, and not a millisecond less.
    const time = new FakeTime();
    const timed = new LakebaseApi(
      { host: server.url, getToken: async () => PAT },
      { workspaceId: '1234567890', retry: { baseDelayMs: 20, maxDelayMs: 2000 }, clock: time, timers: time },
    );
    const answer = timed.getInstance(parseInstanceName('i'));
    await vi.waitFor(() => expect(time.pending).toBe(1), { timeout: 5000 });
    expect(calls).toBe(1);
    await time.advance(999);
    expect(calls).toBe(1);
    await time.advance(1);
    expect((await answer).state).toBe('AVAILABLE');
    expect(calls).toBe(2);
  });

  it('retries 503 with backoff, bounded: 4 attempts then LAKEBASE_API_UNAVAILABLE', async () => {
    server.route('GET /api/2.0/database/instances/i', () => ({
      status: 503,
      body: { error_code: 'TEMPORARILY_UNAVAILABLE', message: 'try later' },
    }));
    const error = await failure(api.getInstance(parseInstanceName('i')));
    expect(error.code).toBe('LAKEBASE_API_UNAVAILABLE');
    expect(error.retryable).toBe(true);
    expect(error.details).toMatchObject({ status: 503, errorCode: 'TEMPORARILY_UNAVAILABLE' });
    expect(server.count('GET /api/2.0/database/instances/i')).toBe(4);
  });

  it('a Retry-After longer than the cap ends the retries at once', async () => {
    server.route('GET /api/2.0/database/instances/i', () => ({
      status: 429,
      headers: { 'Retry-After': '120' },
      body: {},
    }));
    // No wait at all: the failure comes without any timer being set (time never moves on the fake clock).
    const time = new FakeTime();
    const timed = new LakebaseApi(
      { host: server.url, getToken: async () => PAT },
      { workspaceId: '1234567890', retry: { baseDelayMs: 20, maxDelayMs: 2000 }, clock: time, timers: time },
    );
    const error = await failure(timed.getInstance(parseInstanceName('i')));
    expect(error.code).toBe('LAKEBASE_API_UNAVAILABLE');
    expect(time.pending).toBe(0);
    expect(server.count('GET /api/2.0/database/instances/i')).toBe(1);
  });

  it('maps statuses: numeric 401/403 -> AUTH_FAILED, 403 PERMISSION_DENIED, 404, 400', async () => {
    const cases: [number, unknown, string][] = [
      [
        401,
        { error_code: 401, message: 'Credential was not sent or was of an unsupported type for this API. [ReqId: 1]' },
        'LAKEBASE_AUTH_FAILED',
      ],
      [403, { error_code: 403, message: 'Invalid access token. [ReqId: 2]' }, 'LAKEBASE_AUTH_FAILED'],
      [403, { error_code: 'PERMISSION_DENIED', message: 'User has no CAN_USE' }, 'LAKEBASE_PERMISSION_DENIED'],
      [
        404,
        { error_code: 'RESOURCE_DOES_NOT_EXIST', message: "Database instance 'x' does not exist." },
        'LAKEBASE_RESOURCE_NOT_FOUND',
      ],
      [404, { message: 'DatabaseInstance not found: x' }, 'LAKEBASE_RESOURCE_NOT_FOUND'],
      [400, { error_code: 'INVALID_PARAMETER_VALUE', message: 'bad' }, 'LAKEBASE_API_ERROR'],
      [400, 'INVALID_STATE: plain text error', 'LAKEBASE_API_ERROR'],
    ];
    for (const [status, body, code] of cases) {
      server.route('GET /api/2.0/database/instances/x', () => ({ status, body }));
      const error = await failure(api.getInstance(parseInstanceName('x')));
      expect(error.code, JSON.stringify(body)).toBe(code);
      expect(error.suggestion).toBeTruthy();
      expect(error.message).not.toContain(PAT);
    }
    expect((await failure(api.getInstance(parseInstanceName('x')))).details.errorCode).toBe('INVALID_STATE');
  });

  it('paginates lists until next_page_token is absent or empty', async () => {
    server.route('GET /api/2.0/database/instances', (req) =>
      req.path.includes('page_token=p2')
        ? { body: { database_instances: [{ name: 'c' }], next_page_token: '' } }
        : { body: { database_instances: [{ name: 'a' }, { name: 'b' }], next_page_token: 'p2' } },
    );
    expect((await api.listInstances()).map((i) => i.name)).toEqual(['a', 'b', 'c']);
    expect(server.requests[0]?.path).toContain('page_size=100');
  });

  it('lists projects, branches and endpoints; gets an endpoint by its path', async () => {
    server.route('GET /api/2.0/postgres/projects', () => ({ body: { projects: [{ name: 'projects/p' }] } }));
    server.route('GET /api/2.0/postgres/projects/p/branches', () => ({
      body: { branches: [{ name: 'projects/p/branches/b' }] },
    }));
    server.route('GET /api/2.0/postgres/projects/p/branches/b/endpoints', () => ({
      body: { endpoints: [{ name: 'projects/p/branches/b/endpoints/e' }] },
    }));
    server.route('GET /api/2.0/postgres/projects/p/branches/b/endpoints/e', () => ({
      body: {
        name: 'projects/p/branches/b/endpoints/e',
        status: { current_state: 'ACTIVE', hosts: { host: 'ep.example' } },
      },
    }));
    expect((await api.listProjects())[0]?.name).toBe('projects/p');
    expect((await api.listBranches(parseProjectName('projects/p')))[0]?.name).toBe('projects/p/branches/b');
    expect((await api.listEndpoints(parseBranchName('projects/p/branches/b')))[0]?.name).toBe(
      'projects/p/branches/b/endpoints/e',
    );
    expect((await api.getEndpoint(parseEndpointName('projects/p/branches/b/endpoints/e'))).status?.hosts?.host).toBe(
      'ep.example',
    );
  });

  it('network failure -> LAKEBASE_API_UNREACHABLE; a slow server -> timeout', async () => {
    const closed = new LakebaseApi(
      { host: 'http://127.0.0.1:1', getToken: async () => PAT },
      { retry: { maxAttempts: 2, baseDelayMs: 10 } },
    );
    const error = await failure(closed.me());
    expect(error.code).toBe('LAKEBASE_API_UNREACHABLE');
    expect(error.retryable).toBe(true);

    // The server answers only after the client has given up: the 100 ms deadline is the only way out.
    let answer = () => {};
    const held = new Promise<void>((resolve) => {
      answer = resolve;
    });
    server.route('GET /api/2.0/preview/scim/v2/Me', async () => {
      await held;
      return { body: { userName: 'x' } };
    });
    const slow = new LakebaseApi(
      { host: server.url, getToken: async () => PAT },
      { timeoutMs: 100, retry: { maxAttempts: 1 } },
    );
    const timeout = await failure(slow.me());
    answer();
    expect(timeout.code).toBe('LAKEBASE_API_UNREACHABLE');
    expect(timeout.message).toContain('timed out after 100 ms');
  });

  it('a 401 drops the cached workspace token and retries once', async () => {
    let invalidated = 0;
    let token = 'stale-workspace-token-0001';
    const auth = {
      host: server.url,
      getToken: async () => token,
      invalidate: () => {
        invalidated++;
        token = 'fresh-workspace-token-0002';
      },
    };
    server.route('GET /api/2.0/preview/scim/v2/Me', (req) =>
      req.headers.authorization === 'Bearer fresh-workspace-token-0002'
        ? { body: { id: '1', userName: 'sp' } }
        : { status: 401, body: { error_code: 401, message: 'expired' } },
    );
    expect((await new LakebaseApi(auth).me()).userName).toBe('sp');
    expect(invalidated).toBe(1);
  });
});
