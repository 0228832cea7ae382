import { describe, expect, it } from 'vitest';
import type { LoginRequest } from '../../src/contracts.js';
import { startWorkspace } from './helpers.js';

const DB = 'databricks_postgres';

describe('authorizeLogin', () => {
  async function setup(options = {}) {
    const f = await startWorkspace({ instanceStartMs: 1000, operationDelayMs: 0, ...options });
    const user = f.ws.user.userName;
    const instance = { kind: 'instance' as const, name: f.ws.instanceName };
    const endpoint = { kind: 'endpoint' as const, name: f.ws.endpointName };
    const login = (request: Partial<LoginRequest> & { password: string }) =>
      f.ws.authorizeLogin({ serverName: undefined, user, database: DB, ...request });
    return { f, user, instance, endpoint, login };
  }

  it('accepts a token for the default instance or endpoint at no SNI, pgHost or loopback', async () => {
    const { f, user, instance, endpoint, login } = await setup({ pgHost: 'pg.test' });
    const byInstance = (await f.ws.mintDatabaseToken(user, [instance])).token;
    const byEndpoint = (await f.ws.mintDatabaseToken(user, [endpoint])).token;
    for (const serverName of [undefined, 'pg.test', 'PG.TEST', '127.0.0.1', '::1']) {
      expect(await login({ serverName, password: byInstance })).toEqual({
        ok: true,
        role: user,
        database: DB,
        resource: instance,
      });
      expect(await login({ serverName, password: byEndpoint })).toEqual({
        ok: true,
        role: user,
        database: DB,
        resource: endpoint,
      });
    }
  });

  it('accepts a token minted over HTTP, for the service principal too', async () => {
    const { f, login } = await setup();
    const { clientId } = f.ws.servicePrincipal;
    const { token } = await f.ws.mintDatabaseToken(clientId, [{ kind: 'instance', name: f.ws.instanceName }]);
    expect(await login({ user: clientId, password: token })).toMatchObject({ ok: true, role: clientId });

    const minted = await f.as(f.ws.user.pat)('POST', '/api/2.0/postgres/credentials', { endpoint: f.ws.endpointName });
    expect(await login({ password: minted.json.token })).toMatchObject({ ok: true, resource: { kind: 'endpoint' } });
  });

  it('selects a created instance or endpoint by its own host (SNI)', async () => {
    const { f, user, login } = await setup();
    const api = f.as(f.ws.user.pat);
    const created = await api('POST', '/api/2.0/database/instances', { name: 'second' });
    const host = created.json.read_write_dns as string;
    const second = { kind: 'instance' as const, name: 'second' };
    const token = (await f.ws.mintDatabaseToken(user, [second])).token;

    const starting = await login({ serverName: host, password: token });
    expect(starting).toEqual({
      ok: false,
      sqlstate: '57P03',
      message: 'the database system is not accepting connections',
      detail: 'Database instance "second" is STARTING.',
    });
    f.clock.advance(1000);
    expect(await login({ serverName: host, password: token })).toMatchObject({ ok: true, resource: second });

    await api('POST', '/api/2.0/postgres/projects?project_id=other', {});
    const name = 'projects/other/branches/production/endpoints/primary';
    const endpoint = await api('GET', `/api/2.0/postgres/${name}`);
    const endpointToken = (await f.ws.mintDatabaseToken(user, [{ kind: 'endpoint', name }])).token;
    expect(await login({ serverName: endpoint.json.status.hosts.host, password: endpointToken })).toMatchObject({
      ok: true,
      resource: { kind: 'endpoint', name },
    });
  });

  it('refuses an unknown role with 28000 before anything else', async () => {
    const { login } = await setup();
    expect(await login({ user: 'ghost@example.com', database: 'nope', password: 'x' })).toEqual({
      ok: false,
      sqlstate: '28000',
      message: 'role "ghost@example.com" does not exist',
    });
  });

  it('refuses an unknown database with 3D000', async () => {
    const { login } = await setup({ databases: ['databricks_postgres', 'app'] });
    expect(await login({ database: 'nope', password: 'x' })).toEqual({
      ok: false,
      sqlstate: '3D000',
      message: 'database "nope" does not exist',
    });
    expect((await login({ database: 'app', password: 'x' })).ok).toBe(false);
  });

  it('asks storage only about names of the created-database grammar, and serves what it finds as such', async () => {
    const { f, user, endpoint, login } = await setup();
    const asked: [string, string | undefined][] = [];
    f.ws.attachDatabaseCatalog({
      createdDatabase: async (name, key) => {
        asked.push([name, key]);
        return name === 'shop' ? 'found' : 'missing';
      },
    });
    const { token } = await f.ws.mintDatabaseToken(user, [endpoint]);
    const refused = ['template1', 'postgres', `${DB}@abcd1234`, '"shop"', 'shop ', 'a'.repeat(64), 'x;y', 'ü'];
    for (const database of refused) {
      expect(await login({ database, password: token })).toMatchObject({ ok: false, sqlstate: '3D000' });
    }
    expect(asked).toEqual([]); // none of them reached storage
    expect(await login({ database: 'Shop', password: token })).toMatchObject({ ok: false, sqlstate: '3D000' });
    expect(await login({ database: 'shop', password: token })).toEqual({
      ok: true,
      role: user,
      database: 'shop',
      resource: endpoint,
      created: true,
    });
    expect(asked).toEqual([
      ['Shop', undefined],
      ['shop', undefined],
    ]);
  });

  it('refuses with 28P01 what is not an unexpired database token of this workspace', async () => {
    const { f, user, instance, login } = await setup();
    const refusal = { ok: false, sqlstate: '28P01', message: `password authentication failed for user "${user}"` };
    expect(await login({ password: 'not-a-token' })).toEqual(refusal);
    expect(await login({ password: f.ws.user.pat })).toEqual(refusal);

    const foreign = await startWorkspace();
    const foreignToken = (await foreign.ws.mintDatabaseToken(user, [instance])).token;
    expect(await login({ password: foreignToken })).toEqual(refusal);

    const oauth = await f.m2mToken();
    const { clientId } = f.ws.servicePrincipal;
    expect(await login({ user: clientId, password: oauth.json.access_token })).toMatchObject({ sqlstate: '28P01' });

    const { token, expiresAt } = await f.ws.mintDatabaseToken(user, [instance], 60);
    f.clock.advance(expiresAt.getTime() - f.clock.ms - 1);
    expect((await login({ password: token })).ok).toBe(true);
    f.clock.advance(1);
    expect(await login({ password: token })).toEqual(refusal);
  });

  it("refuses with 28P01 another identity's token", async () => {
    const { f, instance, login } = await setup();
    const other = f.ws.addUser('other@example.com');
    const token = (await f.ws.mintDatabaseToken(other.userName, [instance])).token;
    expect(await login({ password: token })).toMatchObject({ sqlstate: '28P01' });
    expect(await login({ user: other.userName, password: token })).toMatchObject({ ok: true, role: other.userName });
  });

  it('refuses with 28P01 a token for a resource not served at this server name', async () => {
    const { f, user, instance, login } = await setup();
    const created = await f.as(f.ws.user.pat)('POST', '/api/2.0/database/instances', { name: 'second' });
    f.clock.advance(1000);
    const secondToken = (await f.ws.mintDatabaseToken(user, [{ kind: 'instance', name: 'second' }])).token;
    const defaultToken = (await f.ws.mintDatabaseToken(user, [instance])).token;
    const noResources = (await f.ws.mintDatabaseToken(user, [])).token;
    expect(await login({ password: secondToken })).toMatchObject({ sqlstate: '28P01' });
    expect(await login({ serverName: created.json.read_write_dns, password: defaultToken })).toMatchObject({
      sqlstate: '28P01',
    });
    expect(await login({ serverName: 'elsewhere.example.com', password: defaultToken })).toMatchObject({
      sqlstate: '28P01',
    });
    expect(await login({ password: noResources })).toMatchObject({ sqlstate: '28P01' });
  });

  it('refuses with 57P03 a stopped or starting instance and a disabled endpoint', async () => {
    const { f, user, instance, endpoint, login } = await setup();
    const token = (await f.ws.mintDatabaseToken(user, [instance])).token;
    f.ws.setInstanceState(instance.name, 'STOPPED');
    expect(await login({ password: token })).toEqual({
      ok: false,
      sqlstate: '57P03',
      message: 'the database system is not accepting connections',
      detail: 'Database instance "lakebase-emulator" is STOPPED.',
    });
    f.ws.setInstanceState(instance.name, 'STARTING');
    expect(await login({ password: token })).toMatchObject({
      sqlstate: '57P03',
      detail: expect.stringContaining('STARTING'),
    });
    f.ws.setInstanceState(instance.name, 'AVAILABLE');
    expect((await login({ password: token })).ok).toBe(true);

    const endpointToken = (await f.ws.mintDatabaseToken(user, [endpoint])).token;
    f.ws.setInstanceState(endpoint.name, 'STOPPED');
    expect(await login({ password: endpointToken })).toMatchObject({
      sqlstate: '57P03',
      detail: expect.stringContaining('disabled'),
    });
  });

  it('counts attempts, successes and refusals', async () => {
    const { f, user, instance, login } = await setup();
    const token = (await f.ws.mintDatabaseToken(user, [instance])).token;
    await login({ password: token });
    await login({ password: token });
    await login({ password: 'bad' });
    expect(f.ws.stats().logins).toEqual({ attempted: 3, succeeded: 2, refused: 1, failedByInjection: 0 });
  });

  it('login faults: the next logins fail as a waking endpoint does, then the usual checks apply again', async () => {
    const { f, user, instance, login } = await setup();
    const token = (await f.ws.mintDatabaseToken(user, [instance])).token;
    f.ws.loginFaults.failNext(1);
    f.ws.loginFaults.failNext(1, 'starting');
    f.ws.loginFaults.failNext(1, 'reset');
    expect(await login({ password: token })).toEqual({
      ok: false,
      sqlstate: 'XX000',
      message: 'External authorization failed.',
    });
    expect(await login({ password: token })).toMatchObject({
      sqlstate: '57P03',
      message: 'the database system is starting up',
    });
    expect(await login({ password: token })).toMatchObject({ ok: false, disconnect: true });
    expect((await login({ password: token })).ok).toBe(true);
    expect(f.ws.stats().logins).toEqual({ attempted: 4, succeeded: 1, refused: 3, failedByInjection: 3 });
  });

  it('login faults for a time window follow the workspace clock; clear() and bad input', async () => {
    const { f, user, instance, login } = await setup();
    const token = (await f.ws.mintDatabaseToken(user, [instance])).token;
    f.ws.loginFaults.failFor(5000, 'starting');
    expect(await login({ password: token })).toMatchObject({ sqlstate: '57P03' });
    f.clock.advance(4999);
    expect(await login({ password: token })).toMatchObject({ sqlstate: '57P03' });
    f.clock.advance(1);
    expect((await login({ password: token })).ok).toBe(true);
    f.ws.loginFaults.failNext(5);
    f.ws.loginFaults.clear();
    expect((await login({ password: token })).ok).toBe(true);
    expect(() => f.ws.loginFaults.failNext(1, 'nope' as 'reset')).toThrow(RangeError);
    expect(() => f.ws.loginFaults.setDelay(-1)).toThrow(RangeError);
  });
});
