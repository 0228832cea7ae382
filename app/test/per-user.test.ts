import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { applyMigrations, grantToGroup } from '@lakebase-kit/client';
import { type Emulator, startEmulator } from '@lakebase-kit/emulator';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../server/app.js';
import type { ErrorBody } from '../server/errors.js';
import { connectDatabase, type DatabaseConnection } from '../server/lakebase.js';
import { readServerSettings } from '../server/settings.js';
import { MIGRATIONS_DIR } from './helpers.js';

const quiet = { warn() {} };
const GROUP = 'lakebase_app_users';

/**
 * The app in per-user mode (LAKEBASE_CONNECT_AS=user) against the emulator, over real HTTP: every request carries the
 * user's token as the Apps proxy forwards it, runs on that user's own PostgreSQL role, and row-level security keeps
 * each user to their rows, even for SQL the app did not write.
 */
describe('per-user mode against the emulator', () => {
  let emulator: Emulator;
  let connection: DatabaseConnection;
  let app: FastifyInstance;
  let url: string;
  const users = ['ann@example.com', 'ben@example.com', 'cy@example.com'];
  const tokens = new Map<string, string>();

  beforeAll(async () => {
    emulator = await startEmulator({ apiPort: 0, pgPort: 0, onNotice: () => {} });
    for (const user of users) tokens.set(user, (await emulator.workspace.issueUserToken(user)).access_token);
    const settings = { ...readServerSettings({ LAKEBASE_CONNECT_AS: 'user' }), production: true };
    expect(settings.connectAs).toBe('user');
    connection = await connectDatabase(settings, emulator.env('autoscaling'), quiet);
    if (!connection.pool) throw new Error('expected a configured pool');
    // The app's identity owns the table (it runs the migrations) and sets up the group role its users belong to.
    await applyMigrations(connection.pool, { dir: MIGRATIONS_DIR });
    const client = await connection.pool.connect();
    try {
      const setup = await grantToGroup(client, { group: GROUP, members: users });
      expect(setup).toMatchObject({ createdGroup: true, added: users });
      const again = await grantToGroup(client, { group: GROUP, members: users });
      expect(again).toMatchObject({ createdGroup: false, added: [], alreadyMembers: users });
    } finally {
      client.release();
    }
    app = await buildApp({ database: connection.database, production: true, logger: false });
    url = await app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await app?.close();
    await connection?.close();
    await emulator?.stop();
  });

  function call(user: string, method: string, key = '', value?: unknown, token = tokens.get(user)): Promise<Response> {
    return fetch(`${url}/api/preferences${key ? `/${key}` : ''}`, {
      method,
      headers: {
        'x-forwarded-email': user,
        ...(token ? { 'x-forwarded-access-token': token } : {}),
        ...(value === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: value === undefined ? undefined : JSON.stringify({ value }),
    });
  }

  it('each user sees only their own rows through the API', async () => {
    for (const user of users) {
      const name = user.split('@')[0] as string;
      expect((await call(user, 'PUT', `${name}-theme`, { dark: true })).status).toBe(201);
      expect((await call(user, 'PUT', `${name}-lang`, 'en')).status).toBe(201);
    }
    for (const user of users) {
      const name = user.split('@')[0] as string;
      const body = (await (await call(user, 'GET')).json()) as { preferences: { key: string }[] };
      expect(body.preferences.map((p) => p.key)).toEqual([`${name}-lang`, `${name}-theme`]);
    }
    // Another user's key is simply not there for ben.
    expect((await call('ben@example.com', 'GET', 'ann-theme')).status).toBe(404);
    expect((await call('ben@example.com', 'DELETE', 'ann-theme')).status).toBe(404);
  });

  it("a raw SELECT * on ann's connection returns only ann's rows; the database refuses rows in another name", async () => {
    const pools = connection.database.configured ? connection.database.userPools : undefined;
    if (!pools) throw new Error('expected per-user pools');
    const rows = await pools.withUser(tokens.get('ann@example.com') as string, async (pool, identity) => {
      expect(identity).toBe('ann@example.com');
      return (await pool.query<{ user_email: string }>('SELECT * FROM user_preferences')).rows;
    });
    expect(rows).toHaveLength(2);
    expect(new Set(rows.map((r) => r.user_email))).toEqual(new Set(['ann@example.com']));
    const forged = await pools.withUser(tokens.get('ann@example.com') as string, (pool) =>
      pool.query(`INSERT INTO user_preferences (user_email, key, value) VALUES ('ben@example.com', 'x', '1')`).then(
        () => 'inserted',
        (error: { code?: string }) => error.code,
      ),
    );
    expect(forged).toBe('42501');
    // The migration history is the owner's: the group role was not granted it.
    const history = await pools.withUser(tokens.get('ann@example.com') as string, (pool) =>
      pool.query('SELECT * FROM pgmigrations').then(
        () => 'read',
        (error: { code?: string }) => error.code,
      ),
    );
    expect(history).toBe('42501');
    // The owner (the app's identity, service-principal mode) is not held by the policy and sees all six.
    const all = await connection.pool?.query<{ n: number }>('SELECT count(*)::int AS n FROM user_preferences');
    expect(all?.rows[0]?.n).toBe(6);
  });

  it('a user token without the postgres scope gets 403 in the app error shape', async () => {
    const dee = 'dee@example.com';
    const token = (await emulator.workspace.issueUserToken(dee, { scopes: ['sql'] })).access_token;
    const response = await call(dee, 'GET', '', undefined, token);
    expect(response.status).toBe(403);
    const body = (await response.json()) as ErrorBody;
    expect(body.detail.error_code).toBe('LAKEBASE_PERMISSION_DENIED');
    expect(body.detail.message).toMatch(/postgres. scope/);
    expect(body.detail.technical_details.suggestion).toMatch(/user_api_scopes: \[postgres\]/);
    expect(JSON.stringify(body)).not.toContain(token);
  });

  it('a user with no PostgreSQL role gets the coded error saying how to create one', async () => {
    const eve = 'eve@example.com';
    const token = (await emulator.workspace.issueUserToken(eve, { role: false })).access_token;
    const response = await call(eve, 'GET', '', undefined, token);
    expect(response.status).toBe(403);
    const body = (await response.json()) as ErrorBody;
    expect(body.detail.error_code).toBe('LAKEBASE_ROLE_NOT_FOUND');
    expect(body.detail.message).toContain(eve);
    expect(body.detail.technical_details.suggestion).toContain(`databricks_create_role('${eve}', 'USER')`);
    expect(body.detail.technical_details.suggestion).toMatch(/identity_type.*USER/);
    expect(JSON.stringify(body)).not.toContain(token);
  });

  it("/api/health reports the users' pools against their bound", async () => {
    const health = (await (await fetch(`${url}/api/health`)).json()) as {
      database: { userPools?: { users: number; maxConnections: number; connections: number } };
    };
    expect(health.database.userPools).toMatchObject({ users: 3, maxConnections: 100 });
    expect(health.database.userPools?.connections).toBeLessThanOrEqual(6);
  });

  it('no token is a 401, and a token of another user than X-Forwarded-Email is a 403', async () => {
    const missing = await call('ann@example.com', 'GET', '', undefined, '');
    expect(missing.status).toBe(401);
    expect(((await missing.json()) as ErrorBody).detail.error_code).toBe('USER_TOKEN_MISSING');
    const swapped = await call('ann@example.com', 'GET', '', undefined, tokens.get('ben@example.com'));
    expect(swapped.status).toBe(403);
    expect(((await swapped.json()) as ErrorBody).detail.error_code).toBe('IDENTITY_MISMATCH');
  });
});

describe('per-user mode on the embedded emulator (npm start with LAKEBASE_CONNECT_AS=user)', () => {
  let dataDir: string;
  let connection: DatabaseConnection;
  let app: FastifyInstance;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'lakebase-app-per-user-'));
    const settings = readServerSettings({ LAKEBASE_CONNECT_AS: 'user', LAKEBASE_EMULATOR_DIR: dataDir });
    connection = await connectDatabase(settings, {}, quiet);
    if (!connection.pool || !connection.emulator) throw new Error('expected the embedded emulator');
    await applyMigrations(connection.pool, { dir: MIGRATIONS_DIR });
    app = await buildApp({ database: connection.database, logger: false });
  });
  afterAll(async () => {
    await app?.close();
    await connection?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('the emulator plays the proxy: each local user, with no token sent, runs as their own role', async () => {
    const as = (email?: string) => (email ? { 'x-forwarded-email': email } : {});
    for (const email of [undefined, 'zoe@example.com']) {
      const put = await app.inject({
        method: 'PUT',
        url: '/api/preferences/theme',
        headers: as(email),
        payload: { value: email ?? 'dev' },
      });
      expect(put.statusCode).toBe(201);
    }
    const dev = (await app.inject({ url: '/api/preferences', headers: as() })).json() as {
      preferences: { value: string }[];
    };
    expect(dev.preferences.map((p) => p.value)).toEqual(['dev']);
    const zoe = (await app.inject({ url: '/api/preferences', headers: as('zoe@example.com') })).json() as {
      preferences: { value: string }[];
    };
    expect(zoe.preferences.map((p) => p.value)).toEqual(['zoe@example.com']);
    const pools = connection.database.configured ? connection.database.userPools : undefined;
    expect(pools?.stats()).toMatchObject({ users: 2, credentialRequests: 2 });
  });
});
