import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import { expect } from 'vitest';

/**
 * Helpers for tests that start the app the way a person or the platform does (`npm start`, `npm run start`) and stop
 * it with a signal to that npm process: its output, its process tree, and a request kept in flight.
 */

export interface NpmProcess {
  child: ChildProcess;
  /** Everything printed so far, stdout and stderr. */
  output(): string;
  /** Resolves with the first match of `pattern` in the output; rejects on exit or after `timeoutMs`. */
  waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray>;
  /** Resolves with the exit code (or signal name) once it exited; rejects after `timeoutMs`. */
  exited(timeoutMs: number): Promise<number | string>;
}

/** The caller's environment without Lakebase, Databricks or PG settings (as spawn-server does), plus `extra`. */
export function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(
      ([name]) => !/^(PG|LAKEBASE_|DATABRICKS_|DB_POOL|MIGRATE_ON_START$|NODE_ENV$|npm_)/.test(name),
    ),
  );
  return { ...clean, PORT: '0', ...extra };
}

/** `npm <args>` in `cwd` with exactly `env`. */
export function startNpm(args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }): NpmProcess {
  return startCommand('npm', args, options);
}

/** `<command> <args>` (npm, npx) in `cwd` with exactly `env`. */
export function startCommand(
  command: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv },
): NpmProcess {
  const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const listeners = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    output += chunk.toString();
    for (const listener of listeners) listener();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exit = once(child, 'exit').then(([code, signal]) => (code ?? signal) as number | string);

  return {
    child,
    output: () => output,
    waitFor(pattern, timeoutMs) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const match = pattern.exec(output);
          if (!match) return;
          done();
          resolve(match);
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`no ${pattern} within ${timeoutMs} ms:\n${output}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        exit.then((code) => {
          if (!listeners.has(check)) return;
          done();
          reject(new Error(`exited (${code}) before ${pattern}:\n${output}`));
        });
        listeners.add(check);
        check();
      });
    },
    exited(timeoutMs) {
      return Promise.race([
        exit,
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error(`still running after ${timeoutMs} ms:\n${output}`)), timeoutMs),
        ),
      ]);
    },
  };
}

/** Every live process below `pid` (Linux /proc), children first: what must be gone after a clean stop. */
export function processTree(pid: number): { pid: number; command: string }[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readProc(Number(entry));
    if (!stat) continue;
    children.set(stat.ppid, [...(children.get(stat.ppid) ?? []), Number(entry)]);
  }
  const tree: { pid: number; command: string }[] = [];
  const queue = [...(children.get(pid) ?? [])];
  while (queue.length) {
    const next = queue.shift() as number;
    tree.push({ pid: next, command: commandLine(next) });
    queue.push(...(children.get(next) ?? []));
  }
  return tree;
}

/** Whether `pid` still runs (a zombie, already exited but not yet reaped, does not). */
export function isRunning(pid: number): boolean {
  const stat = readProc(pid);
  return stat !== undefined && stat.state !== 'Z';
}

/**
 * Resolves with the processes of `tree` still running after `timeoutMs` (polled every 100 ms), or with none as soon
 * as all have exited.
 */
export async function survivorsAfter(tree: { pid: number; command: string }[], timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const alive = tree.filter((p) => isRunning(p.pid));
    if (alive.length === 0 || Date.now() >= deadline) return alive;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function readProc(pid: number): { ppid: number; state: string } | undefined {
  try {
    // `pid (comm) state ppid ...`; comm may hold spaces and parentheses, so parse after the last ')'.
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const [state, ppid] = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: state as string, ppid: Number(ppid) };
  } catch {
    return undefined;
  }
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
  } catch {
    return '';
  }
}

/**
 * A JSON request whose body is held back after its first half: the server has the request, and answers only once
 * `finish()` sends the rest. So it is in flight for as long as the test wants (here: across a SIGTERM). It goes over a
 * keep-alive connection that a first request (`warmUp`) opened, so the server has surely accepted the connection.
 */
export async function requestInFlight(
  url: string,
  options: { method: string; headers: Record<string, string>; body: unknown; warmUp: string },
): Promise<{ finish(): Promise<{ status: number; body: string }> }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const warmUp = http.get(options.warmUp, { agent });
  const [warmUpResponse] = (await once(warmUp, 'response')) as [http.IncomingMessage];
  warmUpResponse.resume();
  await once(warmUpResponse, 'end');

  const body = Buffer.from(JSON.stringify(options.body));
  // `Expect: 100-continue`: Node's server answers 100 Continue once it has parsed the headers, which tells the test
  // the request has reached the server (an event, where a guessed 100 ms was used before).
  const request = http.request(url, {
    agent,
    method: options.method,
    headers: {
      ...options.headers,
      'content-type': 'application/json',
      'content-length': String(body.length),
      expect: '100-continue',
    },
  });
  const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
    request.on('error', reject);
    request.on('response', (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => {
        text += chunk.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      res.on('error', reject);
    });
  });
  const half = Math.floor(body.length / 2);
  // Headers go out on the open connection; once the server has parsed them, half the body follows.
  const parsed = once(request, 'continue');
  request.flushHeaders();
  await parsed;
  await new Promise<void>((resolve, reject) =>
    request.write(body.subarray(0, half), (e) => (e ? reject(e) : resolve())),
  );
  return {
    finish: async () => {
      request.end(body.subarray(half));
      try {
        return await response;
      } finally {
        agent.destroy();
      }
    },
  };
}

/** The line the server logs once it listens, with its URL. */
export const LISTENING = /"url":"(http:\/\/[^"]+)"[^\n]*"msg":"lakebase app listening"/;

/**
 * The clean stop expected of `npm start` / `npm run start`, checked on a running app: with a PUT in flight, SIGTERM to
 * the npm process; the request still completes (201), npm exits 0 after the server logged a clean shutdown, and no
 * process of its tree is left. The tree is pushed to `trees` first, so that a failing test can clean up after itself.
 */
export async function expectCleanStopWithRequestInFlight(
  npm: NpmProcess,
  options: { origin: string; headers: Record<string, string>; trees: { pid: number; command: string }[][] },
): Promise<void> {
  const tree = processTree(npm.child.pid as number);
  options.trees.push(tree);
  expect(tree.map((p) => p.command)).toContainEqual(expect.stringMatching(/node dist\/server\/main\.js$/));

  const inFlight = await requestInFlight(`${options.origin}/api/preferences/theme`, {
    method: 'PUT',
    headers: options.headers,
    body: { value: 'dark' },
    warmUp: `${options.origin}/api/health`,
  });
  npm.child.kill('SIGTERM');
  await npm.waitFor(/"signal":"SIGTERM"[^\n]*"msg":"shutting down/, 10_000);
  const answer = await inFlight.finish();
  expect(answer.status, answer.body).toBe(201);
  expect(await npm.exited(20_000)).toBe(0);
  expect(npm.output()).toMatch(/"msg":"shut down cleanly: requests finished, database pool closed"/);
  expect(tree.filter((p) => isRunning(p.pid))).toEqual([]);
}
