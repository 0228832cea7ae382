import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_DATABASE_URL } from './helpers.js';
import { assertBuilt, type SpawnedServer, spawnServer } from './spawn-server.js';

/** The real start path (`node app/dist/server/main.js`), twice at once, on a database of its own. */
describe('two servers started together with MIGRATE_ON_START=true', () => {
  const database = `app_start_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Pool({ connectionString: TEST_DATABASE_URL, max: 1 });
  const servers: SpawnedServer[] = [];

  beforeAll(async () => {
    assertBuilt();
    await admin.query(`CREATE DATABASE ${database}`);
  });
  afterAll(async () => {
    await Promise.all(servers.map((server) => server.stop()));
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.end();
  });

  it('apply each migration once and both serve', async () => {
    const url = new URL(TEST_DATABASE_URL);
    url.pathname = `/${database}`;
    // Static URL mode of the client: any PostgreSQL, the same code path as a Lakebase pool.
    const env = { LAKEBASE_PG_URL: url.toString(), MIGRATE_ON_START: 'true' };
    servers.push(...(await Promise.all([spawnServer(env), spawnServer(env)])));

    const check = new pg.Client({ connectionString: url.toString() });
    await check.connect();
    try {
      const { rows } = await check.query('SELECT name, count(*)::int AS runs FROM pgmigrations GROUP BY name');
      expect(rows.length).toBeGreaterThan(0);
      expect(rows.every((row) => row.runs === 1)).toBe(true);
    } finally {
      await check.end();
    }
    const logs = servers.map((server) => server.output());
    expect(logs.filter((log) => log.includes('"msg":"applied migrations"'))).toHaveLength(1);
    expect(logs.filter((log) => log.includes('"msg":"migrations up to date"'))).toHaveLength(1);

    for (const server of servers) {
      const health = await (await fetch(`${server.url}/api/health`)).json();
      expect(health).toMatchObject({ status: 'ok', database: { info: { tier: 'static' } } });
    }
  });
});

describe('production mode without Lakebase', () => {
  it('starts without the emulator and answers preferences with 503 LAKEBASE_NOT_CONFIGURED', async () => {
    assertBuilt();
    const server = await spawnServer({ NODE_ENV: 'production' });
    try {
      const response = await fetch(`${server.url}/api/preferences`, {
        headers: { 'x-forwarded-email': 'a@example.com' },
      });
      expect(response.status).toBe(503);
      expect(await response.json()).toMatchObject({ detail: { error_code: 'LAKEBASE_NOT_CONFIGURED' } });
      expect((await fetch(`${server.url}/api/preferences`)).status).toBe(401);
      expect(server.output()).not.toContain('emulator');
    } finally {
      await server.stop();
    }
  });
});

describe('started as Databricks Apps starts it (DATABRICKS_APP_PORT) but without NODE_ENV=production', () => {
  it('binds beyond loopback and refuses requests without X-Forwarded-Email instead of serving the dev user', async () => {
    assertBuilt();
    const server = await spawnServer({ DATABRICKS_APP_PORT: '0', LAKEBASE_EMULATOR: 'off' });
    try {
      const port = new URL(server.url).port;
      const anonymous = await fetch(`http://127.0.0.1:${port}/api/me`);
      expect(anonymous.status).toBe(401);
      expect(await anonymous.json()).toMatchObject({ detail: { error_code: 'UNAUTHENTICATED' } });
      const proxied = await fetch(`http://127.0.0.1:${port}/api/me`, { headers: { 'x-forwarded-email': 'a@x.dev' } });
      expect(await proxied.json()).toEqual({ email: 'a@x.dev', source: 'proxy' });
    } finally {
      await server.stop();
    }
  });
});
