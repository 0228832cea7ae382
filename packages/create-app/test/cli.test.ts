import { execFile, spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli.js';

/** The built command, as npm links it (the tests drive it as a user does; `npm run build` builds it). */
const BIN = fileURLToPath(new URL('../bin/create-lakebase-app.js', import.meta.url));

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function create(args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): Promise<Result> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd, env, timeout: 60_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number((error as { code?: unknown }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** A PATH whose `npm` is a script: `fail` exits 3, `hang` sleeps until stopped. */
async function fakeNpm(dir: string, behaviour: 'fail' | 'hang'): Promise<NodeJS.ProcessEnv> {
  const bin = path.join(dir, `fake-npm-${behaviour}`);
  await mkdir(bin, { recursive: true });
  const script =
    behaviour === 'fail' ? '#!/bin/sh\necho "npm ERR! fake failure" >&2\nexit 3\n' : '#!/bin/sh\nexec sleep 60\n';
  await writeFile(path.join(bin, 'npm'), script);
  await chmod(path.join(bin, 'npm'), 0o755);
  return { ...process.env, PATH: `${bin}${path.delimiter}${process.env.PATH ?? ''}` };
}

describe('create-lakebase-app', () => {
  let work: string;
  beforeAll(async () => {
    await stat(path.join(path.dirname(BIN), '..', 'dist', 'cli.js'));
    await stat(path.join(path.dirname(BIN), '..', 'template', 'app', 'package.json'));
    work = await mkdtemp(path.join(os.tmpdir(), 'create-app-cli-'));
  });
  afterAll(() => (work ? rm(work, { recursive: true, force: true }) : undefined));

  /** A fresh directory to run in, so what is left behind can be listed. */
  const place = async (name: string) => {
    const dir = path.join(work, name);
    await mkdir(dir);
    return dir;
  };

  it('makes the app project: package named after it, dotfiles, README commands, a git commit', async () => {
    const cwd = await place('made');
    const result = await create(['shop-app', '--no-install'], cwd);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(await readdir(cwd)).toEqual(['shop-app']);
    const project = path.join(cwd, 'shop-app');
    const manifest = JSON.parse(await readFile(path.join(project, 'package.json'), 'utf8'));
    expect(manifest).toMatchObject({ name: 'shop-app', private: true });
    const entries = await readdir(project);
    expect(entries).toEqual(
      expect.arrayContaining(['.gitignore', '.env.example', '.git', 'server', 'web', 'migrations']),
    );
    expect(entries).not.toEqual(expect.arrayContaining(['gitignore', 'env.example', 'node_modules']));
    expect(await readFile(path.join(project, '.gitignore'), 'utf8')).toMatch(
      /node_modules\/[\s\S]*dist\/[\s\S]*\.env\.local[\s\S]*\.lakebase\//,
    );
    expect(await readFile(path.join(project, 'README.md'), 'utf8')).toMatch(
      /^# shop-app\n\n```bash\nnpm install && npm start .*\nnpm test /,
    );
    const log = await new Promise<string>((resolve) =>
      execFile('git', ['log', '--format=%s'], { cwd: project, timeout: 30_000 }, (_e, out) => resolve(out)),
    );
    expect(log.trim()).toBe('Initial commit from @lakebase-kit/create-app');
    expect(result.stdout).toContain('cd shop-app');
  });

  it('makes the api-only project, without git when told', async () => {
    const cwd = await place('api');
    const result = await create(['@acme/orders', '--template', 'api-only', '--no-install', '--no-git', '--yes'], cwd);
    expect(result.code, result.stderr).toBe(0);
    const project = path.join(cwd, 'orders');
    expect(JSON.parse(await readFile(path.join(project, 'package.json'), 'utf8')).name).toBe('@acme/orders');
    expect((await readdir(project)).sort()).toEqual(
      [
        '.env.example',
        '.gitignore',
        'README.md',
        'migrations',
        'package.json',
        'src',
        'test',
        'tsconfig.json',
        'vitest.config.ts',
      ].sort(),
    );
  });

  it('refuses a non-empty directory with a coded error and leaves it as it was', async () => {
    const cwd = await place('occupied');
    await mkdir(path.join(cwd, 'taken'));
    await writeFile(path.join(cwd, 'taken', 'notes.txt'), 'mine');
    const result = await create(['taken', '--no-install', '--no-git'], cwd);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/\[CREATE_APP_TARGET_NOT_EMPTY\]\n {2}Choose a new directory name/);
    expect(await readdir(path.join(cwd, 'taken'))).toEqual(['notes.txt']);
    expect(await readdir(cwd)).toEqual(['taken']);
  });

  it('fills an existing empty directory', async () => {
    const cwd = await place('empty');
    await mkdir(path.join(cwd, 'fresh'));
    const result = await create(['fresh', '--no-install', '--no-git'], cwd);
    expect(result.code, result.stderr).toBe(0);
    expect(await readdir(path.join(cwd, 'fresh'))).toContain('package.json');
  });

  it.each(['My-App', '../escape', '.hidden', 'a b', 'node_modules', '@scope/', 'x'.repeat(215)])(
    'refuses the invalid package name %j and creates nothing',
    async (name) => {
      const cwd = await place(`invalid-${Buffer.from(name).toString('hex').slice(0, 20)}`);
      const result = await create([name, '--no-install', '--no-git'], cwd);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('[CREATE_APP_NAME_INVALID]');
      expect(await readdir(cwd)).toEqual([]);
    },
  );

  it('refuses an unknown template or option, and a missing name when it cannot ask', async () => {
    const cwd = await place('usage');
    expect((await create(['x', '--template', 'vue'], cwd)).stderr).toContain('[CREATE_APP_TEMPLATE_UNKNOWN]');
    expect((await create(['x', '--frobnicate'], cwd)).stderr).toContain('[CREATE_APP_USAGE]');
    const noName = await create(['--yes'], cwd);
    expect(noName.code).toBe(1);
    expect(noName.stderr).toContain('[CREATE_APP_NAME_MISSING]');
    expect(await readdir(cwd)).toEqual([]);
  });

  it('--help lists the options and templates', async () => {
    const result = await create(['--help'], await place('help'));
    expect(result.code).toBe(0);
    for (const word of ['--no-install', '--no-git', '--template', '--yes', 'api-only'])
      expect(result.stdout).toContain(word);
  });

  it('leaves nothing behind when npm install fails half way', async () => {
    const cwd = await place('failing');
    const result = await create(['broken'], cwd, await fakeNpm(work, 'fail'));
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/npm install exited with 3[\s\S]*\[CREATE_APP_STEP_FAILED\]/);
    expect(await readdir(cwd)).toEqual([]);
  });

  it('leaves nothing behind on Ctrl-C during npm install', async () => {
    const cwd = await place('interrupted');
    const env = await fakeNpm(work, 'hang');
    const child = spawn(process.execPath, [BIN, 'stopped'], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const code = await new Promise<number | null>((resolve, reject) => {
      const bound = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`no exit within 30 s; stdout: ${stdout}`));
      }, 30_000);
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if (stdout.includes('Installing dependencies')) child.kill('SIGINT');
      });
      child.on('exit', (exitCode) => {
        clearTimeout(bound);
        resolve(exitCode);
      });
    });
    expect(code).toBe(130);
    expect(stderr).toContain('[CREATE_APP_INTERRUPTED]');
    expect(await readdir(cwd)).toEqual([]);
  });

  it('asks for the name at a terminal', async () => {
    const cwd = await place('asked');
    const stdin = Object.assign(new PassThrough(), { isTTY: true });
    const stdout = new PassThrough();
    let shown = '';
    stdout.on('data', (chunk: Buffer) => {
      shown += chunk.toString();
      if (shown.includes('Project name')) stdin.write('typed-app\n');
    });
    const code = await main(['--no-install', '--no-git'], { cwd, stdin, stdout, stderr: new PassThrough() });
    expect(code).toBe(0);
    expect(JSON.parse(await readFile(path.join(cwd, 'typed-app', 'package.json'), 'utf8')).name).toBe('typed-app');
  });
});
