import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, type NpmProcess, processTree, startNpm, survivorsAfter } from '../../app/test/npm-process.js';
import { referencesOutside } from '../../packages/create-app/test/project-paths.js';
import { type LocalRegistry, startLocalRegistry, upstreamRegistry } from './local-registry.js';

/**
 * What a user does, end to end, against a local registry: every package of the kit published to verdaccio, then
 * `npm create @lakebase-kit/app@<version> my-app -- --yes` in an empty directory, `npm install`, `npm start` until the
 * health endpoint answers 200 with the database reachable (the embedded emulator), SIGTERM, and the project's own
 * `npm test`. Both templates. Every step is bounded and its duration printed. Needs the packages built (`npm test`
 * builds first) and the npm registry reachable (verdaccio proxies all but @lakebase-kit/* to it).
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const PUBLISHED = ['client', 'emulator', 'cli', 'create-app'] as const;
const NPM_CACHE = path.join(os.tmpdir(), 'lakebase-kit-create-app-npm-cache');
const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

const durations: string[] = [];

/** Runs one step with a bound, records how long it took. */
async function step(
  name: string,
  command: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; timeout: number },
): Promise<Result> {
  const done = stopwatch(name);
  const result = await new Promise<Result>((resolve) => {
    execFile(command, args, { ...options, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number((error as { code?: unknown }).code ?? 1) || 1 : 0, stdout, stderr }),
    );
  });
  done();
  return result;
}

/** Starts timing step `name`; the returned function prints and keeps its duration (reported, never asserted). */
function stopwatch(name: string): () => void {
  // no-wall-clock: allow (printed step durations for the report; no assertion reads them)
  const started = performance.now();
  return () => {
    // no-wall-clock: allow (printed step durations for the report; no assertion reads them)
    const line = `${name}: ${((performance.now() - started) / 1000).toFixed(1)} s`;
    durations.push(line);
    console.log(`[create-app e2e] ${line}`);
  };
}

describe('npm create @lakebase-kit/app from a local registry', () => {
  let work: string;
  let registry: LocalRegistry | undefined;
  let env: NodeJS.ProcessEnv;
  let version: string;
  const running: NpmProcess[] = [];

  beforeAll(async () => {
    for (const name of PUBLISHED.filter((name) => name !== 'create-app')) {
      await stat(path.join(ROOT, 'packages', name, 'dist')); // built by `npm test` / `npm run build` before this runs
    }
    await stat(path.join(ROOT, 'packages', 'create-app', 'dist', 'cli.js'));
    version = JSON.parse(await readFile(path.join(ROOT, 'packages', 'create-app', 'package.json'), 'utf8')).version;
    work = await mkdtemp(path.join(os.tmpdir(), 'lakebase-create-app-'));
    const verdaccioStarted = stopwatch('start verdaccio');
    registry = await startLocalRegistry(path.join(work, 'registry'), await upstreamRegistry());
    verdaccioStarted();
    // npm's own prompt for `npm create` (installing create-app) is answered by npm_config_yes; the project's --yes is ours.
    // An npm cache of the test's own: kept between runs so the other dependencies' tarballs are not fetched again,
    // but without its npx installs, which would otherwise run a create-app of the same version from an earlier run.
    await rm(path.join(NPM_CACHE, '_npx'), { recursive: true, force: true });
    env = cleanEnv({
      npm_config_userconfig: registry.userconfig,
      npm_config_cache: NPM_CACHE,
      npm_config_yes: 'true',
      npm_config_update_notifier: 'false',
      NO_COLOR: '1',
    });
    const publishedAll = stopwatch('publish all');
    for (const name of PUBLISHED) {
      const published = await step(
        `publish ${name}`,
        'npm',
        ['publish', '--provenance=false', '--registry', registry.url],
        {
          cwd: path.join(ROOT, 'packages', name),
          env,
          timeout: 120_000,
        },
      );
      expect(published.code, `${published.stdout}${published.stderr}`).toBe(0);
    }
    publishedAll();
  }, 300_000);

  afterAll(async () => {
    for (const npm of running)
      if (npm.child.exitCode === null && npm.child.signalCode === null) npm.child.kill('SIGKILL');
    await registry?.stop();
    if (work) await rm(work, { recursive: true, force: true, maxRetries: 3 });
    console.log(`[create-app e2e] step durations:\n  ${durations.join('\n  ')}`);
  }, 60_000);

  it.each([
    ['app', []],
    ['api-only', ['--template', 'api-only']],
  ] as const)(
    'the %s template: create, install, start until healthy, stop, test',
    async (template, extra) => {
      const dir = path.join(work, `empty-${template}`);
      await mkdir(dir);
      const created = await step(
        `${template}: npm create @lakebase-kit/app@${version}`,
        'npm',
        ['create', `@lakebase-kit/app@${version}`, 'my-app', '--', '--yes', ...extra],
        { cwd: dir, env, timeout: 900_000 },
      );
      expect(created.code, `${created.stdout}${created.stderr}`).toBe(0);
      // npm 11 lists dependency install scripts it skipped; the project has reviewed (denied) the only one.
      expect(`${created.stdout}${created.stderr}`).not.toMatch(/install scripts not yet covered/);
      const project = path.join(dir, 'my-app');

      // A user's project: its own name, the kit from the registry, nothing pointing back into the monorepo.
      const manifest = JSON.parse(await readFile(path.join(project, 'package.json'), 'utf8'));
      expect(manifest).toMatchObject({ name: 'my-app', private: true });
      expect(manifest.dependencies['@lakebase-kit/client']).toBe(version);
      expect(manifest.devDependencies['@lakebase-kit/emulator']).toBe(version);
      expect(await referencesOutside(project)).toEqual([]);
      const lock = JSON.parse(await readFile(path.join(project, 'package-lock.json'), 'utf8'));
      const entries = Object.entries(lock.packages as Record<string, { link?: boolean; resolved?: string }>);
      expect(entries.filter(([, entry]) => entry.link || /^(file:|\.)/.test(entry.resolved ?? ''))).toEqual([]);
      const kit = entries.filter(([key]) => key.startsWith('node_modules/@lakebase-kit/'));
      expect(kit.map(([key]) => key).sort()).toEqual(
        ['cli', 'client', 'emulator'].map((n) => `node_modules/@lakebase-kit/${n}`),
      );
      for (const [, entry] of kit) expect(entry.resolved).toMatch(new RegExp(`^${registry?.url}`));

      const installed = await step(`${template}: npm install`, 'npm', ['install', '--no-audit', '--no-fund'], {
        cwd: project,
        env,
        timeout: 600_000,
      });
      expect(installed.code, installed.stderr).toBe(0);

      const healthy = stopwatch(`${template}: npm start until /api/health is 200`);
      const npm = startNpm(['start'], { cwd: project, env: { ...env, PORT: '0' } });
      running.push(npm);
      const listening =
        template === 'app'
          ? /"url":"(http:\/\/[^"]+)"[^\n]*"msg":"lakebase app listening"/
          : /Server listening at (http:\/\/127\.0\.0\.1:\d+)/;
      const [, origin] = await npm.waitFor(listening, 300_000);
      const health = await fetch(`${origin}/api/health`, { signal: AbortSignal.timeout(10_000) });
      expect(health.status).toBe(200);
      expect(await health.json()).toMatchObject({ status: 'ok', database: { reachable: true } });
      healthy();

      const stopped = stopwatch(`${template}: stop (SIGTERM)`);
      const tree = processTree(npm.child.pid as number);
      npm.child.kill('SIGTERM');
      expect(await npm.exited(30_000)).toBe(0);
      expect(await survivorsAfter(tree, 10_000)).toEqual([]);
      stopped();

      if (template === 'app') {
        // Deploying: the project stages release/ itself, with the client from the registry (no vendored tarball).
        const staged = await step('app: npm run app:release', 'npm', ['run', 'app:release'], {
          cwd: project,
          env,
          timeout: 300_000,
        });
        expect(staged.code, `${staged.stdout}${staged.stderr}`).toBe(0);
        const release = JSON.parse(await readFile(path.join(project, 'release', 'package.json'), 'utf8'));
        expect(release.dependencies['@lakebase-kit/client']).toBe(version);
        expect(release.scripts).toEqual({ start: 'exec node dist/server/main.js' });
        expect(await referencesOutside(path.join(project, 'release'))).toEqual([]);
        await stat(path.join(project, 'release', 'package-lock.json'));
      }

      const tested = await step(`${template}: npm test`, 'npm', ['test'], { cwd: project, env, timeout: 600_000 });
      expect(tested.code, `${tested.stdout}${tested.stderr}`).toBe(0);
      expect(tested.stdout.replace(ANSI, '')).toMatch(/Tests\s+\d+ passed/);
    },
    1_800_000,
  );
});
