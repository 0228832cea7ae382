import { describe, expect, it } from 'vitest';
import { BIN, runCommand } from './helpers.js';

/**
 * Numeric flags and arguments go through the client's one parser: decimal integers in the flag's range, refused as a
 * usage error before anything starts.
 */
describe('numeric flags', () => {
  it('--pg-port, --token-ttl and a migrate count refuse anything but a decimal integer', async () => {
    // Should a value be taken, the emulator fails at once on a data directory it cannot create instead of running.
    const emulator = ['emulator', '--data-dir', '/dev/null/emulator'];
    const cases = [
      ...['05', '0x10', '1e-9', '+5', '٣', '5.0', '99999999999999999999'].map((v) => [...emulator, '--pg-port', v]),
      [...emulator, '--token-ttl', '0x10'],
      [...emulator, '--token-ttl', '0'],
      [...emulator, '--api-port', ''],
      ['migrate', 'down', '1e3'],
    ];
    const results = await Promise.all(cases.map((args) => runCommand(process.execPath, [BIN, ...args])));
    results.forEach(({ code, stderr }, i) => {
      const label = JSON.stringify(cases[i]);
      expect(code, label).toBe(1);
      expect(stderr, label).toMatch(/expected a whole number from \d+ to \d+, got '.*'\. \[LAKEBASE_USAGE_ERROR\]/);
    });
  });
});
