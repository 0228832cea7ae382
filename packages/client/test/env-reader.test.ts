/**
 * The one env reader (config/env-reader.ts) that the client, the CLI (`configure`'s port and resource variables) and
 * the app use: an empty or blank variable is unset, numbers go through `parseNumber` with a range, booleans and
 * one-of choices ignore case and surrounding spaces, and anything else is LAKEBASE_CONFIG_INVALID naming the variable.
 */
import { describe, expect, it } from 'vitest';
import { envReader, parseBoolean, parseChoice } from '../src/config/env-reader.js';
import { isLakebaseError } from '../src/errors.js';

const PORTS = { min: 1, max: 65535 };

function refusal(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    if (isLakebaseError(error, 'LAKEBASE_CONFIG_INVALID')) return error;
    throw error;
  }
  throw new Error('expected LAKEBASE_CONFIG_INVALID');
}

describe('envReader', () => {
  it('an empty or blank variable is unset for every kind', () => {
    const read = envReader({ A: '', B: '   ' });
    for (const name of ['A', 'B', 'MISSING']) {
      expect(read.text(name)).toBeUndefined();
      expect(read.number(name, PORTS)).toBeUndefined();
      expect(read.boolean(name)).toBeUndefined();
      expect(read.choice(name, ['x', 'y'])).toBeUndefined();
    }
  });

  it('reads each kind, spaces around it ignored', () => {
    const read = envReader({ PORT: ' 5433 ', ON: ' Yes', TIER: ' PROVISIONED ', NAME: ' db ' });
    expect(read.number('PORT', PORTS)).toBe(5433);
    expect(read.boolean('ON')).toBe(true);
    expect(read.choice('TIER', ['autoscaling', 'provisioned'] as const)).toBe('provisioned');
    expect(read.text('NAME')).toBe('db');
  });

  it('refuses a value it cannot read, naming the variable and the value', () => {
    const read = envReader({ LAKEBASE_PORT: '0x10', PGPORT: '0', FLAG: 'maybe', TIER: 'provisoned' });
    expect(refusal(() => read.number('LAKEBASE_PORT', PORTS)).message).toMatch(/LAKEBASE_PORT must be a whole number/);
    expect(refusal(() => read.number('PGPORT', PORTS)).message).toMatch(/PGPORT must be a whole number from 1/);
    expect(refusal(() => read.boolean('FLAG')).message).toBe("FLAG must be true or false, got 'maybe'.");
    expect(refusal(() => read.choice('TIER', ['autoscaling', 'provisioned'])).message).toBe(
      "TIER must be 'autoscaling' or 'provisioned', got 'provisoned'.",
    );
  });
});

describe('parseBoolean / parseChoice', () => {
  it('take options as values too, and name the option in the suggestion', () => {
    expect(parseBoolean(false, 'option pooled')).toBe(false);
    expect(parseBoolean('OFF', 'LAKEBASE_POOLED')).toBe(false);
    const error = refusal(() => parseBoolean('2', 'option pooled')) as Error & { suggestion?: string };
    expect(error.suggestion).toMatch(/^Pass pooled true or false/);
    expect(parseChoice('Fail', 'LAKEBASE_READ_FALLBACK', ['primary', 'fail'])).toBe('fail');
  });
});
