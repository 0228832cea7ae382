import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { TurnBatchedDestination } from '../server/logging.js';
import { assertBuilt, MAIN_JS } from './spawn-server.js';

/**
 * The server's stdout destination writes the lines of one event-loop turn in one synchronous write when the turn
 * ends. What it promises: every line arrives, whole and in order, one write per turn, and nothing pending is lost
 * when the process exits, however it exits.
 */

function recordingTarget() {
  const writes: string[] = [];
  let syncFlushes = 0;
  return {
    writes,
    flushes: () => syncFlushes,
    target: {
      write(data: string) {
        writes.push(data);
      },
      flushSync() {
        syncFlushes++;
      },
    },
  };
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('TurnBatchedDestination', () => {
  it('writes the lines of one turn once, in order, when the turn ends; the next turn is a write of its own', async () => {
    const { writes, target } = recordingTarget();
    const destination = new TurnBatchedDestination(target);
    destination.write('a\n');
    destination.write('b\n');
    destination.write('c\n');
    expect(writes).toEqual([]);
    await nextTurn();
    expect(writes).toEqual(['a\nb\nc\n']);
    destination.write('d\n');
    await nextTurn();
    expect(writes).toEqual(['a\nb\nc\n', 'd\n']);
    await nextTurn();
    expect(writes).toHaveLength(2); // an idle turn writes nothing
  });

  it('flushSync writes what is pending at once, and the turn end then has nothing left to write', async () => {
    const { writes, target, flushes } = recordingTarget();
    const destination = new TurnBatchedDestination(target);
    destination.write('a\n');
    destination.flushSync();
    expect(writes).toEqual(['a\n']);
    expect(flushes()).toBe(1);
    await nextTurn();
    expect(writes).toEqual(['a\n']);
  });

  it('flush(callback) reports a failing write to the callback instead of throwing', () => {
    const destination = new TurnBatchedDestination({
      write() {
        throw new Error('EBADF');
      },
      flushSync() {},
    });
    destination.write('a\n');
    let reported: Error | undefined;
    destination.flush((error) => {
      reported = error;
    });
    expect(reported?.message).toBe('EBADF');
  });
});

/** Runs `body` in a child Node process that has the built logger as `createLogger`; returns its stdout and exit. */
async function runWithLogger(body: string, { closeStdout = false, pauseReaderMs = 0 } = {}) {
  assertBuilt();
  const logging = pathToFileURL(MAIN_JS.replace(/main\.js$/, 'logging.js')).href;
  const script = `import { createLogger } from ${JSON.stringify(logging)};\nconst logger = createLogger();\n${body}`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => {
    err += chunk;
  });
  if (closeStdout) child.stdout.destroy();
  if (pauseReaderMs > 0) {
    child.stdout.pause();
    setTimeout(() => child.stdout.resume(), pauseReaderMs);
  }
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const [code] = await once(child, 'exit');
  clearTimeout(timer);
  const lines = Buffer.concat(out).toString().split('\n').filter(Boolean);
  return { code: code as number, stderr: err, lines: lines.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

describe('the server logger on a real stdout pipe', () => {
  it('loses no line when the process exits in the middle of a turn (process.exit right after logging)', async () => {
    const { code, lines } = await runWithLogger(
      'for (let i = 0; i < 2000; i++) logger.info({ i }, "line");\nprocess.exit(3);',
    );
    expect(code).toBe(3);
    expect(lines.map((line) => line.i)).toEqual(Array.from({ length: 2000 }, (_, i) => i));
  });

  it('loses no line when an uncaught exception ends the process', async () => {
    const { code, lines, stderr } = await runWithLogger(
      'let n = 0;\nconst tick = () => { for (let k = 0; k < 10; k++) logger.info({ i: n++ }, "line"); if (n < 300) setImmediate(tick); else { logger.error("last words"); throw new Error("boom"); } };\ntick();',
    );
    expect(code).toBe(1);
    expect(stderr).toContain('boom');
    expect(lines.filter((line) => line.msg === 'line').map((line) => line.i)).toEqual(
      Array.from({ length: 300 }, (_, i) => i),
    );
    expect(lines.at(-1)?.msg).toBe('last words');
  });

  it('loses no line when the reader falls behind a non-blocking stdout (EAGAIN): the writer waits instead', async () => {
    // Touching process.stdout makes fd 1 non-blocking (libuv opens the pipe so); 3 MB in one turn overfills the pipe
    // while the reader is paused, so the synchronous writes meet EAGAIN and must retry, not drop.
    const { code, lines } = await runWithLogger(
      'process.stdout;\nconst pad = "x".repeat(120);\nfor (let i = 0; i < 20000; i++) logger.info({ i, pad }, "line");',
      { pauseReaderMs: 300 },
    );
    expect(code).toBe(0);
    expect(lines.map((line) => line.i)).toEqual(Array.from({ length: 20000 }, (_, i) => i));
  });

  it('keeps the process alive when the log reader has gone (EPIPE): later lines are dropped, the server runs on', async () => {
    const { code, stderr } = await runWithLogger(
      'let turns = 0;\nconst tick = () => { logger.info({ turns }, "line"); if (++turns < 200) setImmediate(tick); else console.error("still running"); };\ntick();',
      { closeStdout: true },
    );
    expect(stderr).toContain('still running');
    expect(code).toBe(0);
  });
});
