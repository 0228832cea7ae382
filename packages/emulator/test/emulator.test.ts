import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../src/index.js';
import { frontDoorConfig } from './clients.js';

/** The assembled emulator over real sockets: REST-minted tokens, the TLS front door, PGlite storage, one clock. */
describe('startEmulator end to end', () => {
  let emulator: Emulator;
  let now = Date.now();

  beforeAll(async () => {
    emulator = await startEmulator({ now: () => now, instanceStartMs: 0 });
  });
  afterAll(async () => {
    await emulator?.stop();
  });

  async function api<T>(method: string, path: string, bearer: string, body?: unknown): Promise<T> {
    const response = await fetch(`${emulator.databricksHost}${path}`, {
      method,
      headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = (await response.json()) as T;
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(json)}`);
    return json;
  }

  const mintForInstance = (bearer: string, instance = emulator.instanceName) =>
    api<{ token: string; expiration_time: string }>('POST', '/api/2.0/database/credentials', bearer, {
      request_id: crypto.randomUUID(),
      instance_names: [instance],
    });

  const clientConfig = (user: string, password: string, overrides: Partial<pg.ClientConfig> = {}) =>
    frontDoorConfig(emulator, { user, password }, overrides);

  async function currentUser(config: pg.ClientConfig): Promise<string> {
    const client = new pg.Client(config);
    await client.connect();
    try {
      const { rows } = await client.query<{ current_user: string }>('select current_user');
      return rows[0]?.current_user ?? '';
    } finally {
      await client.end();
    }
  }

  async function loginError(config: pg.ClientConfig): Promise<{ code?: string; message: string }> {
    const client = new pg.Client(config);
    client.on('error', () => {}); // the server closes after a FATAL; the connect() rejection is what we assert
    try {
      await client.connect();
    } catch (error) {
      return error as { code?: string; message: string };
    } finally {
      await client.end().catch(() => {});
    }
    throw new Error('login was expected to be refused');
  }

  it('mints a token over HTTP with the PAT and logs in over verified TLS as the Databricks identity', async () => {
    const { token, expiration_time } = await mintForInstance(emulator.databricksToken);
    expect(Date.parse(expiration_time) - now).toBeGreaterThan(3590_000);
    expect(await currentUser(clientConfig(emulator.user, token))).toBe(emulator.user);
  });

  it('refuses an expired token, another user token, a garbage password, an unknown role and a non-TLS startup', async () => {
    const { token } = await mintForInstance(emulator.databricksToken);
    const other = emulator.workspace.addUser('other@example.com');
    const { token: otherUsersToken } = await mintForInstance(other.pat);

    expect(await loginError(clientConfig(emulator.user, otherUsersToken))).toMatchObject({
      code: '28P01',
      message: `password authentication failed for user "${emulator.user}"`,
    });
    expect(await loginError(clientConfig(emulator.user, 'not-a-token'))).toMatchObject({ code: '28P01' });
    expect(await loginError(clientConfig('token', token))).toMatchObject({
      code: '28000',
      message: 'role "token" does not exist',
    });
    const noTls = await loginError(clientConfig(emulator.user, token, { ssl: false }));
    expect(noTls.code).toBe('28000');
    expect(noTls.message).toContain('no encryption');

    const saved = now;
    now += 3601_000; // one second past the token's expiry
    try {
      expect(await loginError(clientConfig(emulator.user, token))).toMatchObject({ code: '28P01' });
    } finally {
      now = saved;
    }
  });

  it('keeps an open session past its token expiry; only new logins are refused', async () => {
    const { token } = await mintForInstance(emulator.databricksToken);
    const session = new pg.Client(clientConfig(emulator.user, token));
    await session.connect();
    const saved = now;
    now += 7200_000;
    try {
      const { rows } = await session.query<{ one: number }>('select 1 as one');
      expect(rows[0]?.one).toBe(1);
      expect(await loginError(clientConfig(emulator.user, token))).toMatchObject({ code: '28P01' });
    } finally {
      now = saved;
      await session.end();
    }
  });

  it('refuses a token minted for another instance, and serves that instance at its own host name', async () => {
    const created = await api<{ name: string; uid: string }>(
      'POST',
      '/api/2.0/database/instances',
      emulator.databricksToken,
      {
        name: 'second-instance',
        capacity: 'CU_1',
      },
    );
    const instance = await api<{ state: string; read_write_dns: string }>(
      'GET',
      `/api/2.0/database/instances/${created.name}`,
      emulator.databricksToken,
    );
    expect(instance.state).toBe('AVAILABLE');
    expect(instance.read_write_dns).toBe(`instance-${created.uid}.database.localhost`);
    const { token } = await mintForInstance(emulator.databricksToken, created.name);

    expect(await loginError(clientConfig(emulator.user, token))).toMatchObject({ code: '28P01' });
    // Connect to loopback but name the instance's host for SNI and certificate checks (libpq: hostaddr + host).
    const viaSni = frontDoorConfig(emulator, { password: token, host: instance.read_write_dns });
    expect(await currentUser(viaSni)).toBe(emulator.user);
  });

  it('runs the OAuth M2M flow for the service principal, and Autoscaling credentials for the endpoint', async () => {
    const basic = Buffer.from(`${emulator.clientId}:${emulator.clientSecret}`).toString('base64');
    const discovery = (await fetch(`${emulator.databricksHost}/oidc/.well-known/oauth-authorization-server`).then((r) =>
      r.json(),
    )) as { token_endpoint: string };
    const tokenResponse = await fetch(discovery.token_endpoint, {
      method: 'POST',
      headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials&scope=all-apis',
    });
    expect(tokenResponse.status).toBe(200);
    const { access_token } = (await tokenResponse.json()) as { access_token: string };
    const me = await api<{ userName: string }>('GET', '/api/2.0/preview/scim/v2/Me', access_token);
    expect(me.userName).toBe(emulator.clientId);

    const credential = await api<{ token: string; expire_time: string }>(
      'POST',
      '/api/2.0/postgres/credentials',
      access_token,
      { endpoint: emulator.endpoint },
    );
    expect(await currentUser(clientConfig(emulator.clientId, credential.token))).toBe(emulator.clientId);
  });

  it('refuses logins while the instance is STOPPED and counts what happened', async () => {
    const { token } = await mintForInstance(emulator.databricksToken);
    emulator.workspace.setInstanceState(emulator.instanceName, 'STOPPED');
    try {
      expect(await loginError(clientConfig(emulator.user, token))).toMatchObject({ code: '57P03' });
    } finally {
      emulator.workspace.setInstanceState(emulator.instanceName, 'AVAILABLE');
    }
    const stats = emulator.stats();
    // Exact: the tests above run in order and each mint and login is accounted for.
    expect(stats.credentialRequests).toMatchObject({ provisioned: 6, autoscaling: 1, total: 7, failedByInjection: 0 });
    expect(stats.logins).toMatchObject({ succeeded: 4, refused: 7, attempted: 11 });
    expect(stats.frontDoor.refusedNoTls).toBe(1);
    const overHttp = (await fetch(`${emulator.databricksHost}/__emulator/stats`, {
      headers: { 'x-lakebase-emulator': '1' },
    }).then((r) => r.json())) as {
      logins: { succeeded: number };
    };
    expect(overHttp.logins.succeeded).toBe(stats.logins.succeeded);
  });

  it('refuses to bind a non-loopback address unless asked', async () => {
    await expect(startEmulator({ host: '0.0.0.0' })).rejects.toMatchObject({ code: 'EMULATOR_NON_LOOPBACK_BIND' });
  });
});

describe('startEmulator storage checks', () => {
  it('fails at start, naming the data dir, when the PGlite data is damaged', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'lakebase-emulator-damaged-'));
    try {
      await (await startEmulator({ dataDir, storage: 'pglite' })).stop();
      // What a kill in the middle of a flush can leave behind: a control file that is not one.
      await writeFile(
        path.join(dataDir, 'pglite', 'databricks_postgres', 'global', 'pg_control'),
        'not a control file',
      );
      const failure = startEmulator({ dataDir, storage: 'pglite' });
      await expect(failure).rejects.toMatchObject({ code: 'EMULATOR_STORAGE_UNREADABLE' });
      await expect(failure).rejects.toHaveProperty('suggestion', expect.stringContaining(path.join(dataDir, 'pglite')));
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('fails at start when the upstream PostgreSQL cannot be reached', async () => {
    const failure = startEmulator({ upstream: 'postgresql://postgres:secret-pw@127.0.0.1:1/test' });
    await expect(failure).rejects.toMatchObject({ code: 'EMULATOR_UPSTREAM_UNREACHABLE' });
    await expect(failure).rejects.not.toHaveProperty('message', expect.stringContaining('secret-pw'));
  });
});

describe('startEmulator data dir lock', () => {
  it('refuses a second emulator on the same data dir, and takes over a lock left by a dead process', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'lakebase-emulator-lock-'));
    try {
      const first = await startEmulator({ dataDir });
      try {
        await expect(startEmulator({ dataDir })).rejects.toMatchObject({ code: 'EMULATOR_DATA_DIR_IN_USE' });
      } finally {
        await first.stop();
      }
      // A pid that cannot be alive: the lock of an emulator that was killed without stopping.
      await writeFile(path.join(dataDir, 'emulator.pid'), '2147483646\n');
      const second = await startEmulator({ dataDir });
      expect(await readFile(path.join(dataDir, 'emulator.pid'), 'utf8')).toBe(`${process.pid}\n`);
      await second.stop();
      await expect(readFile(path.join(dataDir, 'emulator.pid'), 'utf8')).rejects.toMatchObject({ code: 'ENOENT' });
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
