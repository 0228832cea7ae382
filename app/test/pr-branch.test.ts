/**
 * Branch workflows end to end against the emulator: the pull-request workflow's "Lakebase: ..." steps run exactly as
 * written in .github/workflows/pr-branch.yml, and `lakebase configure --branch dev-<user> --create` followed by the
 * server's start path (what `npm start` runs) serves the app on that branch.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { withClient } from '@lakebase-kit/client';
import { type Emulator, startEmulator } from '@lakebase-kit/emulator';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { parse } from 'yaml';
import { closeHttpServer, listenOnLoopback } from '../../test/helpers/loopback-http.js';
import { TEST_DATABASE_URL } from './helpers.js';
import { assertBuilt, spawnServer } from './spawn-server.js';

const run = promisify(execFile);
const APP_DIR = fileURLToPath(new URL('..', import.meta.url));
const WORKFLOW = path.join(APP_DIR, '.github/workflows/pr-branch.yml');
const CLI = fileURLToPath(new URL('../../packages/cli/dist/bin.js', import.meta.url));

let emulator: Emulator;
let home: string;
const database = `app_branches_${process.pid}_${Math.floor(Math.random() * 1e6)}`;

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  assertBuilt();
  await admin(`create database ${database}`);
  const upstream = new URL(TEST_DATABASE_URL);
  upstream.pathname = `/${database}`;
  emulator = await startEmulator({ upstream: upstream.toString() });
  home = await mkdtemp(path.join(os.tmpdir(), 'app-branches-home-'));
});
afterAll(async () => {
  await emulator?.stop();
  await rm(home, { recursive: true, force: true });
  // Branch databases are named <database>@<key> on the upstream; drop this test's with its own database.
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    const keys = (await client.query(`select datname from pg_database where datname like 'databricks_postgres@%'`))
      .rows;
    for (const { datname } of keys as { datname: string }[]) {
      if (branchDatabases.has(datname)) await client.query(`drop database if exists "${datname}" with (force)`);
    }
    await client.query(`drop database if exists ${database} with (force)`);
  } finally {
    await client.end();
  }
});

/** Storage names of the branches this file made (so cleanup never touches another test's). */
const branchDatabases = new Set<string>();
async function recordBranches(): Promise<void> {
  const response = await fetch(`${emulator.databricksHost}/api/2.0/postgres/projects/lakebase-emulator/branches`, {
    headers: { authorization: `Bearer ${emulator.databricksToken}` },
  });
  const { branches } = (await response.json()) as { branches: { uid: string }[] };
  for (const b of branches) branchDatabases.add(`databricks_postgres@${b.uid.slice(0, 8)}`);
}

/** What a developer or CI job has: workspace auth, the CA, the project's endpoint; HOME and PATH. */
function baseEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = emulator.env('autoscaling');
  return {
    HOME: home,
    PATH: `${path.join(APP_DIR, '..', 'node_modules', '.bin')}:${process.env.PATH}`,
    LANG: 'C.UTF-8',
    DATABRICKS_HOST: env.DATABRICKS_HOST,
    DATABRICKS_TOKEN: env.DATABRICKS_TOKEN,
    PGPORT: env.PGPORT,
    PGSSLMODE: env.PGSSLMODE,
    PGSSLROOTCERT: env.PGSSLROOTCERT,
    LAKEBASE_ENDPOINT: env.LAKEBASE_ENDPOINT,
    ...extra,
  } as NodeJS.ProcessEnv;
}

async function rows(branch: string, sql: string): Promise<Record<string, unknown>[]> {
  return withClient(
    { env: { ...baseEnv(), LAKEBASE_BRANCH: branch } },
    async (client) => (await client.query(sql)).rows,
  );
}

interface Step {
  name?: string;
  run?: string;
}

/** A stand-in for GitHub's issue-comments API, for the comment step: the comments of one pull request. */
async function fakeGitHub(): Promise<{
  url: string;
  comments: { id: number; body: string }[];
  close: () => Promise<void>;
}> {
  const comments: { id: number; body: string }[] = [];
  const server = http.createServer(async (request, response) => {
    let text = '';
    for await (const chunk of request) text += chunk;
    const reply = (status: number, value: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(value));
    };
    if (request.headers.authorization !== 'Bearer gh-test-token') return reply(401, { message: 'Bad credentials' });
    const url = new URL(request.url ?? '/', 'http://github.test');
    if (url.pathname === '/repos/acme/app/issues/42/comments' && request.method === 'GET') {
      return reply(200, url.searchParams.get('page') === '1' ? comments : []);
    }
    if (url.pathname === '/repos/acme/app/issues/42/comments' && request.method === 'POST') {
      const comment = { id: 1000 + comments.length, body: JSON.parse(text).body as string };
      comments.push(comment);
      return reply(201, comment);
    }
    const patch = /^\/repos\/acme\/app\/issues\/comments\/(\d+)$/.exec(url.pathname);
    const target = comments.find((c) => c.id === Number(patch?.[1]));
    if (patch && target && request.method === 'PATCH') {
      target.body = JSON.parse(text).body;
      return reply(200, target);
    }
    reply(404, { message: 'Not Found' });
  });
  const url = await listenOnLoopback(server);
  // A comment of someone else's is left alone.
  comments.push({ id: 7, body: 'Looks good to me' });
  return { url, comments, close: () => closeHttpServer(server) };
}

describe('the pull-request workflow', () => {
  it('creates pr-<n> from production with a TTL, migrates, tests, prints the host, and deletes it on close', async () => {
    const workflow = parse(await readFile(WORKFLOW, 'utf8')) as {
      env: Record<string, string>;
      jobs: Record<string, { steps: Step[] }>;
    };
    const lakebaseSteps = (job: string) =>
      (workflow.jobs[job]?.steps ?? []).filter((s) => s.name?.startsWith('Lakebase:') && s.run);
    expect(lakebaseSteps('test-on-branch').map((s) => s.name)).toHaveLength(5);
    expect(workflow.env.BRANCH_TTL).toBe('3d');

    // Inside the app, so `npx lakebase` finds the installed CLI as it does in the template's checkout.
    const work = await mkdtemp(path.join(APP_DIR, '.pr-branch-test-'));
    // Removed even when an assertion fails: a leftover folder inside app/ would be copied into the create-app template.
    onTestFinished(() => rm(work, { recursive: true, force: true }));
    const github = await fakeGitHub();
    const output = path.join(work, 'github-output');
    const summary = path.join(work, 'github-summary');
    const env = baseEnv({
      PR_BRANCH: 'pr-42',
      BRANCH_TTL: workflow.env.BRANCH_TTL as string,
      // The test query the suite would make: the migrated table exists on the branch and is empty there.
      BRANCH_TEST_COMMAND: `psql -v ON_ERROR_STOP=1 -tAc 'select count(*) from user_preferences'`,
      GITHUB_OUTPUT: output,
      GITHUB_STEP_SUMMARY: summary,
      npm_config_offline: 'true', // never ask the registry: the CLI is installed
      GITHUB_API_URL: github.url,
      GITHUB_REPOSITORY: 'acme/app',
      GITHUB_TOKEN: 'gh-test-token',
      PR_NUMBER: '42',
    });
    const runStep = async (step: Step) => {
      const result = await run('bash', ['-e', '-o', 'pipefail', '-c', step.run as string], { cwd: work, env });
      return result.stdout;
    };
    // The workflow runs in the app's root (migrations/ there): copy what the steps read.
    await run('cp', ['-r', path.join(APP_DIR, 'migrations'), work]);
    await mkdir(path.join(work, 'scripts'));
    await run('cp', [path.join(APP_DIR, 'scripts', 'pr-comment.mjs'), path.join(work, 'scripts')]);

    const stdout: string[] = [];
    for (const step of lakebaseSteps('test-on-branch')) stdout.push(await runStep(step));
    await recordBranches();
    const host = /^host=(.+)$/m.exec(await readFile(output, 'utf8'))?.[1];
    expect(host).toMatch(/\.database\.localhost$/);
    expect(stdout[0]).toContain(`Preview database host for pr-42: ${host}`);
    expect(stdout[4]?.trim()).toBe('0');
    // One comment with the schema diff of the pull request's migrations, beside the reviewer's.
    expect(stdout[3]).toBe('Created comment 1001 on pull request 42.\n');
    expect(github.comments.map((c) => c.id)).toEqual([7, 1001]);
    const diff = github.comments[1]?.body as string;
    expect(diff.split('\n').slice(0, 2)).toEqual([
      '<!-- lakebase-schema-diff -->',
      '### Lakebase schema diff: `pr-42` against `production`',
    ]);
    expect(diff).toContain('+ table public.user_preferences: table, row level security\n');
    expect(diff).toContain('+ policy public.user_preferences.user_preferences_own_rows: permissive for all to public');
    expect(diff).not.toMatch(/^- /m);
    expect(await rows('pr-42', `select to_regclass('user_preferences') is not null as migrated`)).toEqual([
      { migrated: true },
    ]);
    expect(await rows('production', `select to_regclass('user_preferences') is not null as migrated`)).toEqual([
      { migrated: false },
    ]);

    // A second push resets the branch from production and migrates again.
    await runStep(lakebaseSteps('test-on-branch')[0] as Step);
    await recordBranches();
    expect(await rows('pr-42', `select to_regclass('user_preferences') is not null as migrated`)).toEqual([
      { migrated: false },
    ]);
    // Its diff (no migrations yet on the fresh branch) updates the same comment rather than adding one.
    for (const step of lakebaseSteps('test-on-branch').slice(2, 4)) await runStep(step);
    expect(github.comments.map((c) => c.id)).toEqual([7, 1001]);
    expect(github.comments[1]?.body).toBe(
      '<!-- lakebase-schema-diff -->\n### Lakebase schema diff: `pr-42` against `production`\n\nNo schema changes.\n',
    );
    await github.close();

    for (const step of lakebaseSteps('delete-branch')) await runStep(step);
    for (const step of lakebaseSteps('delete-branch')) await runStep(step); // closing twice is fine
    const info = await run(process.execPath, [CLI, 'branch', 'info', 'pr-42'], { cwd: work, env }).catch((e) => e);
    expect(info.stderr).toContain('[LAKEBASE_RESOURCE_NOT_FOUND]');
  }, 120_000);
});

describe('lakebase configure --branch dev-<user> --create, then npm start', () => {
  it('serves the app on the developer branch', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'dev-branch-'));
    try {
      await rows('production', `create table if not exists marker (v text); insert into marker values ('production')`);
      const configured = await run(
        process.execPath,
        [CLI, 'configure', '--branch', 'dev-tester', '--create', '--yes', '--json'],
        { cwd: dir, env: baseEnv() },
      );
      await recordBranches();
      const result = JSON.parse(configured.stdout);
      expect(result.settings).toMatchObject({
        LAKEBASE_ENDPOINT: 'projects/lakebase-emulator/branches/dev-tester/endpoints/primary',
      });
      expect(result.settings.PGHOST).toMatch(/\.database\.localhost$/);
      await rows('dev-tester', `insert into marker values ('dev-tester')`);

      // `npm start` runs this file from the app with INIT_CWD = where npm was run; .env.local is read from there.
      const { LAKEBASE_ENDPOINT: _endpoint, ...auth } = baseEnv() as Record<string, string>;
      const server = await spawnServer({ ...auth, INIT_CWD: dir, MIGRATE_ON_START: 'true', LAKEBASE_EMULATOR: 'off' });
      try {
        const health = (await (await fetch(`${server.url}/api/health`)).json()) as { database: { info: unknown } };
        expect(health.database.info).toMatchObject({
          tier: 'autoscaling',
          endpoint: 'projects/lakebase-emulator/branches/dev-tester/endpoints/primary',
          emulator: false,
        });
        const put = await fetch(`${server.url}/api/preferences/theme`, {
          method: 'PUT',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ value: 'dark' }),
        });
        expect(put.status).toBeLessThan(300);
      } finally {
        await server.stop();
      }
      expect(await rows('dev-tester', 'select count(*)::int as n from user_preferences')).toEqual([{ n: 1 }]);
      expect(await rows('production', `select to_regclass('user_preferences') is null as absent`)).toEqual([
        { absent: true },
      ]);
      expect(await rows('dev-tester', 'select v from marker order by v')).toEqual([
        { v: 'dev-tester' },
        { v: 'production' },
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
