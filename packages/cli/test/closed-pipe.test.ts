/**
 * `lakebase ... | head`: a reader that goes away before the output is written is the normal end of a pipe, not a
 * crash. Before, the write failed with an unhandled EPIPE and a stack trace on stderr.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { BIN } from './helpers.js';

describe('stdout closed by the reader', () => {
  it.each(['--help', 'emulator --help', 'proxy --help'])(
    'lakebase %s exits 0 without a stack trace',
    async (command) => {
      const args = command.split(' ');
      const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      // The reader leaves at once, as `head -0` would: every write to stdout fails with EPIPE.
      child.stdout.destroy();
      let stderr = '';
      child.stderr.on('data', (chunk) => {
        stderr += chunk;
      });
      const [code] = await once(child, 'exit');
      expect(stderr).not.toMatch(/EPIPE|Unhandled|at .*\(/);
      expect(code).toBe(0);
    },
  );
});
