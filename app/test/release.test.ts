import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_DATABASE_URL } from './helpers.js';
import { assertBuilt, type SpawnedServer, spawnServer } from './spawn-server.js';

const run = promisify(execFile);
const RELEASE_SCRIPT = fileURLToPath(new URL('../scripts/release.mjs', import.meta.url));

/**
 * What Databricks Apps does with the uploaded release, outside the monorepo: `npm install` from its lockfile, then
 * `npm run start` in production mode. If the release needed anything from the workspace (the client's sources, the
 * root tsconfig, a dev dependency), this fails.
 */
describe('npm run app:release', () => {
  const outside = path.join(os.tmpdir(), `lakebase-release-${randomBytes(4).toString('hex')}`);
  const database = `app_release_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Pool({ connectionString: TEST_DATABASE_URL, max: 1 });
  let server: SpawnedServer | undefined;

  beforeAll(async () => {
    assertBuilt();
    await admin.query(`CREATE DATABASE ${database}`);
  });
  afterAll(async () => {
    await server?.stop();
    await rm(outside, { recursive: true, force: true });
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.end();
  });

  it('stages a self-contained app that installs and serves on its own', async () => {
    await run(process.execPath, [RELEASE_SCRIPT, outside]);
    const manifest = JSON.parse(await readFile(path.join(outside, 'package.json'), 'utf8'));
    expect(manifest.scripts).toEqual({ start: 'exec node dist/server/main.js' });
    expect(manifest.dependencies['@lakebase-kit/client']).toMatch(/^file:vendor\/lakebase-kit-client-.*\.tgz$/);
    expect(Object.keys(manifest.dependencies)).not.toContain('@lakebase-kit/emulator');
    expect(manifest.devDependencies).toBeUndefined();
    // The versions the platform installs are the ones tested here.
    const [lock, rootLock] = await Promise.all(
      [outside, fileURLToPath(new URL('../..', import.meta.url))].map(async (dir) =>
        JSON.parse(await readFile(path.join(dir, 'package-lock.json'), 'utf8')),
      ),
    );
    for (const name of ['node_modules/fastify', 'node_modules/pg', 'node_modules/drizzle-orm']) {
      expect(lock.packages[name].version).toBe(rootLock.packages[name].version);
    }

    // As the platform does: install from the lockfile (npm's cache makes it quick), then start.
    await run('npm', ['ci', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: outside, timeout: 120_000 });
    const url = new URL(TEST_DATABASE_URL);
    url.pathname = `/${database}`;
    server = await spawnServer(
      { NODE_ENV: 'production', LAKEBASE_PG_URL: url.toString(), MIGRATE_ON_START: 'true' },
      { main: path.join(outside, 'dist', 'server', 'main.js') },
    );
    const health = await (await fetch(`${server.url}/api/health`)).json();
    expect(health).toMatchObject({ status: 'ok', process: { production: true }, database: { reachable: true } });
    const headers = { 'x-forwarded-email': 'release@example.com', 'content-type': 'application/json' };
    const put = await fetch(`${server.url}/api/preferences/theme`, {
      method: 'PUT',
      headers,
      body: JSON.stringify({ value: 'dark' }),
    });
    expect(put.status).toBe(201);
    const list = (await (await fetch(`${server.url}/api/preferences`, { headers })).json()) as {
      preferences: { key: string; value: unknown }[];
    };
    expect(list.preferences.map((p) => [p.key, p.value])).toEqual([['theme', 'dark']]);
    const page = await fetch(`${server.url}/`);
    expect(await page.text()).toContain('<div id="root">');
  }, 180_000);
});
