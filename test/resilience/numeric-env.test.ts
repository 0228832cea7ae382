/**
 * Numeric environment values, property-based (fast-check): whatever text a numeric variable holds, `resolveConfig`
 * (and `resolvePerUserSettings`) either rejects it with LAKEBASE_CONFIG_INVALID naming that variable, or accepts it as
 * an integer in range whose derived timers Node can honour (at most 2^31-1 ms). Only a decimal integer is ever
 * accepted (spaces around it aside), and an empty or blank value is the same as none.
 */
import { isLakebaseError, type LakebaseConfig, resolveConfig } from '@lakebase-kit/client';
import { resolvePerUserSettings } from '@lakebase-kit/client/toolkit';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FULL } from './helpers.js';

const RUNS = FULL ? 2_000 : 300;
const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;
const STATIC = { LAKEBASE_PG_URL: 'postgresql://postgres@127.0.0.1:5432/test' };

/** Each numeric variable and what an accepted value must satisfy. */
const CHECKS: Record<string, (c: LakebaseConfig) => boolean> = {
  PGPORT: (c) => Number.isInteger(c.port) && c.port >= 1 && c.port <= 65535,
  LAKEBASE_PORT: (c) => Number.isInteger(c.port) && c.port >= 1 && c.port <= 65535,
  DB_POOL_SIZE: (c) => Number.isInteger(c.pool.size) && c.pool.size >= 0,
  DB_MAX_OVERFLOW: (c) => Number.isInteger(c.pool.maxOverflow) && c.pool.maxOverflow >= 0,
  DB_POOL_RECYCLE_INTERVAL: (c) =>
    c.pool.recycleIntervalSeconds >= 0 && c.pool.recycleIntervalSeconds * 1000 <= MAX_TIMER_DELAY_MS,
  PGCONNECT_TIMEOUT: (c) =>
    c.pool.connectionTimeoutMillis >= 1000 && c.pool.connectionTimeoutMillis <= MAX_TIMER_DELAY_MS,
  LAKEBASE_TOKEN_REFRESH_MARGIN_SECONDS: (c) => c.tokenRefreshMarginMs >= 0 && c.tokenRefreshMarginMs <= 3_600_000,
  LAKEBASE_READ_RETRY_SECONDS: (c) => c.readScaling.readRetryMs >= 1000 && c.readScaling.readRetryMs <= 3_600_000,
  LAKEBASE_READ_CONNECT_TIMEOUT_MS: (c) =>
    c.readScaling.readConnectTimeoutMs >= 100 && c.readScaling.readConnectTimeoutMs <= 60_000,
};

/** The per-user variables (`createUserPools`) and their ranges. */
const PER_USER: Record<string, [keyof ReturnType<typeof resolvePerUserSettings>, number, number]> = {
  LAKEBASE_USER_POOLS_MAX_USERS: ['maxUsers', 1, 10_000],
  LAKEBASE_USER_POOL_MAX: ['maxConnectionsPerUser', 1, 20],
  LAKEBASE_USER_POOL_IDLE_SECONDS: ['idleSeconds', 1, 86_400],
  LAKEBASE_USER_POOLS_WAIT_MS: ['waitMs', 0, 600_000],
};

/** What an accepted value may look like: a decimal integer, spaces around it aside. */
const DECIMAL_INTEGER = /^\s*-?(0|[1-9][0-9]*)\s*$/;

/** Numbers as people and scripts write them, and as they go wrong. */
const numericText = fc.oneof(
  fc.integer({ min: -10, max: 70_000 }).map(String),
  fc.double({ noNaN: false }).map(String),
  fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }).map(String),
  fc.integer({ min: 0, max: 5_000_000 }).map((n) => `${n}.5`),
  fc.integer({ min: 0, max: 40 }).map((e) => `1e${e}`),
  fc.constantFrom('0x10', ' 30 ', '3_000', '-0', '+5', 'Infinity', '1,5', '٣', '3000000', '5432.5'),
  fc.constantFrom('0o7', '0b1', '1e3', '1e-9', ' 5', '5 ', '5.0', '', '   ', 'NaN', '-Infinity', '05', '９'),
  fc.constantFrom('99999999999999999999', '1'.repeat(400), `${Number.MAX_SAFE_INTEGER + 2}`),
);

const unset = resolveConfig({}, STATIC);

describe('numeric environment values (property)', () => {
  it('are accepted in range or rejected with LAKEBASE_CONFIG_INVALID naming the variable', () => {
    fc.assert(
      fc.property(fc.constantFrom(...Object.keys(CHECKS)), numericText, (name, value) => {
        let config: LakebaseConfig;
        try {
          config = resolveConfig({}, { ...STATIC, [name]: value });
        } catch (error) {
          expect(isLakebaseError(error, 'LAKEBASE_CONFIG_INVALID')).toBe(true);
          expect((error as Error).message).toContain(name);
          return;
        }
        expect(CHECKS[name]?.(config)).toBe(true);
        if (value.trim() === '') expect(config).toEqual(unset);
        else expect(value).toMatch(DECIMAL_INTEGER);
      }),
      { numRuns: RUNS },
    );
  });

  it('per-user settings: the same rules', () => {
    const defaults = resolvePerUserSettings({}, {});
    fc.assert(
      fc.property(fc.constantFrom(...Object.keys(PER_USER)), numericText, (name, value) => {
        const [key, min, max] = PER_USER[name] as [keyof typeof defaults, number, number];
        let read: number;
        try {
          read = resolvePerUserSettings({}, { [name]: value })[key];
        } catch (error) {
          expect(isLakebaseError(error, 'LAKEBASE_CONFIG_INVALID')).toBe(true);
          expect((error as Error).message).toContain(name);
          return;
        }
        if (value.trim() === '') {
          expect(read).toBe(defaults[key]);
          return;
        }
        expect(value).toMatch(DECIMAL_INTEGER);
        expect(Number.isInteger(read) && read >= min && read <= max).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });
});
