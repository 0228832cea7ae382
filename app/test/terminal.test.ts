import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { startLine, wantsPrettyLogs } from '../server/terminal.js';
import { TEST_DATABASE_URL } from './helpers.js';
import { cleanEnv, isRunning, processTree, survivorsAfter } from './npm-process.js';
import { assertBuilt, MAIN_JS } from './spawn-server.js';

const pool = {} as never;

describe('what `npm start` shows a person', () => {
  it('says in one line where the app is and what it is connected to', () => {
    const url = 'http://localhost:8000';
    expect(startLine(url, { configured: false })).toBe(
      'Lakebase app ready at http://localhost:8000, no Lakebase configured (the API answers 503 LAKEBASE_NOT_CONFIGURED)',
    );
    const emulator = {
      tier: 'autoscaling',
      endpoint: 'projects/p/branches/b/endpoints/e',
      database: 'd',
      emulator: true,
    };
    expect(startLine(url, { configured: true, pool, info: () => emulator })).toBe(
      'Lakebase app ready at http://localhost:8000, connected to the embedded Lakebase emulator (database d)',
    );
    const endpoint = { ...emulator, emulator: false };
    expect(startLine(url, { configured: true, pool, info: endpoint })).toBe(
      'Lakebase app ready at http://localhost:8000, connected to Lakebase endpoint projects/p/branches/b/endpoints/e (database d)',
    );
    const instance = { tier: 'provisioned', instanceName: 'my-db', host: 'instance-1.example.com', database: 'd' };
    expect(startLine(url, { configured: true, pool, info: instance })).toContain(
      'connected to Lakebase instance my-db',
    );
    const plain = { tier: 'static', host: '127.0.0.1', database: 'test' };
    expect(startLine(url, { configured: true, pool, info: plain })).toContain('connected to PostgreSQL at 127.0.0.1');
  });

  it('pretty logs only for a terminal outside production', () => {
    expect(wantsPrettyLogs({ isTTY: true, production: false })).toBe(true);
    expect(wantsPrettyLogs({ isTTY: true, production: true })).toBe(false);
    expect(wantsPrettyLogs({ isTTY: undefined, production: false })).toBe(false);
  });

  // util-linux `script` gives the server a pseudo-terminal, as in a developer's shell.
  it.skipIf(!existsSync('/usr/bin/script'))(
    'at a terminal: the start line, readable logs, and a readable clean shutdown',
    async () => {
      assertBuilt();
      const env = cleanEnv({ LAKEBASE_PG_URL: TEST_DATABASE_URL });
      const child = spawn('script', ['-qec', `${process.execPath} ${MAIN_JS}`, '/dev/null'], { env });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
      });
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      try {
        const deadline = Date.now() + 45_000;
        while (!/Lakebase app ready at/.test(output) && Date.now() < deadline && child.exitCode === null) {
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        expect(output).toMatch(
          /^ {2}Lakebase app ready at http:\/\/localhost:\d+, connected to PostgreSQL at 127\.0\.0\.1 \(database test\)\r?$/m,
        );
        expect(output).toMatch(/INFO.*lakebase app listening/);
        expect(output).not.toContain('{"level"');

        // `script` runs the command through $SHELL -c; dash keeps that shell as the server's parent, bash execs into
        // it. Either way the server is the one process whose command line is exactly ours.
        const server = processTree(child.pid as number).filter((p) => p.command === `${process.execPath} ${MAIN_JS}`);
        expect(server).toHaveLength(1);
        process.kill((server[0] as { pid: number }).pid, 'SIGTERM');
        expect(await exited).toBe(0);
        expect(output).toMatch(/INFO.*shut down cleanly/);
        expect(await survivorsAfter(server as { pid: number; command: string }[], 5_000)).toEqual([]);
      } finally {
        for (const { pid } of processTree(child.pid as number)) if (isRunning(pid)) process.kill(pid, 'SIGKILL');
        if (child.exitCode === null) child.kill('SIGKILL');
      }
    },
    60_000,
  );
});
