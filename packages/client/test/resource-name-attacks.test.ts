/**
 * Issue 22 finding 1: a branch name must never climb out of its REST path. Against the real emulator (real sockets),
 * the two attacks of the issue must fail with LAKEBASE_CONFIG_INVALID before any request; the Provisioned instance
 * survives and no SCIM read happens. A misbehaving workspace (a stub on loopback) that answers a path-shaped
 * operation or endpoint name must not steer the next request either.
 */
import type { Emulator } from '@lakebase-kit/emulator';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LakebaseBranches, type LakebaseError } from '../src/index.js';
import { createBranch, deleteBranch, LakebaseApi, listBranches, resetBranch } from '../src/toolkit.js';
import { startWarmEmulator } from './helpers/emulator.js';
import { TestServer } from './helpers/http-server.js';

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startWarmEmulator();
});
afterAll(async () => {
  await emulator?.stop();
});

/** A real fetch that records every URL it is asked for (the requests still go over real sockets). */
function recordingFetch(): { fetch: typeof fetch; urls: string[] } {
  const urls: string[] = [];
  const recording = ((input: Parameters<typeof fetch>[0], init?: RequestInit) => {
    urls.push(String(input instanceof Request ? input.url : input));
    return fetch(input, init);
  }) as typeof fetch;
  return { fetch: recording, urls };
}

async function instanceExists(name: string): Promise<number> {
  const response = await fetch(`${emulator.databricksHost}/api/2.0/database/instances/${name}`, {
    headers: { Authorization: `Bearer ${emulator.databricksToken}` },
  });
  await response.arrayBuffer();
  return response.status;
}

async function rejection(promise: Promise<unknown>): Promise<LakebaseError> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: LakebaseError) => error,
  );
}

describe('branch names that climb out of their path (real emulator)', () => {
  it('`branch delete dev/../../database/instances/<i>` is refused before any request; the instance survives', async () => {
    const recorded = recordingFetch();
    const branches = new LakebaseBranches({ env: emulator.env('autoscaling'), fetch: recorded.fetch });
    expect(await instanceExists(emulator.instanceName)).toBe(200);
    const error = await rejection(branches.delete(`dev/../../database/instances/${emulator.instanceName}`));
    expect(error.code).toBe('LAKEBASE_CONFIG_INVALID');
    expect(error.suggestion).toBeTruthy();
    expect(recorded.urls).toEqual([]);
    expect(await instanceExists(emulator.instanceName)).toBe(200);
  });

  it('`branch info x/../../preview/scim/v2/Me` is refused before any request; no SCIM read', async () => {
    const recorded = recordingFetch();
    const branches = new LakebaseBranches({ env: emulator.env('autoscaling'), fetch: recorded.fetch });
    const error = await rejection(branches.get('x/../../preview/scim/v2/Me'));
    expect(error.code).toBe('LAKEBASE_CONFIG_INVALID');
    expect(recorded.urls).toEqual([]);
  });

  const attacks = [
    'dev/../../database/instances/x',
    'projects/lakebase-emulator/branches/../../../database/instances/x',
    'projects/lakebase-emulator/branches/dev/../production',
    'projects/lakebase-emulator/branches/%2e%2e',
    'projects/lakebase-emulator/branches/a%2Fb',
    'projects/other-project/branches/dev',
    '..',
    '.',
    'dev\\..\\..',
    'dev%2F..',
    '',
    ' dev',
  ];
  for (const name of attacks) {
    it(`every branch call refuses ${JSON.stringify(name)} (and as --from) before any request`, async () => {
      const recorded = recordingFetch();
      const branches = new LakebaseBranches({ env: emulator.env('autoscaling'), fetch: recorded.fetch });
      const calls: Array<() => Promise<unknown>> = [
        () => branches.get(name),
        () => branches.delete(name),
        () => branches.reset(name),
        () => branches.create(name),
        () => branches.create('fine-name', { from: name }),
        () => branches.setExpiry(name, { noExpiry: true }),
      ];
      for (const call of calls) expect((await rejection(call())).code).toBe('LAKEBASE_CONFIG_INVALID');
      expect(recorded.urls).toEqual([]);
    });
  }

  it('the REST client itself refuses dot segments, empty segments and encoded slashes (defence in depth)', async () => {
    const recorded = recordingFetch();
    const api = new LakebaseApi(
      { host: emulator.databricksHost, getToken: async () => emulator.databricksToken },
      { fetch: recorded.fetch },
    );
    const unchecked = api as unknown as {
      getEndpoint(name: string): Promise<unknown>;
      getInstance(name: string): Promise<unknown>;
      listEndpoints(name: string): Promise<unknown>;
    };
    for (const call of [
      () => unchecked.getEndpoint('projects/p/branches/../../../preview/scim/v2/Me'),
      () => unchecked.getInstance('..'),
      () => unchecked.listEndpoints('projects/p/branches//'),
      () => unchecked.getEndpoint('projects/p/branches/b/endpoints/%2F..'),
    ]) {
      expect((await rejection(call())).code).toBe('LAKEBASE_CONFIG_INVALID');
    }
    expect(recorded.urls).toEqual([]);
  });
});

describe('a workspace that answers path-shaped names (stub on loopback)', () => {
  let server: TestServer;
  afterEach(async () => {
    await server?.stop();
  });

  const api = () =>
    new LakebaseApi({ host: server.url, getToken: async () => 'dapi-test-token' }, { fetch: globalThis.fetch });

  it('an operation named projects/p/branches/../../x is not polled', async () => {
    server = await new TestServer()
      .route('DELETE /api/2.0/postgres/projects/p/branches/dev', () => ({
        body: { name: 'projects/p/branches/../../../database/instances/victim', done: false },
      }))
      .start();
    const error = await rejection(deleteBranch(api(), 'projects/p', 'dev', { wait: { pollMs: 1 } }));
    expect(error.code).toBe('LAKEBASE_API_ERROR');
    expect(error.details).toMatchObject({ reason: 'invalid-resource-name' });
    expect(server.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'DELETE /api/2.0/postgres/projects/p/branches/dev',
    ]);
  });

  it('a branch whose parent is path-shaped is not reset: nothing is deleted', async () => {
    server = await new TestServer()
      .route('GET /api/2.0/postgres/projects/p/branches/dev', () => ({
        body: {
          name: 'projects/p/branches/dev',
          status: { current_state: 'READY', source_branch: 'projects/p/branches/../../../database/instances/victim' },
        },
      }))
      .start();
    const error = await rejection(resetBranch(api(), 'projects/p', 'dev', { wait: { pollMs: 1 } }));
    expect(error.code).toBe('LAKEBASE_API_ERROR');
    expect(server.requests.map((r) => r.method)).toEqual(['GET']);
  });

  it('a listed branch named outside its project fails the list instead of being handed on', async () => {
    server = await new TestServer()
      .route('GET /api/2.0/postgres/projects/p/branches', () => ({
        body: { branches: [{ name: 'projects/p/branches/ok' }, { name: 'projects/p/branches/x/../../../preview' }] },
      }))
      .start();
    const error = await rejection(listBranches(api(), 'projects/p'));
    expect(error).toMatchObject({ code: 'LAKEBASE_API_ERROR', details: { reason: 'invalid-resource-name' } });
  });

  it('an endpoint named outside its branch is not fetched', async () => {
    server = await new TestServer()
      .route('POST /api/2.0/postgres/projects/p/branches', () => ({
        body: {
          name: 'projects/p/branches/dev/operations/op-1',
          done: true,
          response: { name: 'projects/p/branches/dev' },
        },
      }))
      .route('GET /api/2.0/postgres/projects/p/branches/dev/endpoints', () => ({
        body: {
          endpoints: [
            {
              name: 'projects/p/branches/dev/endpoints/../../../../../preview/scim/v2/Me',
              status: { endpoint_type: 'ENDPOINT_TYPE_READ_WRITE', current_state: 'INIT' },
            },
          ],
        },
      }))
      .start();
    const error = await rejection(createBranch(api(), 'projects/p', 'dev', { wait: { pollMs: 1 } }));
    expect(error.code).toBe('LAKEBASE_API_ERROR');
    expect(error.details).toMatchObject({ reason: 'invalid-resource-name' });
    expect(server.requests.some((r) => r.path.includes('scim'))).toBe(false);
    expect(server.requests.some((r) => r.path.includes('..'))).toBe(false);
  });
});
