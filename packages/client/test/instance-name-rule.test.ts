/**
 * One instance-name rule (config/names.ts) for the client and the emulator. The client accepts any case (DNS is
 * case-insensitive; the API decides); the emulator behaves as the Lakebase API creating an instance, which refuses
 * capitals, through the `lowercase` flag of the same rule rather than a second pattern.
 */
import { describe, expect, it } from 'vitest';
import { INSTANCE_NAME_PATTERN, isInstanceName, parseInstanceName } from '../src/config/names.js';

describe('isInstanceName', () => {
  it('is the client’s parser’s rule, and `lowercase` only adds the server’s refusal of capitals', () => {
    for (const name of ['orders-db', 'a', '0db', 'x'.repeat(63), 'Orders-DB']) {
      expect(isInstanceName(name), name).toBe(true);
      expect(parseInstanceName(name)).toBe(name);
      expect(isInstanceName(name, { lowercase: true }), name).toBe(name === name.toLowerCase());
    }
    for (const name of ['', '-lead', 'trail-', 'my_instance', 'x'.repeat(64), 'a/b', 'a..b', 'ä']) {
      expect(isInstanceName(name), name).toBe(false);
      expect(isInstanceName(name, { lowercase: true }), name).toBe(false);
      expect(() => parseInstanceName(name)).toThrow(/Invalid/);
    }
    expect(INSTANCE_NAME_PATTERN.flags).toBe('i');
  });
});
