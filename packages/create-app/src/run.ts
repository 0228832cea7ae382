import { type ChildProcess, spawn } from 'node:child_process';

/** The one child running now, so an interrupt can stop it before the partly made project is removed. */
let current: ChildProcess | undefined;

export function stopCurrentChild(): void {
  current?.kill('SIGTERM');
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  output: string;
}

/**
 * Runs a command with a time bound: past `timeoutMs` it gets SIGTERM, then SIGKILL 5 s later. `inherit` shows its
 * output to the user (npm install); otherwise the output is kept (last 8 KiB) for the error message.
 */
export function run(
  command: string,
  args: readonly string[],
  options: { cwd: string; timeoutMs: number; inherit?: boolean; env?: NodeJS.ProcessEnv },
): Promise<RunResult> {
  return new Promise((resolve) => {
    let output = '';
    let timedOut = false;
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: options.inherit ? ['ignore', 'inherit', 'inherit'] : ['ignore', 'pipe', 'pipe'],
      // npm is npm.cmd on Windows, which only a shell runs.
      shell: process.platform === 'win32',
    });
    current = child;
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-8192);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    let killer: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
      killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    }, options.timeoutMs);
    const done = (result: Omit<RunResult, 'timedOut' | 'output'>) => {
      clearTimeout(timer);
      clearTimeout(killer);
      if (current === child) current = undefined;
      resolve({ ...result, timedOut, output });
    };
    child.on('error', (error: NodeJS.ErrnoException) => {
      keep(Buffer.from(String(error.message)));
      done({ code: error.code === 'ENOENT' ? 127 : 1, signal: null });
    });
    child.on('close', (code, signal) => done({ code, signal }));
  });
}
