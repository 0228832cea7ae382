import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cleanEnv,
  expectCleanStopWithRequestInFlight,
  isRunning,
  LISTENING,
  type NpmProcess,
  processTree,
  startCommand,
  startNpm,
  survivorsAfter,
} from '../../app/test/npm-process.js';
import { packageProblems } from '../helpers/package-checks.js';

/**
 * A new user's first minutes, on the committed HEAD of this repository: a fresh clone, `npm ci`, `npm start`, then
 * `npx lakebase` with the registry unreachable (it must never fall back to a package of that name there). Then the
 * packages as a user installs them: the clone's three packages packed, installed into an empty project, and used from
 * there: the CLI, the emulator, ESM and CommonJS code, and what publint and attw say of each tarball.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** A registry that refuses connections: any registry lookup fails fast instead of reaching the network. */
const NO_REGISTRY = 'http://127.0.0.1:9';
const PACKAGES = ['client', 'emulator', 'cli'] as const;

const exec = (command: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; timeout: number }) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(command, args, { ...options, env: options.env ?? cleanEnv({}) }, (error, stdout, stderr) =>
      resolve({ code: error ? Number((error as { code?: unknown }).code ?? 1) || 1 : 0, stdout, stderr }),
    );
  });

describe('a fresh clone, and the packages installed elsewhere', () => {
  const work = path.join(os.tmpdir(), `lakebase-first-run-${randomBytes(4).toString('hex')}`);
  const clone = path.join(work, 'repo');
  const packs = path.join(work, 'packs');
  const project = path.join(work, 'project');
  const offline = cleanEnv({ npm_config_registry: NO_REGISTRY });
  const running: NpmProcess[] = [];
  const trees: { pid: number; command: string }[][] = [];

  beforeAll(async () => {
    await mkdir(work, { recursive: true });
    const cloned = await exec('git', ['clone', '--quiet', ROOT, clone], { cwd: work, timeout: 60_000 });
    expect(cloned.code, cloned.stderr).toBe(0);
    const installed = await exec('npm', ['ci', '--prefer-offline', '--no-audit', '--no-fund'], {
      cwd: clone,
      timeout: 240_000,
    });
    expect(installed.code, installed.stderr).toBe(0);
  }, 300_000);

  afterAll(async () => {
    for (const child of running) if (child.child.exitCode === null) child.child.kill('SIGKILL');
    for (const tree of trees) for (const { pid } of tree) if (isRunning(pid)) process.kill(pid, 'SIGKILL');
    await rm(work, { recursive: true, force: true });
  });

  it('links `lakebase` at install time: before a build it says how to build, and never asks a registry', async () => {
    const link = await stat(path.join(clone, 'node_modules', '.bin', 'lakebase'));
    expect(link.mode & 0o111).not.toBe(0);
    const result = await exec('npx', ['lakebase', '--version'], { cwd: clone, env: offline, timeout: 30_000 });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('[LAKEBASE_CLI_NOT_BUILT]');
    expect(result.stderr).toContain('npm run build');
  });

  it('`npm start` builds and serves; SIGTERM to that npm drains a request and leaves nothing behind', async () => {
    const npm = startNpm(['start'], { cwd: clone, env: cleanEnv({}) });
    running.push(npm);
    const [, origin] = await npm.waitFor(LISTENING, 240_000);
    await expectCleanStopWithRequestInFlight(npm, { origin: origin as string, headers: {}, trees });
  }, 300_000);

  it("after the build, `npx lakebase --version` runs the clone's CLI with the registry unreachable", async () => {
    const result = await exec('npx', ['lakebase', '--version'], { cwd: clone, env: offline, timeout: 30_000 });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.trim()).toBe('0.1.0');
  });

  it('packs three packages that publint and attw find no problems in', async () => {
    await mkdir(packs);
    for (const name of PACKAGES) {
      const packed = await exec('npm', ['pack', '--pack-destination', packs], {
        cwd: path.join(clone, 'packages', name),
        timeout: 60_000,
      });
      expect(packed.code, packed.stderr).toBe(0);
      const tarball = path.join(packs, `lakebase-kit-${name}-0.1.0.tgz`);
      expect(await packageProblems(tarball, work), name).toEqual([]);
    }
  }, 200_000);

  it('installs into an empty project, where the CLI, the emulator, ESM and CommonJS code all work', async () => {
    await mkdir(project);
    await writeFile(path.join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
    const tarballs = PACKAGES.map((name) => path.join(packs, `lakebase-kit-${name}-0.1.0.tgz`));
    const installed = await exec('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', ...tarballs], {
      cwd: project,
      timeout: 180_000,
    });
    expect(installed.code, installed.stderr).toBe(0);
    // Every @lakebase-kit package came from our tarballs, none from a registry.
    const lock = JSON.parse(await readFile(path.join(project, 'package-lock.json'), 'utf8'));
    const ours = Object.entries(lock.packages as Record<string, { resolved?: string }>).filter(([key]) =>
      key.includes('node_modules/@lakebase-kit/'),
    );
    expect(ours.map(([key]) => key).sort()).toEqual(
      PACKAGES.map((name) => `node_modules/@lakebase-kit/${name}`).sort(),
    );
    for (const [, entry] of ours) expect(entry.resolved).toMatch(/^file:/);

    const version = await exec('npx', ['lakebase', '--version'], { cwd: project, env: offline, timeout: 30_000 });
    expect(version.code, version.stderr).toBe(0);
    expect(version.stdout.trim()).toBe('0.1.0');

    const emulator = startCommand('npx', ['lakebase', 'emulator', '--json', '--api-port', '0', '--pg-port', '0'], {
      cwd: project,
      env: offline,
    });
    running.push(emulator);
    const [line] = await emulator.waitFor(/^\{.*\}$/m, 60_000);
    const tree = processTree(emulator.child.pid as number);
    trees.push(tree);
    const info = JSON.parse(line) as Record<string, string | number>;
    // The platform build of PostgreSQL came with the packed emulator (an optional dependency), so the default holds.
    expect(info).toMatchObject({ storage: 'postgres', instanceName: expect.any(String) });
    const env = cleanEnv({
      DATABRICKS_HOST: String(info.databricksHost),
      DATABRICKS_TOKEN: String(info.databricksToken),
      LAKEBASE_INSTANCE_NAME: String(info.instanceName),
      LAKEBASE_DATABASE: String(info.database),
      PGPORT: String(info.pgPort),
      PGSSLMODE: 'verify-full',
      PGSSLROOTCERT: String(info.caFile),
    });

    await writeFile(
      path.join(project, 'query.mjs'),
      `import { createLakebasePool } from '@lakebase-kit/client';
const pool = createLakebasePool();
const { rows } = await pool.query("select current_user as who, 'esm' as via");
console.log(JSON.stringify(rows[0]));
await pool.end();
`,
    );
    // CommonJS, including a migration: node-pg-migrate is ESM-only and is loaded by import() from the CommonJS build.
    await mkdir(path.join(project, 'migrations'));
    await writeFile(
      path.join(project, 'migrations', '1_notes.sql'),
      '-- Up Migration\ncreate table notes (id int primary key);\n-- Down Migration\ndrop table notes;\n',
    );
    await writeFile(
      path.join(project, 'query.cjs'),
      `const { createLakebasePool, applyMigrations, isLakebaseError } = require('@lakebase-kit/client');
const { startEmulator } = require('@lakebase-kit/emulator');
if (typeof startEmulator !== 'function' || typeof isLakebaseError !== 'function') throw new Error('missing exports');
(async () => {
  const pool = createLakebasePool();
  const ran = await applyMigrations(pool, { dir: 'migrations' });
  const { rows } = await pool.query("select current_user as who, 'cjs' as via, count(*)::int as notes from notes");
  console.log(JSON.stringify({ ...rows[0], migrations: ran.map((m) => m.name) }));
  await pool.end();
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
`,
    );
    const esm = await exec(process.execPath, ['query.mjs'], { cwd: project, env, timeout: 60_000 });
    expect(esm.code, esm.stderr).toBe(0);
    expect(JSON.parse(esm.stdout)).toEqual({ who: info.user, via: 'esm' });
    const cjs = await exec(process.execPath, ['query.cjs'], { cwd: project, env, timeout: 60_000 });
    expect(cjs.code, cjs.stderr).toBe(0);
    expect(JSON.parse(cjs.stdout)).toEqual({ who: info.user, via: 'cjs', notes: 0, migrations: ['1_notes'] });

    // Stopped through npx, as a script would: npm's shell dies at once; the CLI sees its parent go, flushes, unlocks
    // its data dir (so it starts again on it) and exits within a few seconds, leaving nothing behind.
    emulator.child.kill('SIGTERM');
    await emulator.exited(30_000);
    expect(await survivorsAfter(tree, 15_000)).toEqual([]);
    const again = startCommand('npx', ['lakebase', 'emulator', '--json', '--api-port', '0', '--pg-port', '0'], {
      cwd: project,
      env: offline,
    });
    running.push(again);
    await again.waitFor(/^\{.*\}$/m, 60_000);
    const againTree = processTree(again.child.pid as number);
    trees.push(againTree);
    again.child.kill('SIGTERM');
    await again.exited(30_000);
    expect(await survivorsAfter(againTree, 15_000)).toEqual([]);
  }, 300_000);
});
