/** Read-only endpoints and pooled hosts end to end: REST status.hosts, read-only sessions, the pooler's refusals. */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type Emulator, startEmulator } from '../src/index.js';
import { connectFrontDoor, frontDoorConfig } from './clients.js';

let emu: Emulator;
let token: string;
const table = `ro_test_${process.pid}_${Math.floor(Math.random() * 1e6)}`;

async function api(method: string, path: string, body?: unknown) {
  const res = await fetch(`${emu.databricksHost}${path}`, {
    method,
    headers: { Authorization: `Bearer ${emu.databricksToken}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  // biome-ignore lint/suspicious/noExplicitAny: REST JSON, checked by the assertions
  return (await res.json()) as Record<string, any>;
}

const client = (host: string, extra: pg.ClientConfig = {}) =>
  connectFrontDoor(frontDoorConfig(emu, { password: token, host }, extra));

const branch = () => emu.endpoint.replace(/\/endpoints\/[^/]+$/, '');

beforeAll(async () => {
  emu = await startEmulator({ apiPort: 0, pgPort: 0 });
  token = (await api('POST', '/api/2.0/postgres/credentials', { endpoint: emu.endpoint })).token;
  const primary = await client(emu.pgHost);
  await primary.query(`create table ${table} (id int)`);
  await primary.query(`insert into ${table} values (1)`);
  await primary.end();
});
afterAll(async () => {
  const primary = await client(emu.pgHost).catch(() => undefined);
  await primary?.query(`drop table if exists ${table}`);
  await primary?.end();
  await emu?.stop();
});

async function primaryHosts() {
  return (await api('GET', `/api/2.0/postgres/${emu.endpoint}`)).status.hosts as Record<string, string>;
}

describe('read-only endpoints (emulator)', () => {
  it('a READ_ONLY endpoint created through the API adds read_only_host to the branch; its sessions read the same data and refuse writes with 25006', async () => {
    const before = await primaryHosts();
    expect(before.read_write_pooled_host).toMatch(/-pooler\.database\.localhost$/);
    expect(before.read_only_host).toBeUndefined();

    const created = await api('POST', `/api/2.0/postgres/${branch()}/endpoints?endpoint_id=replica`, {
      spec: { endpoint_type: 'ENDPOINT_TYPE_READ_ONLY' },
    });
    // Until the create operation reports done (100 ms in the emulator), polled, bounded.
    await vi.waitFor(async () => expect((await api('GET', `/api/2.0/postgres/${created.name}`)).done).toBe(true), {
      timeout: 5000,
      interval: 20,
    });
    const replica = await api('GET', `/api/2.0/postgres/${branch()}/endpoints/replica`);
    expect(replica.status.endpoint_type).toBe('ENDPOINT_TYPE_READ_ONLY');
    expect(replica.status.hosts.read_only_host).toBe(replica.status.hosts.host);
    const hosts = await primaryHosts();
    expect(hosts.read_only_host).toMatch(/-ro\.database\.localhost$/);
    expect(hosts.read_only_pooled_host).toMatch(/-ro-pooler\.database\.localhost$/);

    // One token (minted for the read-write endpoint) logs in to both read-only hosts.
    for (const host of [hosts.read_only_host as string, replica.status.hosts.host as string]) {
      const ro = await client(host);
      expect((await ro.query(`select id from ${table}`)).rows).toEqual([{ id: 1 }]);
      const setting = await ro.query(`select current_setting('transaction_read_only') as ro`);
      expect(setting.rows).toEqual([{ ro: 'on' }]);
      await expect(ro.query(`insert into ${table} values (2)`)).rejects.toMatchObject({ code: '25006' });
      await ro.end();
    }
  });

  it.each([
    'set default_transaction_read_only = off',
    'set session characteristics as transaction read write',
    'begin read /* sneaky */ write',
    'reset default_transaction_read_only',
    'set local "transaction_read_only" to off',
    "select set_config('default_' || 'transaction_read_only', 'off', false)",
  ])('a read-only session cannot be turned read-write: %s', async (sql) => {
    // The read-only host is a hot standby, as on Lakebase: PostgreSQL refuses what would make a transaction
    // read-write (0A000 during recovery, 25001 after the first query) and accepts the session defaults, which change
    // nothing: the session still cannot write.
    const ro = await client((await primaryHosts()).read_only_host as string);
    try {
      const refused = await ro.query(sql).then(
        () => undefined,
        (error: { code?: string }) => error.code,
      );
      if (refused !== undefined) expect(refused).toMatch(/^(0A000|25001|25006)$/);
      await ro.query('rollback');
      expect((await ro.query(`select current_setting('transaction_read_only') as ro`)).rows).toEqual([{ ro: 'on' }]);
      await expect(ro.query(`insert into ${table} values (2)`)).rejects.toMatchObject({ code: '25006' });
    } finally {
      await ro.end().catch(() => {});
    }
  });

  it('dynamic SQL that flips the setting leaves the session unable to write', async () => {
    const ro = await client((await primaryHosts()).read_only_host as string);
    await ro
      .query(`do $$ begin execute 'set default_transaction' || '_read_only = off'; end $$`)
      .catch(() => undefined);
    await expect(ro.query(`insert into ${table} values (3)`)).rejects.toThrow();
    const primary = await client(emu.pgHost);
    expect((await primary.query(`select count(*)::int as n from ${table}`)).rows[0].n).toBe(1);
    await primary.end();
  });

  it('deleting the replica removes read_only_host, and that host then refuses logins', async () => {
    const hosts = await primaryHosts();
    await api('DELETE', `/api/2.0/postgres/${branch()}/endpoints/replica`);
    expect((await primaryHosts()).read_only_host).toBeUndefined();
    await expect(client(hosts.read_only_host as string)).rejects.toMatchObject({ code: '28P01' });
  });

  it('the pooled host refuses startup parameters PgBouncer does not track (08P01) and accepts the rest', async () => {
    const pooled = (await primaryHosts()).read_write_pooled_host as string;
    await expect(client(pooled, { options: '-c search_path=public' })).rejects.toMatchObject({
      code: '08P01',
      message: 'unsupported startup parameter: options',
    });
    const ok = await client(pooled, { application_name: 'pooled-test' });
    expect((await ok.query('select 1 as one')).rows).toEqual([{ one: 1 }]);
    await ok.end();
  });
});

describe('read-only endpoints on --upstream storage', () => {
  it('are refused at login with 0A000: one read-write server cannot make a session read-only by itself', async () => {
    const upstream = await startEmulator({
      apiPort: 0,
      pgPort: 0,
      upstream: 'postgresql://postgres@127.0.0.1:5432/test',
    });
    try {
      const call = (method: string, path: string, body?: unknown) =>
        fetch(`${upstream.databricksHost}/api/2.0/postgres/${path}`, {
          method,
          headers: { Authorization: `Bearer ${upstream.databricksToken}`, 'Content-Type': 'application/json' },
          body: body === undefined ? undefined : JSON.stringify(body),
        }).then((res) => res.json() as Promise<Record<string, unknown>>);
      const path = upstream.endpoint.replace(/\/endpoints\/[^/]+$/, '');
      const created = await call('POST', `${path}/endpoints?endpoint_id=replica`, {
        spec: { endpoint_type: 'ENDPOINT_TYPE_READ_ONLY' },
      });
      // Until the create operation reports done (100 ms in the emulator), polled, bounded.
      await vi.waitFor(async () => expect((await call('GET', created.name as string)).done).toBe(true), {
        timeout: 5000,
        interval: 20,
      });
      const replica = (await call('GET', `${path}/endpoints/replica`)) as { status: { hosts: { host: string } } };
      const { token: ro } = (await call('POST', 'credentials', { endpoint: upstream.endpoint })) as { token: string };
      await expect(
        connectFrontDoor(frontDoorConfig(upstream, { password: ro, host: replica.status.hosts.host })),
      ).rejects.toMatchObject({ code: '0A000' });
    } finally {
      await upstream.stop();
    }
  });
});
