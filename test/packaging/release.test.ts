import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { packageProblems } from '../helpers/package-checks.js';

/**
 * The release process (docs/RELEASING.md): the Changesets configuration and changesets, every published package's
 * metadata, the release and CI workflows, and what publint and attw say of each package's `npm pack` tarball.
 * The workflows cannot run here; what is checked is that they parse and carry the jobs, steps and permissions a
 * trustworthy release depends on (tests before publish, provenance, the token only where it is used).
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const REPOSITORY = 'https://github.com/lakebase-kit/lakebase-kit';
/** The four packages published to npm, released together (one version: the generated app pins them all to it). */
const PUBLIC = ['@lakebase-kit/client', '@lakebase-kit/emulator', '@lakebase-kit/cli', '@lakebase-kit/create-app'];

interface Manifest {
  name: string;
  version: string;
  private?: boolean;
  [field: string]: unknown;
}

const readJson = <T>(file: string): T => JSON.parse(readFileSync(path.join(ROOT, file), 'utf8')) as T;
const readYaml = (file: string) => parseYaml(readFileSync(path.join(ROOT, file), 'utf8'));

/** The workspace's packages as npm sees them: root package.json's `workspaces`, each with its manifest. */
function workspacePackages(): { dir: string; manifest: Manifest }[] {
  const { workspaces } = readJson<{ workspaces: string[] }>('package.json');
  return workspaces
    .filter((dir) => existsSync(path.join(ROOT, dir, 'package.json')))
    .map((dir) => ({ dir, manifest: readJson<Manifest>(path.join(dir, 'package.json')) }));
}
const published = () => workspacePackages().filter((p) => !p.manifest.private);

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
}
interface Job {
  needs?: string | string[];
  if?: string;
  permissions?: Record<string, string>;
  services?: Record<string, { image: string; env?: Record<string, string>; ports?: string[] }>;
  steps: Step[];
  outputs?: Record<string, string>;
}
interface Workflow {
  on: Record<string, { branches?: string[] } | null>;
  permissions?: Record<string, string>;
  jobs: Record<string, Job>;
}

const stepIndex = (job: Job, match: (step: Step) => boolean) => job.steps.findIndex(match);

/** The PostgreSQL the tests expect (.ci/run, docs/local-development.md): 15, trust login, a `test` database, on 5432. */
function expectTestPostgres(job: Job) {
  const postgres = Object.values(job.services ?? {}).find((service) => service.image.startsWith('postgres:'));
  expect(postgres?.image).toBe('postgres:15');
  expect(postgres?.env).toMatchObject({ POSTGRES_HOST_AUTH_METHOD: 'trust', POSTGRES_DB: 'test' });
  expect(postgres?.ports).toContain('5432:5432');
}

describe('Changesets', () => {
  const config = readJson<Record<string, unknown>>('.changeset/config.json');

  it('releases the four public packages together, publicly, from main; the app template stays private and ignored', () => {
    expect(config.access).toBe('public');
    expect(config.baseBranch).toBe('main');
    expect(config.fixed).toEqual([PUBLIC]);
    expect(config.ignore).toEqual(['lakebase-app']);
    expect(readJson<Manifest>('app/package.json')).toMatchObject({ name: 'lakebase-app', private: true });
    // Every package npm would publish is in the release group: none can be forgotten, none released alone.
    for (const { manifest } of published()) expect(PUBLIC).toContain(manifest.name);
    expect(readJson<Record<string, string>>('package.json').devDependencies).toHaveProperty('@changesets/cli');
  });

  it('each changeset names only public packages, with a patch or minor bump (versions stay 0.x) and a summary', () => {
    const files = readdirSync(path.join(ROOT, '.changeset')).filter((f) => f.endsWith('.md') && f !== 'README.md');
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      const text = readFileSync(path.join(ROOT, '.changeset', file), 'utf8');
      const match = /^---\n([\s\S]*?)\n---\n([\s\S]*)$/.exec(text);
      expect(match, `${file}: front matter`).not.toBeNull();
      const bumps = parseYaml(match?.[1] ?? '') as Record<string, string>;
      expect(Object.keys(bumps).length, file).toBeGreaterThan(0);
      for (const [name, bump] of Object.entries(bumps)) {
        expect(PUBLIC, `${file}: ${name}`).toContain(name);
        // A major bump would make 1.0.0: leaving 0.x is a decision for a maintainer, not a changeset's side effect.
        expect(['patch', 'minor'], `${file}: ${name}`).toContain(bump);
      }
      expect((match?.[2] ?? '').trim().length, `${file}: summary`).toBeGreaterThan(40);
    }
  });
});

const ROOT_LICENSE = readFileSync(path.join(ROOT, 'LICENSE'), 'utf8');

describe('published package metadata', () => {
  it('names the repository, homepage, issues, licence, engines, files and provenance, at a 0.x version', () => {
    const packages = published();
    expect(packages.map((p) => p.manifest.name)).toEqual(
      expect.arrayContaining(['@lakebase-kit/client', '@lakebase-kit/emulator', '@lakebase-kit/cli']),
    );
    for (const { dir, manifest } of packages) {
      expect(manifest.version, manifest.name).toMatch(/^0\.\d+\.\d+$/);
      expect(manifest.description, manifest.name).toEqual(expect.any(String));
      expect(manifest.repository, manifest.name).toEqual({ type: 'git', url: `git+${REPOSITORY}.git`, directory: dir });
      expect(manifest.homepage, manifest.name).toBe(`${REPOSITORY}/tree/main/${dir}#readme`);
      expect(manifest.bugs, manifest.name).toEqual({ url: `${REPOSITORY}/issues` });
      expect(manifest.license, manifest.name).toBe('Apache-2.0');
      // npm packs a LICENSE file whatever `files` says; the licence's text must be the root's, not a copy that drifts.
      expect(readFileSync(path.join(ROOT, dir, 'LICENSE'), 'utf8'), `${dir}/LICENSE`).toBe(ROOT_LICENSE);
      expect((manifest.keywords as string[]).length, manifest.name).toBeGreaterThanOrEqual(3);
      expect(manifest.keywords, manifest.name).toEqual(expect.arrayContaining(['databricks', 'lakebase']));
      expect(manifest.engines, manifest.name).toEqual({ node: '>=20.11' });
      expect(manifest.files, manifest.name).toEqual(expect.arrayContaining(['dist']));
      expect(manifest.publishConfig, manifest.name).toEqual({ access: 'public', provenance: true });
      const changelog = readFileSync(path.join(ROOT, dir, 'CHANGELOG.md'), 'utf8');
      expect(changelog.startsWith(`# ${manifest.name}\n`), `${dir}/CHANGELOG.md`).toBe(true);
      expect(changelog, `${dir}/CHANGELOG.md`).toContain('\n## 0.1.0\n');
    }
  });
});

describe('workflows', () => {
  it('release.yml: a push to main opens the version pull request; its merge tests, then publishes with provenance', () => {
    const workflow = readYaml('.github/workflows/release.yml') as Workflow;
    expect(Object.keys(workflow.on)).toEqual(['push']);
    expect(workflow.on.push?.branches).toEqual(['main']);
    // Nothing by default: each job asks for what it needs.
    expect(workflow.permissions).toEqual({});

    const version = workflow.jobs.version as Job;
    expect(version.permissions).toEqual({ contents: 'write', 'pull-requests': 'write' });
    const versionStep = version.steps[stepIndex(version, (s) => s.uses?.startsWith('changesets/action@') ?? false)];
    expect(versionStep?.with?.version).toBe('npm run version-packages');
    expect(versionStep?.with?.publish).toBeUndefined();
    expect(JSON.stringify(version)).not.toContain('NPM_TOKEN');

    const publish = workflow.jobs.publish as Job;
    expect(publish.needs).toBe('version');
    expect(publish.if).toBe("needs.version.outputs.hasChangesets == 'false'");
    expect(publish.permissions).toEqual({ contents: 'write', 'id-token': 'write' });
    expectTestPostgres(publish);
    const setup = publish.steps[stepIndex(publish, (s) => s.uses?.startsWith('actions/setup-node@') ?? false)];
    expect(setup?.with).toMatchObject({ 'node-version': 20, 'registry-url': 'https://registry.npmjs.org' });
    const tests = stepIndex(publish, (s) => s.run === 'bash .ci/run');
    const release = stepIndex(publish, (s) => s.uses?.startsWith('changesets/action@') ?? false);
    expect(tests).toBeGreaterThan(-1);
    expect(release).toBeGreaterThan(tests);
    const releaseStep = publish.steps[release] as Step;
    expect(releaseStep.with?.publish).toBe('npm run release');
    // The npm token reaches only this step, from the repository's secrets (a GitHub expression, not a template).
    expect(releaseStep.env?.NODE_AUTH_TOKEN).toMatch(/^\$\{\{ secrets\.NPM_TOKEN \}\}$/);
    expect(releaseStep.env?.NPM_CONFIG_PROVENANCE).toBe('true');

    const scripts = readJson<{ scripts: Record<string, string> }>('package.json').scripts;
    expect(scripts.release).toBe('changeset publish');
    expect(scripts['version-packages']).toMatch(/^changeset version && npm install --package-lock-only\b/);
    // The test step is .ci/run: a clean install from the lockfile, then the whole suite (build, lint, tests).
    const ciRun = readFileSync(path.join(ROOT, '.ci/run'), 'utf8');
    expect(ciRun).toMatch(/^npm ci\b/m);
    expect(ciRun).toMatch(/^npm test\b/m);
    expect(ciRun).toMatch(/npm run test:slow\b/);
  });

  it('ci.yml runs .ci/run on pushes to main and on pull requests, against the test PostgreSQL', () => {
    const workflow = readYaml('.github/workflows/ci.yml') as Workflow;
    expect(Object.keys(workflow.on).sort()).toEqual(['pull_request', 'push']);
    expect(workflow.on.push?.branches).toEqual(['main']);
    expect(workflow.permissions).toEqual({ contents: 'read' });
    const test = workflow.jobs.test as Job;
    expectTestPostgres(test);
    expect(test.steps.map((s) => s.run)).toContain('bash .ci/run');
    expect(JSON.stringify(workflow)).not.toMatch(/NPM_TOKEN|id-token/);
  });
});

describe('npm pack tarballs', () => {
  const work = path.join(os.tmpdir(), `lakebase-release-${randomBytes(4).toString('hex')}`);
  afterAll(() => rm(work, { recursive: true, force: true }));

  const exec = (command: string, args: string[], cwd: string) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(command, args, { cwd, timeout: 90_000 }, (error, stdout, stderr) =>
        resolve({ code: error ? Number((error as { code?: unknown }).code ?? 1) || 1 : 0, stdout, stderr }),
      );
    });

  // Packs the built packages of this checkout (npm test builds first): run after `npm run build`.
  it('publint --strict and attw find no problem in any published package', async () => {
    await mkdir(work, { recursive: true });
    for (const { dir, manifest } of published()) {
      const packed = await exec('npm', ['pack', '--pack-destination', work], path.join(ROOT, dir));
      expect(packed.code, `${manifest.name}: ${packed.stderr}`).toBe(0);
      // npm's tarball name: the scope's @ dropped, / as -, then the version.
      const tarball = path.join(work, `${manifest.name.slice(1).replace('/', '-')}-${manifest.version}.tgz`);
      expect(await packageProblems(tarball, work), manifest.name).toEqual([]);
    }
  }, 300_000);
});
