// Instructions a process executes for a piece of work, counted by valgrind's callgrind: the same count run after run
// whatever else the machine is doing, where CPU seconds and req/s move by 10-30 % on a shared machine. The process
// runs under callgrind from its start; `zero()` after the warm-up and `count()` after the measured load bound the
// window, so startup and JIT warm-up are not counted. Node runs with --single-threaded: V8's compiler and GC work then
// lands on the thread that pays for it in production too, instead of on helper threads. What it does not see: time
// in the kernel (syscalls, wakeups) and cache misses, so it complements the req/s ratio, never replaces it.
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** True when valgrind (with callgrind_control) is installed. */
export async function valgrindAvailable() {
  try {
    await run('valgrind', ['--version'], { timeout: 10_000 });
    await run('callgrind_control', ['--version'], { timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

/** `node <script>` under callgrind, with `env`; stdout to /dev/null. Call `stop()` when done. */
export async function spawnCountedNode(script, env) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'lakebase-callgrind-'));
  const child = spawn(
    'valgrind',
    [
      '--tool=callgrind',
      `--callgrind-out-file=${path.join(dir, 'out.%p')}`,
      process.execPath,
      '--single-threaded',
      script,
    ],
    { env, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr = (stderr + chunk).slice(-20_000);
  });
  const control = (command) => run('callgrind_control', [command, String(child.pid)], { timeout: 120_000 });
  return {
    child,
    stderr: () => stderr,
    /** Starts the window: counters back to zero. */
    async zero() {
      await control('-z');
    },
    /** Instructions executed by every thread since `zero()`. */
    async count() {
      const before = new Set(await readdir(dir));
      await control('-d');
      const dumped = (await readdir(dir)).filter((name) => !before.has(name));
      let total = 0;
      for (const name of dumped) {
        const text = await readFile(path.join(dir, name), 'utf8');
        const match = /^(?:summary|totals): (\d+)/m.exec(text);
        if (match) total += Number(match[1]);
      }
      if (total === 0) throw new Error(`callgrind dumped no counts for pid ${child.pid}`);
      return total;
    },
    async stop() {
      if (child.exitCode === null) {
        const exited = once(child, 'exit');
        child.kill('SIGKILL');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
