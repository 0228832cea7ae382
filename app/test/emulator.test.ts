import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { applyMigrations } from '@lakebase-kit/client';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../server/app.js';
import { connectDatabase, type DatabaseConnection } from '../server/lakebase.js';
import { readServerSettings } from '../server/settings.js';
import type { Health, Preference } from '../web/src/api.js';
import { MIGRATIONS_DIR } from './helpers.js';

const quiet = { warn() {} };

/** The local start path of main.ts, in-process: nothing configured -> embedded emulator -> client pool -> migrate. */
async function startServer(
  dataDir: string,
  tier = 'autoscaling',
): Promise<{ url: string; app: FastifyInstance; connection: DatabaseConnection }> {
  const settings = readServerSettings({ LAKEBASE_EMULATOR_DIR: dataDir, LAKEBASE_EMULATOR_TIER: tier });
  const connection = await connectDatabase(settings, {}, quiet);
  if (!connection.pool) throw new Error('expected the embedded emulator to be configured');
  await applyMigrations(connection.pool, { dir: MIGRATIONS_DIR });
  const app = await buildApp({ database: connection.database, logger: false });
  app.addHook('onClose', () => connection.close());
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return { url, app, connection };
}

function call(base: string, user: string, method: string, key = '', value?: unknown): Promise<Response> {
  return fetch(`${base}/api/preferences${key ? `/${key}` : ''}`, {
    method,
    headers: { 'x-forwarded-email': user, ...(value === undefined ? {} : { 'content-type': 'application/json' }) },
    body: value === undefined ? undefined : JSON.stringify({ value }),
  });
}

describe('over real HTTP, backed by the embedded emulator', () => {
  let dataDir: string;
  let server: Awaited<ReturnType<typeof startServer>> | undefined;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'lakebase-app-emulator-'));
    server = await startServer(dataDir);
  });
  afterAll(async () => {
    await server?.app.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('connects through the client to a Lakebase-shaped database with a token', async () => {
    const health = (await (await fetch(`${server?.url}/api/health`)).json()) as Health;
    expect(health).toMatchObject({
      status: 'ok',
      database: { configured: true, reachable: true, info: { emulator: true } },
    });
    expect(['autoscaling', 'provisioned']).toContain(health.database.info?.tier);
    expect(new Date(health.database.tokenExpiresAt ?? 0).getTime()).toBeGreaterThan(Date.now());
    expect(health.database.info?.user).toBeTruthy();
  });

  it('does CRUD per user and keeps users apart', async () => {
    const base = server?.url as string;
    expect((await call(base, 'alice@example.com', 'PUT', 'theme', 'dark')).status).toBe(201);
    expect((await call(base, 'bob@example.com', 'PUT', 'theme', 'light')).status).toBe(201);
    expect((await call(base, 'alice@example.com', 'PUT', 'theme', { mode: 'dark' })).status).toBe(200);

    const alice = (await (await call(base, 'alice@example.com', 'GET')).json()) as { preferences: Preference[] };
    const bob = (await (await call(base, 'bob@example.com', 'GET')).json()) as { preferences: Preference[] };
    expect(alice.preferences.map((p) => p.value)).toEqual([{ mode: 'dark' }]);
    expect(bob.preferences.map((p) => p.value)).toEqual(['light']);

    expect((await call(base, 'bob@example.com', 'DELETE', 'theme')).status).toBe(204);
    expect((await call(base, 'bob@example.com', 'GET', 'theme')).status).toBe(404);
    expect((await call(base, 'alice@example.com', 'GET', 'theme')).status).toBe(200);
  });

  it('keeps the data across a restart of server and emulator', async () => {
    expect((await call(server?.url as string, 'carol@example.com', 'PUT', 'lang', 'fr')).status).toBe(201);
    await server?.app.close();
    server = undefined;

    server = await startServer(dataDir);
    const read = await call(server.url, 'carol@example.com', 'GET', 'lang');
    expect(read.status).toBe(200);
    expect(((await read.json()) as Preference).value).toBe('fr');
    // The restart migrated nothing twice: the second start found the schema up to date.
    expect(
      await applyMigrations(server.connection.pool as NonNullable<DatabaseConnection['pool']>, { dir: MIGRATIONS_DIR }),
    ).toEqual([]);
  });
});

describe("the embedded emulator as a Provisioned instance (the original template's tier)", () => {
  it('connects by instance name and serves preferences', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'lakebase-app-provisioned-'));
    const server = await startServer(dataDir, 'provisioned');
    try {
      const health = (await (await fetch(`${server.url}/api/health`)).json()) as Health;
      expect(health.database.info).toMatchObject({ tier: 'provisioned', emulator: true });
      expect(health.database.info?.instanceName).toBeTruthy();
      expect((await call(server.url, 'dana@example.com', 'PUT', 'theme', 'dark')).status).toBe(201);
    } finally {
      await server.app.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
