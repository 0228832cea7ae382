import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectDatabase, type DatabaseConnection } from '../server/lakebase.js';
import { readServerSettings, serverEnvironment } from '../server/settings.js';
import { TEST_DATABASE_URL } from './helpers.js';
import { assertBuilt, type SpawnedServer, spawnServer } from './spawn-server.js';

/**
 * One order for every setting of the app: `.env`, then `.env.local`, then the process environment, each over the one
 * before; explicit values (the factory's arguments) over all. Every directory here is a fresh temporary one, given as
 * INIT_CWD, so the developer's own `.env.local` never reaches a test.
 */
const dirs: string[] = [];
async function projectDir(files: { '.env.local'?: string; '.env'?: string }): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'lakebase-app-env-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) await writeFile(path.join(dir, name), text);
  return dir;
}
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

interface Health {
  database: { pool?: { max: number }; userPools?: { maxConnections: number } };
}

describe('the started server (node app/dist/server/main.js) reads its settings after the env files', () => {
  const servers: SpawnedServer[] = [];
  beforeAll(() => assertBuilt());
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => server.stop()));
  });

  async function start(dir: string, env: Record<string, string> = {}) {
    const server = await spawnServer({ INIT_CWD: dir, ...env });
    servers.push(server);
    const health = (await (await fetch(`${server.url}/api/health`)).json()) as Health;
    const me = (await (await fetch(`${server.url}/api/me`)).json()) as { email: string };
    return { health, me };
  }

  it('a setting only in .env.local takes effect: LAKEBASE_CONNECT_AS, DEV_USER_EMAIL, DB_POOL_SIZE, LAKEBASE_USER_POOL_MAX', async () => {
    const dir = await projectDir({
      '.env.local': [
        `LAKEBASE_PG_URL=${TEST_DATABASE_URL}`,
        'LAKEBASE_CONNECT_AS=user',
        'DEV_USER_EMAIL=local@example.com',
        'DB_POOL_SIZE=1',
        'DB_MAX_OVERFLOW=2',
        'LAKEBASE_USER_POOL_MAX=3',
        'LAKEBASE_USER_POOLS_MAX_USERS=4',
      ].join('\n'),
    });
    const { health, me } = await start(dir);
    expect(me.email).toBe('local@example.com');
    expect(health.database.pool?.max).toBe(3);
    expect(health.database.userPools?.maxConnections).toBe(12); // per-user mode, 4 users x 3
  });

  it('the environment beats .env.local, which beats .env', async () => {
    const dir = await projectDir({
      '.env': [
        `LAKEBASE_PG_URL=${TEST_DATABASE_URL}`,
        'LAKEBASE_CONNECT_AS=app',
        'DEV_USER_EMAIL=env-file@example.com',
        'DB_POOL_SIZE=7',
        'DB_MAX_OVERFLOW=7',
      ].join('\n'),
      '.env.local': ['LAKEBASE_CONNECT_AS=user', 'DEV_USER_EMAIL=local@example.com', 'DB_POOL_SIZE=1'].join('\n'),
    });
    // .env.local over .env: per-user mode and its dev user, DB_POOL_SIZE 1 (+ .env's overflow 7).
    const layered = await start(dir);
    expect(layered.me.email).toBe('local@example.com');
    expect(layered.health.database.userPools).toBeDefined();
    expect(layered.health.database.pool?.max).toBe(8);
    await Promise.all(servers.splice(0).map((server) => server.stop()));

    // The environment over both; an empty variable is unset, so it does not hide the files' value.
    const overridden = await start(dir, {
      LAKEBASE_CONNECT_AS: 'app',
      DEV_USER_EMAIL: 'shell@example.com',
      DB_MAX_OVERFLOW: '',
    });
    expect(overridden.me.email).toBe('shell@example.com');
    expect(overridden.health.database.userPools).toBeUndefined();
    expect(overridden.health.database.pool?.max).toBe(8);
  });

  /** How a start fails: its output; a server that started after all is stopped, and the test fails on 'started'. */
  async function startFailure(env: Record<string, string>): Promise<string> {
    try {
      servers.push(await spawnServer(env));
      return 'started';
    } catch (error) {
      return (error as Error).message;
    }
  }

  it('a bad value only in .env.local is read too: the start fails naming it', async () => {
    const connectAs = await projectDir({ '.env.local': 'LAKEBASE_CONNECT_AS=everyone\nLAKEBASE_EMULATOR=off\n' });
    expect(await startFailure({ INIT_CWD: connectAs })).toMatch(/LAKEBASE_CONNECT_AS/);
    const fallback = await projectDir({
      '.env.local': `LAKEBASE_PG_URL=${TEST_DATABASE_URL}\nLAKEBASE_READ_FALLBACK=sometimes\n`,
    });
    expect(await startFailure({ INIT_CWD: fallback })).toMatch(/LAKEBASE_READ_FALLBACK/);
    const port = await projectDir({ '.env.local': 'PORT=0x10\nLAKEBASE_EMULATOR=off\n' });
    // spawnServer sets PORT=0 in the environment, which wins; emptied (unset), .env.local's PORT is read.
    expect(await startFailure({ INIT_CWD: port, PORT: '' })).toMatch(/PORT must be a whole number/);
  });
});

describe('serverEnvironment: the one merge the server starts from', () => {
  it('outside production: the environment over .env.local over .env; blank variables are unset at every level', async () => {
    const dir = await projectDir({
      '.env': 'A=env\nB=env\nC=env\nD=env\n',
      '.env.local': 'A=local\nB=local\nC=\n',
    });
    const env = await serverEnvironment({ INIT_CWD: dir, A: 'shell', B: ' ' });
    expect(env).toMatchObject({ A: 'shell', B: 'local', C: 'env', D: 'env' });
  });

  it('a file cannot say the app runs on Databricks Apps: DATABRICKS_APP_PORT / _NAME come from the environment only', async () => {
    const dir = await projectDir({ '.env.local': 'DATABRICKS_APP_PORT=8001\nDATABRICKS_APP_NAME=fake\nPORT=3001\n' });
    const settings = readServerSettings(await serverEnvironment({ INIT_CWD: dir }));
    expect(settings).toMatchObject({ host: '127.0.0.1', port: 3001, databricksApps: false, production: false });
  });

  it('deployed (NODE_ENV=production or DATABRICKS_APP_NAME in the environment): no env files at all', async () => {
    const dir = await projectDir({ '.env.local': 'LAKEBASE_CONNECT_AS=user\n' });
    for (const deployed of [{ NODE_ENV: 'production' }, { DATABRICKS_APP_NAME: 'my-app' }]) {
      const env = await serverEnvironment({ INIT_CWD: dir, ...deployed });
      expect(env.LAKEBASE_CONNECT_AS).toBeUndefined();
      expect(readServerSettings(env).connectAs).toBe('app');
    }
  });
});

describe('the embedded emulator path keeps the settings of the environment', () => {
  let connection: DatabaseConnection | undefined;
  afterAll(async () => {
    await connection?.close();
  });

  it('DB_POOL_SIZE / DB_MAX_OVERFLOW from .env.local size the pool on the emulator, and explicit settings win', async () => {
    const dir = await projectDir({ '.env.local': 'DB_POOL_SIZE=1\nDB_MAX_OVERFLOW=1\nLAKEBASE_USER_POOL_MAX=3\n' });
    const env = await serverEnvironment({ INIT_CWD: dir, LAKEBASE_EMULATOR_DIR: path.join(dir, 'emulator') });
    // Explicit: the caller's settings object (connectAs given here) beats what the environment says.
    const settings = { ...readServerSettings(env), connectAs: 'user' as const };
    connection = await connectDatabase(settings, env, { warn() {} });
    expect(connection.emulator).toBeDefined();
    if (!connection.database.configured) throw new Error('expected a configured database');
    expect(connection.pool?.options.max).toBe(2);
    expect(connection.database.userPools?.settings.maxConnectionsPerUser).toBe(3);
  }, 120_000);
});
