import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../src/index.js';
import { connectFrontDoor, frontDoorConfig } from './clients.js';

const UPSTREAM = 'postgresql://postgres@127.0.0.1:5432/test';

/**
 * Per-user access as an app in Databricks Apps sees it: a user token (as the proxy forwards it) mints a database
 * credential only with the `postgres` scope, a user logs in only once they have a role (roles API of either tier, or
 * `databricks_create_role`), and row-level security keyed on `current_user` is enforced by the storage itself.
 */
describe.each([
  { storage: 'postgres' as const, upstream: undefined },
  { storage: 'upstream' as const, upstream: UPSTREAM },
  { storage: 'pglite' as const, upstream: undefined },
])('per-user access on $storage storage', ({ storage, upstream }) => {
  let emulator: Emulator;
  const id = `${process.pid}-${Math.floor(Math.random() * 1e6)}`;
  const table = `pu_notes_${id.replace('-', '_')}`;
  const alice = `alice-${id}@example.com`;
  const bob = `bob-${id}@example.com`;

  beforeAll(async () => {
    emulator = await startEmulator({
      ...(upstream ? { upstream } : { storage: storage as 'postgres' | 'pglite' }),
      onNotice: () => {},
    });
  });
  afterAll(async () => {
    if (upstream && emulator) {
      const admin = new pg.Client({ connectionString: upstream });
      await admin.connect();
      await admin.query(`DROP TABLE IF EXISTS ${table}`);
      for (const role of [
        alice,
        bob,
        `carol-${id}@example.com`,
        `dave-${id}@example.com`,
        `noscope-${id}@example.com`,
        `fay-${id}@example.com`,
        `gus-${id}@example.com`,
      ]) {
        await admin.query(`DROP OWNED BY "${role}"`).catch(() => {});
        await admin.query(`DROP ROLE IF EXISTS "${role}"`);
      }
      await admin.end();
    }
    await emulator?.stop();
  });

  async function admin(path: string, body: unknown): Promise<Response> {
    return fetch(`${emulator.databricksHost}/__emulator${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-lakebase-emulator': '1' },
      body: JSON.stringify(body),
    });
  }
  async function userToken(email: string, extra: { scopes?: string[]; role?: boolean } = {}): Promise<string> {
    const response = await admin('/users/token', { email, ...extra });
    expect(response.status).toBe(200);
    return ((await response.json()) as { access_token: string }).access_token;
  }
  async function api(path: string, token: string, body?: unknown): Promise<Response> {
    return fetch(`${emulator.databricksHost}/api/2.0${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }
  async function credential(token: string): Promise<string> {
    const response = await api('/postgres/credentials', token, { endpoint: emulator.endpoint });
    expect(response.status).toBe(200);
    return ((await response.json()) as { token: string }).token;
  }
  const connect = (user: string, password: string) => connectFrontDoor(frontDoorConfig(emulator, { user, password }));

  it('refuses a user token without the postgres scope with 403, on both credential APIs', async () => {
    const token = await userToken(`noscope-${id}@example.com`, { scopes: ['sql'] });
    for (const [path, body] of [
      ['/postgres/credentials', { endpoint: emulator.endpoint }],
      ['/database/credentials', { instance_names: [emulator.instanceName] }],
    ] as const) {
      const response = await api(path, token, body);
      expect(response.status).toBe(403);
      const json = (await response.json()) as { error_code: string; message: string };
      expect(json.error_code).toBe('PERMISSION_DENIED');
      expect(json.message).toMatch(/^Provided OAuth token does not have required scopes: postgres/);
    }
  });

  it("a revoked user token is refused by the API like an expired one; the user's other tokens keep working", async () => {
    const user = `gus-${id}@example.com`;
    const [revoked, kept] = [await userToken(user), await userToken(user)];
    await credential(revoked);
    const response = await admin('/users/token/revoke', { access_token: revoked });
    expect(response.status).toBe(200);
    const refused = await api('/postgres/credentials', revoked, { endpoint: emulator.endpoint });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { message: string }).message).toMatch(/^Invalid access token\./);
    expect((await api('/preview/scim/v2/Me', revoked)).status).toBe(403);
    await credential(kept);
    // Revoking again is a no-op; something that is not a token of this workspace is a 400 (and not echoed).
    expect((await admin('/users/token/revoke', { access_token: revoked })).status).toBe(200);
    const bad = await admin('/users/token/revoke', { access_token: 'not-a-token-secret-value' });
    expect(bad.status).toBe(400);
    expect(await bad.text()).not.toContain('not-a-token-secret-value');
  });

  it('mints a credential for the user from their token; a user without a role cannot log in until given one', async () => {
    const carol = `carol-${id}@example.com`;
    const token = await userToken(carol, { role: false });
    const password = await credential(token);
    const refused = await connect(carol, password).then(
      () => undefined,
      (error: { code?: string; message: string }) => error,
    );
    expect(refused?.code).toBe('28000');
    expect(refused?.message).toBe(`role "${carol}" does not exist`);

    // The Autoscaling roles API makes the role (and lists it); then the same credential logs in as carol.
    const [, p, , b] = emulator.endpoint.split('/');
    const created = await api(
      `/postgres/projects/${p}/branches/${b}/roles`,
      emulator.env().DATABRICKS_TOKEN as string,
      {
        spec: { postgres_role: carol, identity_type: 'USER', auth_method: 'LAKEBASE_OAUTH_V1' },
      },
    );
    expect(created.status).toBe(200);
    expect(((await created.json()) as { done: boolean }).done).toBe(true);
    const client = await connect(carol, password);
    expect((await client.query('SELECT current_user AS u')).rows[0].u).toBe(carol);
    await client.end();
    const listed = await api(`/postgres/projects/${p}/branches/${b}/roles`, emulator.env().DATABRICKS_TOKEN as string);
    const roles = ((await listed.json()) as { roles: { spec: { postgres_role: string; identity_type: string } }[] })
      .roles;
    expect(roles.find((r) => r.spec.postgres_role === carol)?.spec.identity_type).toBe('USER');
  });

  it('the Provisioned roles API makes a role too; creating it twice is a 400', async () => {
    const dave = `dave-${id}@example.com`;
    const token = await userToken(dave, { role: false });
    const pat = emulator.env().DATABRICKS_TOKEN as string;
    const path = `/database/instances/${emulator.instanceName}/roles`;
    const first = await api(path, pat, { name: dave, identity_type: 'USER' });
    expect(first.status).toBe(200);
    expect(((await first.json()) as { identity_type: string }).identity_type).toBe('USER');
    expect((await api(path, pat, { name: dave, identity_type: 'USER' })).status).toBe(400);
    const response = await api('/database/credentials', token, { instance_names: [emulator.instanceName] });
    const client = await connect(dave, ((await response.json()) as { token: string }).token);
    expect((await client.query('SELECT session_user AS u')).rows[0].u).toBe(dave);
    await client.end();
  });

  it('roles APIs: get and list by either tier, unknown is 404, delete stops new logins', async () => {
    const fay = `fay-${id}@example.com`;
    const token = await userToken(fay);
    const pat = emulator.env().DATABRICKS_TOKEN as string;
    const [, p, , b] = emulator.endpoint.split('/');
    const got = await api(`/postgres/projects/${p}/branches/${b}/roles/${encodeURIComponent(fay)}`, pat);
    expect(got.status).toBe(200);
    expect(((await got.json()) as { status: { postgres_role: string } }).status.postgres_role).toBe(fay);
    const listed = await api(`/database/instances/${emulator.instanceName}/roles`, pat);
    const names = ((await listed.json()) as { database_instance_roles: { name: string }[] }).database_instance_roles;
    expect(names.map((r) => r.name)).toEqual(expect.arrayContaining([fay, emulator.user]));
    expect((await api(`/database/instances/${emulator.instanceName}/roles/nobody-${id}`, pat)).status).toBe(404);

    const password = await credential(token);
    await (await connect(fay, password)).end();
    const removed = await fetch(
      `${emulator.databricksHost}/api/2.0/database/instances/${emulator.instanceName}/roles/${encodeURIComponent(fay)}`,
      {
        method: 'DELETE',
        headers: { authorization: `Bearer ${pat}` },
      },
    );
    expect(removed.status).toBe(200);
    // The PostgreSQL role stays with what it owns, but the workspace no longer lets fay in.
    const refused = await connect(fay, password).then(
      () => undefined,
      (error: { code?: string }) => error.code,
    );
    expect(refused).toBe('28000');
  });

  it('enforces row-level security keyed on current_user: each user reads and writes only their rows', async () => {
    const aliceToken = await userToken(alice);
    const bobToken = await userToken(bob);
    const owner = await connect(emulator.user, await credential(emulator.env().DATABRICKS_TOKEN as string));
    await owner.query(`CREATE TABLE ${table} (owner text NOT NULL DEFAULT current_user, body text)`);
    await owner.query(`ALTER TABLE ${table} ENABLE ROW LEVEL SECURITY`);
    await owner.query(
      `CREATE POLICY own_rows ON ${table} USING (owner = current_user) WITH CHECK (owner = current_user)`,
    );
    await owner.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ${table} TO "${alice}", "${bob}"`);
    const a = await connect(alice, await credential(aliceToken));
    const b = await connect(bob, await credential(bobToken));
    await a.query(`INSERT INTO ${table} (body) VALUES ('a1'), ('a2')`);
    await b.query(`INSERT INTO ${table} (body) VALUES ('b1')`);
    expect((await a.query(`SELECT body FROM ${table} ORDER BY body`)).rows.map((r) => r.body)).toEqual(['a1', 'a2']);
    expect((await b.query(`SELECT body FROM ${table}`)).rows.map((r) => r.body)).toEqual(['b1']);
    // Bob can neither change Alice's rows nor write a row in her name.
    expect((await b.query(`UPDATE ${table} SET body = 'x' WHERE body = 'a1'`)).rowCount).toBe(0);
    const forged = await b.query(`INSERT INTO ${table} (owner, body) VALUES ($1, 'forged')`, [alice]).then(
      () => undefined,
      (error: { code?: string }) => error.code,
    );
    expect(forged).toBe('42501');
    // The owner (the app's service principal in per-user deployments) is not subject to its own table's policies.
    expect((await owner.query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n).toBe(3);
    await a.end();
    await b.end();
    await owner.end();
  });

  it.skipIf(storage === 'pglite')('databricks_create_role in SQL makes a role the user can log in with', async () => {
    const erin = `erin-${id}@example.com`;
    const token = await userToken(erin, { role: false });
    const owner = await connect(emulator.user, await credential(emulator.env().DATABRICKS_TOKEN as string));
    await owner.query(`SELECT databricks_create_role($1, 'USER')`, [erin]);
    await owner.end();
    const client = await connect(erin, await credential(token));
    expect((await client.query('SELECT current_user AS u')).rows[0].u).toBe(erin);
    await client.end();
    if (upstream) {
      const cleanup = new pg.Client({ connectionString: upstream });
      await cleanup.connect();
      await cleanup.query(`DROP OWNED BY "${erin}"`);
      await cleanup.query(`DROP ROLE "${erin}"`);
      await cleanup.end();
    }
  });
});
