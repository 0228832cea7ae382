/** `lakebase checkout` in a real git repository against the emulator: git branch -> database branch -> .env.local. */
import { execFile } from 'node:child_process';
import { chmod, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliResult, startTestBed, type TestBed } from './fixture.js';

const git = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
let bed: TestBed;
let repo: string;

/** Lines a developer keeps in .env.local: comments, blanks, export, quotes, a multi-line value, odd spacing. */
const OTHER_LINES = [
  '# my settings',
  'PORT=3001',
  '',
  'export GREETING="hello # not a comment"',
  "MULTI='line one",
  "line two'",
  '  SPACED = kept as is  ',
  '# end',
  '',
].join('\n');

function lakebase(...args: string[]): Promise<CliResult> {
  return bed.lakebase(args, { cwd: repo, env: bed.env('autoscaling') });
}
async function branchIds(): Promise<string[]> {
  const listed = await lakebase('branch', 'list', '--json');
  return JSON.parse(listed.stdout).map((b: { id: string }) => b.id);
}
const envLocal = () => readFile(path.join(repo, '.env.local'), 'utf8');

beforeAll(async () => {
  bed = await startTestBed();
  repo = await bed.newDir();
  await git('git', ['init', '--quiet', repo]);
  await git('git', ['-C', repo, 'checkout', '--quiet', '-b', 'feature/Add_Login']);
  await writeFile(path.join(repo, '.env.local'), OTHER_LINES, { mode: 0o600 });
}, 60_000);
afterAll(async () => {
  await bed?.stop();
});

describe('lakebase checkout', { timeout: 90_000 }, () => {
  it('--print says what it would do and changes nothing', async () => {
    const printed = await lakebase('checkout', '--ttl', '7d', '--print');
    expect(printed).toMatchObject({ code: 0, stderr: '' });
    expect(printed.stdout).toBe(
      'Git branch feature/Add_Login -> database branch feature-add-login.\n' +
        'Would create branch feature-add-login from the default branch (expires in 7d).\n' +
        'Would write LAKEBASE_BRANCH=feature-add-login to .env.local; nothing changed.\n',
    );
    expect(await branchIds()).toEqual(['production']);
    expect(await envLocal()).toBe(OTHER_LINES);
  });

  it('creates the mapped branch from the default branch and records it, keeping every other line', async () => {
    const out = await lakebase('checkout', '--ttl', '7d');
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    expect(out.stdout).toBe(
      'Git branch feature/Add_Login -> database branch feature-add-login.\n' +
        'Created branch feature-add-login from the default branch.\n' +
        'Wrote LAKEBASE_BRANCH=feature-add-login to .env.local.\n',
    );
    expect(await envLocal()).toBe(`${OTHER_LINES}\n# Lakebase\nLAKEBASE_BRANCH=feature-add-login\n`);
    expect((await stat(path.join(repo, '.env.local'))).mode & 0o777).toBe(0o600);
    const info = JSON.parse((await lakebase('branch', 'info', 'feature-add-login', '--json')).stdout);
    expect(info).toMatchObject({ parent: 'projects/lakebase-emulator/branches/production', default: false });
    expect(Date.parse(info.expireTime) - Date.now()).toBeGreaterThan(6.9 * 86_400_000);

    // The CLI now runs on the branch (.env.local is read by every command).
    const created = await lakebase(
      'psql',
      '--',
      '-At',
      '-c',
      'create table on_feature (v int); select current_database()',
    );
    expect(created.code).toBe(0);
    const tables = JSON.parse((await lakebase('tables', '--branch', 'production', '--json')).stdout);
    expect(tables.map((t: { name: string }) => t.name)).not.toContain('on_feature');
  });

  it('a second run uses the existing branch and leaves the file byte for byte', async () => {
    const before = await envLocal();
    const again = await lakebase('checkout', '--json');
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({
      gitBranch: 'feature/Add_Login',
      branch: 'feature-add-login',
      created: false,
      wrote: { LAKEBASE_BRANCH: 'feature-add-login' },
    });
    expect(await envLocal()).toBe(before);
    expect(await branchIds()).toEqual(['feature-add-login', 'production']);
  });

  it('a named branch, and LAKEBASE_ENDPOINT rewritten in place when .env.local sets it', async () => {
    const endpoint = bed.env('autoscaling').LAKEBASE_ENDPOINT as string;
    const withEndpoint = `${OTHER_LINES}LAKEBASE_ENDPOINT=${endpoint}\n# after\nLAKEBASE_BRANCH=feature-add-login\n`;
    await writeFile(path.join(repo, '.env.local'), withEndpoint);
    const out = await lakebase('checkout', 'staging', '--from', 'feature-add-login');
    expect(out.code).toBe(0);
    expect(out.stdout).toBe(
      'Created branch staging from feature-add-login.\n' +
        'Wrote LAKEBASE_BRANCH=staging LAKEBASE_ENDPOINT=projects/lakebase-emulator/branches/staging/endpoints/primary to .env.local.\n',
    );
    expect(await envLocal()).toBe(
      `${OTHER_LINES}LAKEBASE_ENDPOINT=projects/lakebase-emulator/branches/staging/endpoints/primary\n# after\nLAKEBASE_BRANCH=staging\n`,
    );
  });

  it('warns when LAKEBASE_BRANCH in the environment would win over .env.local', async () => {
    const out = await bed.lakebase(['checkout', 'staging'], {
      cwd: repo,
      env: bed.env('autoscaling', { LAKEBASE_BRANCH: 'feature-add-login' }),
    });
    expect(out.code).toBe(0);
    expect(out.stderr).toBe(
      'warning: LAKEBASE_BRANCH=feature-add-login is set in the environment and wins over .env.local: unset it to use staging.\n',
    );
  });

  it("the docs' post-checkout hook switches the database branch with `git switch`", async () => {
    const guide = await readFile(path.join(ROOT, 'docs', 'local-development.md'), 'utf8');
    const hook = /a `post-checkout` hook[\s\S]*?```sh\n([\s\S]*?)```/.exec(guide)?.[1] as string;
    expect(hook).toMatch(/^#!\/bin\/sh\n/);
    // A project with the CLI installed (linked to this repository's node_modules, as npm install -D would put it).
    const project = await bed.newDir();
    await writeFile(path.join(project, 'package.json'), '{"name":"hooked","private":true}\n');
    await symlink(path.join(ROOT, 'node_modules'), path.join(project, 'node_modules'), 'dir');
    await git('git', ['init', '--quiet', project]);
    await git('git', [
      '-C',
      project,
      '-c',
      'user.name=t',
      '-c',
      'user.email=t@example.com',
      'commit',
      '-q',
      '--allow-empty',
      '-m',
      'x',
    ]);
    await writeFile(path.join(project, '.git', 'hooks', 'post-checkout'), hook);
    await chmod(path.join(project, '.git', 'hooks', 'post-checkout'), 0o755);
    const env = { ...bed.env('autoscaling'), npm_config_offline: 'true' };
    const switched = await git('git', ['-C', project, 'switch', '-c', 'feature/Hooked_Up'], { env });
    expect(switched.stderr).toContain('Created branch feature-hooked-up from the default branch.');
    expect(await readFile(path.join(project, '.env.local'), 'utf8')).toBe(
      '# Lakebase\nLAKEBASE_BRANCH=feature-hooked-up\n',
    );
    const info = JSON.parse((await lakebase('branch', 'info', 'feature-hooked-up', '--json')).stdout);
    expect(Date.parse(info.expireTime) - Date.now()).toBeGreaterThan(13.9 * 86_400_000);
  });

  it('coded errors: a detached HEAD, outside git, a name outside the grammar', async () => {
    await writeFile(path.join(repo, 'f'), 'x');
    await git('git', ['-C', repo, 'add', 'f']);
    await git('git', ['-C', repo, '-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-qm', 'x']);
    await git('git', ['-C', repo, 'checkout', '--quiet', '--detach']);
    const detached = await lakebase('checkout');
    expect(detached.code).toBe(1);
    expect(detached.stderr).toContain('[LAKEBASE_GIT_BRANCH_UNKNOWN]');
    expect(detached.stderr).toContain('fix: ');
    const outside = await bed.lakebase(['checkout', '--print'], {
      cwd: await bed.newDir(),
      env: bed.env('autoscaling'),
    });
    expect(outside.code).toBe(1);
    expect(outside.stderr).toContain('[LAKEBASE_GIT_BRANCH_UNKNOWN]');
    const bad = await lakebase('checkout', 'Bad_Name');
    expect(bad.stderr).toContain('[LAKEBASE_CONFIG_INVALID]');
  });
});
