import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../src/index.js';
import { connectFrontDoor, frontDoorConfig } from '../clients.js';

/**
 * Branches as a client sees them, on the embedded PostgreSQL and on PGlite: each branch is a real copy of its parent's
 * data made at creation, reached at its own endpoint host (SNI) with a token minted for that endpoint.
 */
// biome-ignore lint/suspicious/noExplicitAny: REST responses of many shapes, read field by field
type Json = Record<string, any>;

/** A pg client at `host` (branch hosts are routed by SNI on the one front door) with a token for `endpoint`. */
async function connectAt(emulator: Emulator, endpoint: string, host: string): Promise<pg.Client> {
  const { token } = await emulator.workspace.mintDatabaseToken(emulator.user, [{ kind: 'endpoint', name: endpoint }]);
  // Branch hosts are *.database.localhost: connect to loopback and name the host in SNI, as DNS would route it.
  return connectFrontDoor(frontDoorConfig(emulator, { password: token, host }));
}

const UPSTREAM_ADMIN = 'postgresql://postgres@127.0.0.1:5432';

describe.each(['postgres', 'pglite', 'upstream'] as const)('branches on %s storage', (storage) => {
  let emulator: Emulator;
  /** On upstream: a database of this test's own as the default one (branch copies end connections to it). */
  const upstreamDb = `branches_${process.pid}_${Math.floor(Math.random() * 1e6)}`;
  let clockOffset = 0;
  const project = 'lakebase-emulator';
  const table = `items_${process.pid}`;

  beforeAll(async () => {
    const now = () => Date.now() + clockOffset;
    if (storage === 'upstream') {
      await admin(`create database ${upstreamDb}`);
      emulator = await startEmulator({ upstream: `${UPSTREAM_ADMIN}/${upstreamDb}`, now });
    } else emulator = await startEmulator({ storage, onNotice: () => {}, now });
    await query('production', `create table ${table} (v text); insert into ${table} values ('from production')`);
  });
  afterAll(async () => {
    const branches =
      storage === 'upstream' ? ((await api('GET', `projects/${project}/branches`)).json.branches ?? []) : [];
    await emulator?.stop();
    if (storage !== 'upstream') return;
    const keys = branches.map((b: { uid: string }) => `%@${b.uid.slice(0, 8)}`);
    const { rows } = await admin(`select datname from pg_database where datname like any($1::text[])`, [keys]);
    for (const { datname } of rows) await admin(`drop database if exists "${datname}" with (force)`);
    await admin(`drop database if exists ${upstreamDb} with (force)`);
  });

  async function admin(sql: string, params: unknown[] = []) {
    const client = new pg.Client({ connectionString: `${UPSTREAM_ADMIN}/postgres` });
    await client.connect();
    try {
      return await client.query(sql, params);
    } finally {
      await client.end();
    }
  }

  async function api(method: string, path: string, body?: unknown) {
    const response = await fetch(`${emulator.databricksHost}/api/2.0/postgres/${path}`, {
      method,
      headers: { authorization: `Bearer ${emulator.databricksToken}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, json: (await response.json()) as Json };
  }
  /** Polls an Operation until done (bounded), returning every state seen. */
  async function finish(operation: Json): Promise<Json> {
    let op = operation;
    for (let i = 0; i < 200 && !op.done; i++) {
      await new Promise((r) => setTimeout(r, 25));
      op = (await api('GET', op.name)).json;
    }
    expect(op.done).toBe(true);
    return op;
  }
  /** Creates a branch and its read-write endpoint; returns the endpoint's name and host. */
  async function branch(id: string, spec: Record<string, unknown> = {}, query = '') {
    const created = await api('POST', `projects/${project}/branches?branch_id=${id}${query}`, { spec });
    expect(created.status).toBe(200);
    expect(created.json.done).toBe(false); // long-running: the copy is still going
    const done = await finish(created.json);
    expect(done.error).toBeUndefined();
    const endpoint = await api('POST', `projects/${project}/branches/${id}/endpoints?endpoint_id=primary`, {
      spec: { endpoint_type: 'ENDPOINT_TYPE_READ_WRITE' },
    });
    return (await finish(endpoint.json)).response as { name: string; status: { hosts: { host: string } } };
  }
  async function endpointOf(branchId: string) {
    if (branchId === 'production') return { name: emulator.endpoint, host: emulator.pgHost };
    const e = (await api('GET', `projects/${project}/branches/${branchId}/endpoints/primary`)).json;
    return { name: e.name as string, host: e.status.hosts.host as string };
  }
  async function connect(branchId: string, tokenFor = branchId): Promise<pg.Client> {
    return connectAt(emulator, (await endpointOf(tokenFor)).name, (await endpointOf(branchId)).host);
  }
  async function query(branchId: string, sql: string): Promise<string[]> {
    const client = await connect(branchId);
    try {
      const results = await client.query(sql);
      const last = Array.isArray(results) ? results.at(-1) : results;
      return (last?.rows ?? []).map((r: { v: string }) => r.v);
    } finally {
      await client.end();
    }
  }
  const rows = (branchId: string) => query(branchId, `select v from ${table} order by v`);

  it('a branch starts as a copy of production and is independent of it', async () => {
    const dev = await branch('dev');
    expect(dev.status.hosts.host).toMatch(/\.database\.localhost$/);
    expect(await rows('dev')).toEqual(['from production']);
    await query('dev', `insert into ${table} values ('only on dev')`);
    await query('production', `insert into ${table} values ('only on production')`);
    expect(await rows('dev')).toEqual(['from production', 'only on dev']);
    expect(await rows('production')).toEqual(['from production', 'only on production']);
  });

  it('a branch of a branch copies that branch', async () => {
    await branch('dev-child', { source_branch: `projects/${project}/branches/dev` });
    expect(await rows('dev-child')).toEqual(['from production', 'only on dev']);
  });

  it('replace_existing resets a branch to its parent current data', async () => {
    await query('dev-child', `insert into ${table} values ('scratch')`);
    await query('dev', `insert into ${table} values ('dev later')`);
    await branch('dev-child', { source_branch: `projects/${project}/branches/dev` }, '&replace_existing=true');
    expect(await rows('dev-child')).toEqual(['dev later', 'from production', 'only on dev']);
  });

  it('a token for one branch endpoint is refused on another', async () => {
    await expect(connect('production', 'dev')).rejects.toMatchObject({ code: '28P01' });
    await expect(connect('dev', 'production')).rejects.toMatchObject({ code: '28P01' });
  });

  it('protected and default branches refuse deletion; allow_missing deletes nothing quietly', async () => {
    await branch('keep', { is_protected: true });
    const refused = await api('DELETE', `projects/${project}/branches/keep`);
    expect(refused).toMatchObject({
      status: 400,
      json: { error_code: 'BAD_REQUEST', message: 'cannot delete protected branch' },
    });
    expect((await api('DELETE', `projects/${project}/branches/production`)).status).toBe(400);
    const unprotect = await api('PATCH', `projects/${project}/branches/keep?update_mask=spec.is_protected`, {
      spec: { is_protected: false },
    });
    expect((await finish(unprotect.json)).response.status.is_protected).toBe(false);
    expect((await finish((await api('DELETE', `projects/${project}/branches/keep`)).json)).done).toBe(true);
    expect((await api('DELETE', `projects/${project}/branches/keep`)).status).toBe(404);
    const quiet = await api('DELETE', `projects/${project}/branches/keep?allow_missing=true`);
    expect(quiet.status).toBe(200);
  });

  it('a TTL expires a branch with its endpoint', async () => {
    await branch('short', { ttl: '60s' });
    const listed = await api('GET', `projects/${project}/branches/short`);
    expect(Date.parse(listed.json.status.expire_time) - Date.now()).toBeGreaterThan(50_000);
    clockOffset += 61_000;
    try {
      expect((await api('GET', `projects/${project}/branches/short`)).status).toBe(404);
      const ids = (await api('GET', `projects/${project}/branches`)).json.branches.map((b: Json) => b.branch_id);
      expect(ids).not.toContain('short');
      expect((await api('GET', `projects/${project}/branches/short/endpoints/primary`)).status).toBe(404);
    } finally {
      clockOffset -= 61_000;
    }
  });

  it('refuses a point in time or LSN it cannot honour, and an unknown parent', async () => {
    const at = await api('POST', `projects/${project}/branches?branch_id=past`, {
      spec: { source_branch_time: '2020-01-01T00:00:00Z' },
    });
    expect(at.status).toBe(400);
    expect(at.json.message).toContain('point in time');
    const lsn = await api('POST', `projects/${project}/branches?branch_id=past`, {
      spec: { source_branch_lsn: '0/16B3748' },
    });
    expect(lsn.status).toBe(400);
    const orphan = await api('POST', `projects/${project}/branches?branch_id=orphan`, {
      spec: { source_branch: `projects/${project}/branches/ghost` },
    });
    expect(orphan.status).toBe(404);
  });
});

describe('branch state across a restart', () => {
  it('keeps branches, their endpoints, their protection and their data', async () => {
    const { mkdtemp, rm } = await import('node:fs/promises');
    const os = await import('node:os');
    const path = await import('node:path');
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'branch-restart-'));
    let emulator = await startEmulator({ dataDir, onNotice: () => {} });
    const call = async (method: string, resource: string, body?: unknown): Promise<Json> => {
      const response = await fetch(`${emulator.databricksHost}/api/2.0/postgres/${resource}`, {
        method,
        headers: { authorization: `Bearer ${emulator.databricksToken}`, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return (await response.json()) as Json;
    };
    const finish = async (first: Json): Promise<Json> => {
      let op = first;
      for (let i = 0; i < 200 && !op.done; i++) {
        await new Promise((r) => setTimeout(r, 25));
        op = await call('GET', op.name);
      }
      expect(op.done).toBe(true);
      return op;
    };
    const onBranch = async (sql: string): Promise<unknown[]> => {
      const endpoint = await call('GET', 'projects/lakebase-emulator/branches/kept/endpoints/primary');
      const client = await connectAt(emulator, endpoint.name, endpoint.status.hosts.host);
      try {
        const result = await client.query(sql);
        return (Array.isArray(result) ? result.at(-1) : result)?.rows ?? [];
      } finally {
        await client.end();
      }
    };
    try {
      await finish(
        await call('POST', 'projects/lakebase-emulator/branches?branch_id=kept', { spec: { is_protected: true } }),
      );
      await finish(
        await call('POST', 'projects/lakebase-emulator/branches/kept/endpoints?endpoint_id=primary', {
          spec: { endpoint_type: 'ENDPOINT_TYPE_READ_WRITE' },
        }),
      );
      await onBranch(`create table kept_rows (v text); insert into kept_rows values ('survives')`);
      await emulator.stop();
      emulator = await startEmulator({ dataDir, onNotice: () => {} });
      expect(await call('GET', 'projects/lakebase-emulator/branches/kept')).toMatchObject({
        status: { current_state: 'READY', is_protected: true },
      });
      expect(await onBranch('select v from kept_rows')).toEqual([{ v: 'survives' }]);
    } finally {
      await emulator.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
