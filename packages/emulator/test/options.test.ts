import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startEmulator } from '../src/index.js';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

/** The emulator reads no environment; its numeric options are checked where they are given. */
describe('emulator options', () => {
  it('tokenTtlSeconds 0 (or less, or NaN) is refused, not silently the default hour', async () => {
    for (const tokenTtlSeconds of [0, -5, Number.NaN]) {
      const dataDir = await mkdtemp(path.join(os.tmpdir(), 'lakebase-emulator-options-'));
      dirs.push(dataDir);
      const started = await startEmulator({ dataDir, apiPort: 0, pgPort: 0, tokenTtlSeconds, onNotice: () => {} }).then(
        async (emulator) => {
          await emulator.stop();
          return 'started';
        },
        (error: Error) => error.message,
      );
      expect(started, String(tokenTtlSeconds)).toMatch(/token TTL must be > 0 seconds/);
    }
  }, 60_000);
});
