/** Every numeric setting is range-checked (integers where integers are meant), naming the variable it came from. */
import { describe, expect, it } from 'vitest';
import { createLakebasePool, resolveConfig } from '../src/index.js';
import { MAX_TIMER_DELAY_MS } from '../src/time.js';
import { thrownLakebaseError } from './helpers/errors.js';

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
