import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_DATABASE_URL } from './helpers.js';
import {
  cleanEnv,
  expectCleanStopWithRequestInFlight,
  isRunning,
  LISTENING,
  type NpmProcess,
  startNpm,
} from './npm-process.js';
import { assertBuilt } from './spawn-server.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const RELEASE_SCRIPT = fileURLToPath(new URL('../scripts/release.mjs', import.meta.url));

/**
 * Databricks Apps starts the staged release with `npm run start` (app.yaml) and stops it with SIGTERM to that npm
 * process. npm forwards the signal to the `sh -c` running the script only; the server must still get it, finish the
 * request in flight, close its pool, say so, and leave no process behind. (release.test.ts covers installing the
 * release; here its node_modules is the repository's, to keep this test quick.)
 */
describe('SIGTERM to `npm run start` of the staged release', () => {
  const release = path.join(os.tmpdir(), `lakebase-signals-${randomBytes(4).toString('hex')}`);
  const database = `app_signals_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Pool({ connectionString: TEST_DATABASE_URL, max: 1 });
  let npm: NpmProcess | undefined;
  const trees: { pid: number; command: string }[][] = [];

  beforeAll(async () => {
    assertBuilt();
    await admin.query(`CREATE DATABASE ${database}`);
    await run(process.execPath, [RELEASE_SCRIPT, release], { timeout: 60_000 });
    await symlink(path.join(ROOT, 'node_modules'), path.join(release, 'node_modules'), 'dir');
  }, 90_000);
  afterAll(async () => {
    if (npm?.child.exitCode === null) npm.child.kill('SIGKILL');
    // After a failure, nothing of it may outlive the test.
    for (const tree of trees) for (const { pid } of tree) if (isRunning(pid)) process.kill(pid, 'SIGKILL');
    await rm(release, { recursive: true, force: true });
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.end();
  });

  it('drains the request in flight, closes the pool, logs a clean shutdown, exits 0 and leaves nothing behind', async () => {
    const manifest = JSON.parse(await readFile(path.join(release, 'package.json'), 'utf8'));
    const appYaml = await readFile(path.join(release, 'app.yaml'), 'utf8');
    expect(appYaml).toMatch(/^command: \["npm", "run", "start"\]$/m);
    expect(manifest.scripts.start).toMatch(/^exec node /);

    const url = new URL(TEST_DATABASE_URL);
    url.pathname = `/${database}`;
    const env = cleanEnv({ NODE_ENV: 'production', LAKEBASE_PG_URL: url.toString(), MIGRATE_ON_START: 'true' });
    npm = startNpm(['run', 'start'], { cwd: release, env });
    const [, origin] = await npm.waitFor(LISTENING, 45_000);
    await expectCleanStopWithRequestInFlight(npm, {
      origin: origin as string,
      headers: { 'x-forwarded-email': 'signals@example.com' },
      trees,
    });
    // The request's write was committed before the pool closed.
    const client = new pg.Client({ connectionString: url.toString() });
    await client.connect();
    const { rows } = await client.query('select value from user_preferences where key = $1', ['theme']);
    await client.end();
    expect(rows).toEqual([{ value: 'dark' }]);
  }, 90_000);
});
