import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

/** The built CLI entry point: these tests drive `lakebase` exactly as a user's shell would. */
export const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));

/** Starts a long-running `lakebase` command and resolves with its first stdout line (e.g. `emulator --json`). */
export async function spawnUntilFirstLine(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {},
): Promise<{ child: ChildProcess; firstLine: string; stderr: () => string; laterLines: () => string[] }> {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const timeout = options.timeoutMs ?? 30_000;
  const later: string[] = [];
  const firstLine = await Promise.race([
    once(lines, 'line').then(([line]) => {
      lines.on('line', (next: string) => later.push(next));
      return String(line);
    }),
    once(child, 'exit').then(([code]) => Promise.reject(new Error(`exited ${code} before printing: ${stderr}`))),
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`no output in ${timeout} ms: ${stderr}`)), timeout),
    ),
  ]);
  return { child, firstLine, stderr: () => stderr, laterLines: () => [...later] };
}

/** Sends a signal and resolves with the exit code. */
export async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  const exited = once(child, 'exit');
  child.kill(signal);
  const [code] = await exited;
  return code as number | null;
}

/** Runs a command to completion and collects its output. */
export async function runCommand(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  child.stdin.end(options.input ?? '');
  const [code] = await once(child, 'exit');
  return { code: code as number | null, stdout, stderr };
}

/** Asserts a CLI run failed with exit code 1, the coded error `code` and a fix line; returns its stderr. */
export function expectCodedFailure(result: { code: number | null; stderr: string }, code: string): string {
  expect(result.code).toBe(1);
  expect(result.stderr).toContain(`[${code}]`);
  expect(result.stderr).toContain('fix: ');
  return result.stderr;
}
