/** Every numeric setting is range-checked (integers where integers are meant), naming the variable it came from. */
import { describe, expect, it } from 'vitest';
import { resolveReadScaling } from '../src/config/read-scaling.js';
import { createLakebasePool, resolveConfig } from '../src/index.js';
import { MAX_TIMER_DELAY_MS } from '../src/time.js';
import { resolvePerUserSettings } from '../src/toolkit.js';
import { thrownLakebaseError } from './helpers/errors.js';
import { NOT_DECIMAL_INTEGERS } from './helpers/numbers.js';

const STATIC = { LAKEBASE_PG_URL: 'postgresql://postgres@127.0.0.1:5432/test' };

describe('numeric settings out of range', () => {
  const rejected: [string, string][] = [
    ['PGCONNECT_TIMEOUT', '3000000'], // overflowed the connect timer: every connect timed out after 1 ms
    ['DB_POOL_RECYCLE_INTERVAL', '3000000'], // recycled connections after ~1 ms
    ['PGPORT', '5432.5'],
    ['LAKEBASE_PORT', '70000'],
    ['DB_POOL_SIZE', '2.5'],
    ['DB_MAX_OVERFLOW', '1e9'],
    ['LAKEBASE_TOKEN_REFRESH_MARGIN_SECONDS', '86400'],
    ['PGCONNECT_TIMEOUT', 'Infinity'],
  ];
  for (const [name, value] of rejected) {
    it(`${name}=${value} -> LAKEBASE_CONFIG_INVALID naming ${name}`, () => {
      const error = thrownLakebaseError(() => resolveConfig({}, { ...STATIC, [name]: value }));
      expect(error.code).toBe('LAKEBASE_CONFIG_INVALID');
      expect(error.message).toContain(name);
      expect(error.suggestion).toContain(name);
    });
  }

  it('options are checked the same way, named as options', () => {
    for (const options of [
      { connectionTimeoutMillis: MAX_TIMER_DELAY_MS + 1 },
      { idleTimeoutMillis: 1e13 },
      { port: 5432.5 },
    ]) {
      const error = thrownLakebaseError(() => resolveConfig(options, STATIC));
      expect(error.code).toBe('LAKEBASE_CONFIG_INVALID');
      expect(error.message).toContain(`option ${Object.keys(options)[0]}`);
    }
    const api = thrownLakebaseError(() => createLakebasePool({ env: { ...STATIC }, apiTimeoutMs: -1 }));
    expect(api.message).toContain('apiTimeoutMs');
  });

  it('values at the edges of the ranges are accepted', () => {
    const c = resolveConfig(
      {},
      {
        ...STATIC,
        PGCONNECT_TIMEOUT: String(Math.floor(MAX_TIMER_DELAY_MS / 1000)),
        DB_POOL_RECYCLE_INTERVAL: String(3 * 24 * 3600),
        LAKEBASE_TOKEN_REFRESH_MARGIN_SECONDS: '3600',
        PGPORT: '65535',
      },
    );
    expect(c.pool.connectionTimeoutMillis).toBeLessThanOrEqual(MAX_TIMER_DELAY_MS);
    expect(c.pool.recycleIntervalSeconds).toBe(259_200);
  });
});

/**
 * Every numeric variable of the client: how to read its value from the environment, and a value in its range. The
 * read goes through the public resolvers, so a variable that one of them forgets fails here.
 */
const NUMERIC_VARIABLES: Record<string, { read: (env: Record<string, string>) => number; valid: number }> = {
  // Not in static mode, where the URL's port wins.
  PGPORT: { read: (env) => resolveConfig({}, { LAKEBASE_INSTANCE_NAME: 'i', ...env }).port, valid: 5 },
  LAKEBASE_PORT: { read: (env) => resolveConfig({}, { LAKEBASE_INSTANCE_NAME: 'i', ...env }).port, valid: 5 },
  DB_POOL_SIZE: { read: (env) => resolveConfig({}, { ...STATIC, ...env }).pool.size, valid: 5 },
  DB_MAX_OVERFLOW: { read: (env) => resolveConfig({}, { ...STATIC, ...env }).pool.maxOverflow, valid: 5 },
  DB_POOL_RECYCLE_INTERVAL: {
    read: (env) => resolveConfig({}, { ...STATIC, ...env }).pool.recycleIntervalSeconds,
    valid: 5,
  },
  PGCONNECT_TIMEOUT: {
    read: (env) => resolveConfig({}, { ...STATIC, ...env }).pool.connectionTimeoutMillis / 1000,
    valid: 5,
  },
  LAKEBASE_TOKEN_REFRESH_MARGIN_SECONDS: {
    read: (env) => resolveConfig({}, { ...STATIC, ...env }).tokenRefreshMarginMs / 1000,
    valid: 5,
  },
  LAKEBASE_READ_RETRY_SECONDS: { read: (env) => resolveReadScaling({}, env).readRetryMs / 1000, valid: 5 },
  LAKEBASE_READ_CONNECT_TIMEOUT_MS: { read: (env) => resolveReadScaling({}, env).readConnectTimeoutMs, valid: 500 },
  LAKEBASE_USER_POOLS_MAX_USERS: { read: (env) => resolvePerUserSettings({}, env).maxUsers, valid: 5 },
  LAKEBASE_USER_POOL_MAX: { read: (env) => resolvePerUserSettings({}, env).maxConnectionsPerUser, valid: 5 },
  LAKEBASE_USER_POOL_IDLE_SECONDS: { read: (env) => resolvePerUserSettings({}, env).idleSeconds, valid: 5 },
  LAKEBASE_USER_POOLS_WAIT_MS: { read: (env) => resolvePerUserSettings({}, env).waitMs, valid: 5 },
};

describe('numbers are decimal integers, every variable', () => {
  for (const [name, { read, valid }] of Object.entries(NUMERIC_VARIABLES)) {
    it(`${name}: other bases, exponents, signs, fractions, non-ASCII digits and huge values are refused`, () => {
      for (const value of NOT_DECIMAL_INTEGERS) {
        const error = thrownLakebaseError(() => read({ [name]: value }));
        expect(error.code, `${name}=${value}`).toBe('LAKEBASE_CONFIG_INVALID');
        expect(error.message).toContain(name);
        expect(error.message).toMatch(/from -?\d+ to \d+/); // the documented range
      }
    });

    it(`${name}: spaces around a number are ignored; empty or blank means unset (the default)`, () => {
      expect(read({ [name]: ` ${valid}` })).toBe(valid);
      expect(read({ [name]: `${valid} ` })).toBe(valid);
      const unset = read({});
      expect(read({ [name]: '' })).toBe(unset);
      expect(read({ [name]: '   ' })).toBe(unset);
    });
  }

  it('timeouts have a least value that means something: no 0 s connect timeout, no 0 ms timers', () => {
    for (const [name, value] of [
      ['PGCONNECT_TIMEOUT', '0'], // libpq: wait forever
      ['LAKEBASE_READ_CONNECT_TIMEOUT_MS', '0'],
      ['LAKEBASE_READ_RETRY_SECONDS', '0'],
      ['LAKEBASE_USER_POOL_IDLE_SECONDS', '0'],
    ] as const) {
      expect(thrownLakebaseError(() => NUMERIC_VARIABLES[name]?.read({ [name]: value })).code).toBe(
        'LAKEBASE_CONFIG_INVALID',
      );
    }
    for (const options of [{ connectionTimeoutMillis: 0 }, { idleTimeoutMillis: 0 }, { connectionTimeoutMillis: 99 }]) {
      const error = thrownLakebaseError(() => resolveConfig(options, STATIC));
      expect(error.message).toContain(`option ${Object.keys(options)[0]}`);
    }
    expect(thrownLakebaseError(() => createLakebasePool({ env: { ...STATIC }, apiTimeoutMs: 0 })).message).toContain(
      'apiTimeoutMs',
    );
  });

  it('options are whole numbers too: fractions, NaN and Infinity are refused', () => {
    for (const options of [
      { port: 5432.5 },
      { poolSize: Number.NaN },
      { connectionTimeoutMillis: 1500.5 },
      { tokenRefreshMarginSeconds: 0.5 },
      { recycleIntervalSeconds: Number.POSITIVE_INFINITY },
    ]) {
      const error = thrownLakebaseError(() => resolveConfig(options, STATIC));
      expect(error.message).toContain(`option ${Object.keys(options)[0]}`);
    }
    expect(thrownLakebaseError(() => resolvePerUserSettings({ waitMs: 2.5 }, {})).message).toContain('option waitMs');
    expect(() => resolveReadScaling({ readRetrySeconds: 1.5 }, {})).toThrow(/option readRetrySeconds/);
  });
});
