import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, isRunning, processTree, survivorsAfter } from '../../app/test/npm-process.js';

/**
 * docs/local-development.md's emulator walkthrough, run as written: its first code block starts the emulator, the
 * `export` lines it prints are pasted, and the second block runs as one bash script in a fresh project where the CLI
 * is installed (linked to this repository's node_modules, as `npm install -D @lakebase-kit/cli` would put it). When a
 * documented command changes or stops working, this fails.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const GUIDE = path.join(ROOT, 'docs', 'local-development.md');
const SECTION = '## Without a workspace: the local emulator';

/** The ```bash blocks of the guide's emulator section, in order. */
async function sectionBlocks(): Promise<string[]> {
  const text = await readFile(GUIDE, 'utf8');
  const start = text.indexOf(SECTION);
  expect(start, `${SECTION} is missing from the guide`).toBeGreaterThanOrEqual(0);
  const end = text.indexOf('\n## ', start + SECTION.length);
  const section = text.slice(start, end === -1 ? undefined : end);
  return [...section.matchAll(/^```bash\n([\s\S]*?)^```$/gm)].map((match) => match[1] as string);
}

describe('docs/local-development.md: the emulator walkthrough', () => {
  const project = path.join(os.tmpdir(), `lakebase-docs-${randomBytes(4).toString('hex')}`);
  let emulatorPid: number | undefined;
  let tree: { pid: number; command: string }[] = [];

  beforeAll(async () => {
    await mkdir(project);
    await writeFile(path.join(project, 'package.json'), JSON.stringify({ name: 'docs-walkthrough', private: true }));
    await symlink(path.join(ROOT, 'node_modules'), path.join(project, 'node_modules'), 'dir');
  });
  afterAll(async () => {
    for (const { pid } of tree) if (isRunning(pid)) process.kill(pid, 'SIGKILL');
    if (emulatorPid !== undefined && isRunning(emulatorPid)) process.kill(-emulatorPid, 'SIGKILL');
    await rm(project, { recursive: true, force: true });
  });

  it('runs every command of the section as written, against the emulator it starts', async () => {
    const blocks = await sectionBlocks();
    expect(blocks).toHaveLength(2);
    const [start, walkthrough] = blocks as [string, string];
    // The documented start command, with free ports so that parallel runs never collide (the exports carry them).
    const startCommand = start.trim().replace(/\s+#.*$/, '');
    expect(startCommand).toBe('npx lakebase emulator');
    // The registry is unreachable: every `npx lakebase` must run the installed CLI.
    const env = cleanEnv({ npm_config_registry: 'http://127.0.0.1:9' });
    delete env.PORT;
    delete env.CI;

    // Its own process group, as in a terminal, so that Ctrl-C (SIGINT to the group) stops it as it would there.
    const emulator = spawn('bash', ['-c', `${startCommand} --api-port 0 --pg-port 0`], {
      cwd: project,
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    emulatorPid = emulator.pid as number;
    let printed = '';
    emulator.stdout.on('data', (chunk: Buffer) => {
      printed += chunk.toString();
    });
    emulator.stderr.on('data', (chunk: Buffer) => {
      printed += chunk.toString();
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`emulator not ready in 60 s:\n${printed}`)), 60_000);
      const check = () => {
        if (!printed.includes('Press Ctrl-C to stop.')) return;
        clearTimeout(timer);
        resolve();
      };
      emulator.stdout.on('data', check);
      emulator.once('exit', (code) => reject(new Error(`emulator exited (${code}):\n${printed}`)));
    });
    tree = processTree(emulatorPid);
    const exports = printed.split('\n').filter((line) => /^\s*export [A-Z_]+=/.test(line));
    expect(exports.map((line) => line.trim().split('=')[0])).toContain('export LAKEBASE_INSTANCE_NAME');

    // "paste those lines, then" the second block, as one script that stops at the first failing command.
    const script = `set -e\n${exports.map((line) => line.trim()).join('\n')}\n${walkthrough}`;
    const result = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile('bash', ['-c', script], { cwd: project, env, timeout: 180_000 }, (error, stdout, stderr) =>
        resolve({ code: error ? Number((error as { code?: unknown }).code) || 1 : 0, stdout, stderr }),
      );
    });
    const output = `${result.stdout}\n${result.stderr}`;
    expect(result.code, output).toBe(0);
    expect(result.stdout).toContain('Login verified'); // configure
    expect(result.stdout).toMatch(/^.*1_notes.*$/m); // migrate up
    expect(result.stdout).toContain('All checks passed.'); // doctor
    expect(result.stdout).toContain('INSERT 0 1'); // psql -c
    expect(result.stdout).toMatch(/^Database tables:\n(?: {2}.*\n)* {2}public\.notes +table \(/m); // tables
    const tokenLine = result.stdout.split('\n').find((line) => line.startsWith('{"token"'));
    expect(JSON.parse(tokenLine ?? '{}')).toMatchObject({ user: 'dev@example.com', expiresAt: expect.any(String) });
    expect(result.stdout).toMatch(/^hello from psql$/m); // exec -- psql
    expect(await readFile(path.join(project, '.env.local'), 'utf8')).toMatch(/^LAKEBASE_INSTANCE_NAME=\S+$/m);

    // "Stop the emulator with Ctrl-C; it flushes its data."
    process.kill(-emulatorPid, 'SIGINT');
    expect(await survivorsAfter(tree, 20_000)).toEqual([]);
    expect(printed).toContain('emulator stopped, data flushed');
  }, 300_000);
});
