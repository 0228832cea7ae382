import { describe, expect, it } from 'vitest';
import { startWorkspace } from './helpers.js';

const BASE = '/api/2.0/database/instances';

describe('Provisioned instances', () => {
  it('serves the default instance AVAILABLE at pgHost with the defaults of a real GET', async () => {
    const f = await startWorkspace({ pgHost: 'pg.test' });
    const api = f.as(f.ws.user.pat);
    const response = await api('GET', `${BASE}/lakebase-emulator`);
    expect(response.status).toBe(200);
    expect(response.json).toEqual({
      name: 'lakebase-emulator',
      uid: expect.stringMatching(/^[0-9a-f-]{36}$/),
      capacity: 'CU_1',
      effective_capacity: 'CU_1',
      state: 'AVAILABLE',
      pg_version: 'PG_VERSION_16',
      read_write_dns: 'pg.test',
      creator: 'dev@example.com',
      creation_time: '2026-01-01T00:00:00.000Z',
      effective_enable_pg_native_login: false,
      effective_enable_readable_secondaries: false,
      effective_node_count: 1,
      effective_retention_window_in_days: 7,
      effective_stopped: false,
    });
  });

  it('creates an instance STARTING that becomes AVAILABLE after instanceStartMs (injected clock)', async () => {
    const f = await startWorkspace({ instanceStartMs: 2000 });
    const api = f.as(f.ws.user.pat);
    const created = await api('POST', BASE, { name: 'orders-db', capacity: 'CU_2' });
    expect(created.status).toBe(200);
    expect(created.json).toMatchObject({
      name: 'orders-db',
      state: 'STARTING',
      capacity: 'CU_2',
      creator: 'dev@example.com',
    });
    expect(created.json.read_write_dns).toBe(`instance-${created.json.uid}.database.localhost`);

    f.clock.advance(1999);
    expect((await api('GET', `${BASE}/orders-db`)).json.state).toBe('STARTING');
    f.clock.advance(1);
    expect((await api('GET', `${BASE}/orders-db`)).json.state).toBe('AVAILABLE');

    const byUid = await api('GET', `${BASE}:findByUid?uid=${created.json.uid}`);
    expect(byUid.json.name).toBe('orders-db');
  });

  it('validates create: required name, DNS-label names, capacity, duplicates', async () => {
    const f = await startWorkspace();
    const api = f.as(f.ws.user.pat);
    const missing = await api('POST', BASE, { capacity: 'CU_1' });
    expect(missing.status).toBe(400);
    expect(missing.json).toEqual({
      error_code: 'INVALID_PARAMETER_VALUE',
      message: `Field 'name' is required, expected non-default value (not "")!`,
    });

    const underscore = await api('POST', BASE, { name: 'my_instance' });
    expect(underscore.status).toBe(400);
    expect(underscore.json.error_code).toBe('INVALID_PARAMETER_VALUE');
    expect(underscore.json.message).toContain('DNS label');
    expect(underscore.json.message).toContain('^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$');
    for (const name of ['Upper', '-lead', 'trail-', 'x'.repeat(64)]) {
      expect((await api('POST', BASE, { name })).status).toBe(400);
    }

    const capacity = await api('POST', BASE, { name: 'ok', capacity: 'CU_3' });
    expect(capacity.status).toBe(400);
    expect(capacity.json.error_code).toBe('INVALID_PARAMETER_VALUE');

    const wrongType = await api('POST', BASE, { name: 'ok', stopped: 'yes' });
    expect(wrongType.status).toBe(400);
    expect(wrongType.json.error_code).toBe('INVALID_PARAMETER_VALUE');

    const duplicate = await api('POST', BASE, { name: 'lakebase-emulator' });
    expect(duplicate.status).toBe(409);
    expect(duplicate.json).toEqual({
      error_code: 'RESOURCE_ALREADY_EXISTS',
      message: "Database instance 'lakebase-emulator' already exists.",
    });
  });

  it('answers an unknown instance with 404 RESOURCE_DOES_NOT_EXIST', async () => {
    const f = await startWorkspace();
    const response = await f.as(f.ws.user.pat)('GET', `${BASE}/nope`);
    expect(response.status).toBe(404);
    expect(response.json).toEqual({
      error_code: 'RESOURCE_DOES_NOT_EXIST',
      message: "Database instance 'nope' does not exist.",
    });
  });

  it('lists in pages of at most page_size with an opaque token, omitted on the last page', async () => {
    const f = await startWorkspace();
    const api = f.as(f.ws.user.pat);
    for (const name of ['db-a', 'db-b', 'db-c', 'db-d']) await api('POST', BASE, { name });

    const names: string[] = [];
    const tokens: Array<string | undefined> = [];
    let token: string | undefined;
    do {
      const query = `?page_size=2${token ? `&page_token=${encodeURIComponent(token)}` : ''}`;
      const page = await api('GET', `${BASE}${query}`);
      expect(page.status).toBe(200);
      expect(page.json.database_instances.length).toBeLessThanOrEqual(2);
      names.push(...page.json.database_instances.map((i: { name: string }) => i.name));
      token = page.json.next_page_token;
      tokens.push(token);
      if (token === undefined) expect(Object.keys(page.json)).toEqual(['database_instances']);
    } while (token);
    expect(names).toEqual(['db-a', 'db-b', 'db-c', 'db-d', 'lakebase-emulator']);
    expect(tokens).toHaveLength(3);

    const all = await api('GET', `${BASE}?page_size=1000`);
    expect(all.json.database_instances).toHaveLength(5);
    expect(all.json.next_page_token).toBeUndefined();

    const badToken = await api('GET', `${BASE}?page_token=garbage`);
    expect(badToken.status).toBe(400);
    expect(badToken.json.error_code).toBe('INVALID_PARAMETER_VALUE');
  });

  it('updates capacity and stopped via update_mask; a restart goes STARTING -> AVAILABLE', async () => {
    const f = await startWorkspace({ instanceStartMs: 1000 });
    const api = f.as(f.ws.user.pat);
    const url = `${BASE}/lakebase-emulator`;

    const resized = await api('PATCH', `${url}?update_mask=capacity`, { capacity: 'CU_4', stopped: true });
    expect(resized.json).toMatchObject({ capacity: 'CU_4', effective_capacity: 'CU_4', state: 'AVAILABLE' });

    const stopped = await api('PATCH', `${url}?update_mask=stopped`, { stopped: true });
    expect(stopped.json).toMatchObject({ state: 'STOPPED', effective_stopped: true });

    const restarted = await api('PATCH', `${url}?update_mask=stopped`, { stopped: false });
    expect(restarted.json.state).toBe('STARTING');
    f.clock.advance(1000);
    expect((await api('GET', url)).json.state).toBe('AVAILABLE');

    const all = await api('PATCH', `${url}?update_mask=*`, { node_count: 2, retention_window_in_days: 14 });
    expect(all.json).toMatchObject({ effective_node_count: 2, effective_retention_window_in_days: 14 });

    const noMask = await api('PATCH', url, { capacity: 'CU_2' });
    expect(noMask.status).toBe(400);
    expect(noMask.json.message).toBe(`Field 'update_mask' is required, expected non-default value (not "")!`);
    const badPath = await api('PATCH', `${url}?update_mask=uid`, { uid: 'x' });
    expect(badPath.status).toBe(400);
    const badRetention = await api('PATCH', `${url}?update_mask=retention_window_in_days`, {
      retention_window_in_days: 1,
    });
    expect(badRetention.status).toBe(400);
  });

  it('deletes; purge=false is a 400', async () => {
    const f = await startWorkspace();
    const api = f.as(f.ws.user.pat);
    await api('POST', BASE, { name: 'doomed' });
    const soft = await api('DELETE', `${BASE}/doomed?purge=false`);
    expect(soft.status).toBe(400);
    expect(soft.json.error_code).toBe('INVALID_PARAMETER_VALUE');
    expect(soft.json.message).toContain('purge=false');

    // SDKs may send Content-Type: application/json with no body on DELETE.
    const deleted = await f.call('DELETE', `${BASE}/doomed?purge=true`, {
      token: f.ws.user.pat,
      headers: { 'content-type': 'application/json' },
    });
    expect(deleted.status).toBe(200);
    expect(deleted.json).toEqual({});
    expect((await api('GET', `${BASE}/doomed`)).status).toBe(404);
    expect((await api('DELETE', `${BASE}/doomed`)).status).toBe(404);
  });

  it('pins a forced state until changed again', async () => {
    const f = await startWorkspace();
    const api = f.as(f.ws.user.pat);
    const url = `${BASE}/lakebase-emulator`;
    f.ws.setInstanceState('lakebase-emulator', 'STARTING');
    f.clock.advance(3_600_000);
    expect((await api('GET', url)).json.state).toBe('STARTING');
    f.ws.setInstanceState('lakebase-emulator', 'STOPPED');
    expect((await api('GET', url)).json).toMatchObject({ state: 'STOPPED', effective_stopped: true });
    f.ws.setInstanceState('lakebase-emulator', 'AVAILABLE');
    expect((await api('GET', url)).json.state).toBe('AVAILABLE');
    expect(() => f.ws.setInstanceState('nope', 'AVAILABLE')).toThrow(/nope/);
  });
});
