/** Per-user pool settings: defaults, options over the environment, and the range of every number. */
import { describe, expect, it } from 'vitest';
import { isLakebaseError } from '../src/index.js';
import { resolvePerUserSettings } from '../src/toolkit.js';

describe('resolvePerUserSettings', () => {
  it('defaults, environment, options', () => {
    expect(resolvePerUserSettings({}, {})).toEqual({
      maxUsers: 50,
      maxConnectionsPerUser: 2,
      idleSeconds: 60,
      waitMs: 10_000,
      userTokenRecheckSeconds: 300,
    });
    const env = {
      LAKEBASE_USER_POOLS_MAX_USERS: '7',
      LAKEBASE_USER_POOL_MAX: '3',
      LAKEBASE_USER_POOL_IDLE_SECONDS: '5',
    };
    expect(resolvePerUserSettings({}, env)).toMatchObject({ maxUsers: 7, maxConnectionsPerUser: 3, idleSeconds: 5 });
    expect(resolvePerUserSettings({}, { LAKEBASE_USER_TOKEN_RECHECK_SECONDS: '60' }).userTokenRecheckSeconds).toBe(60);
    expect(resolvePerUserSettings({ maxUsers: 9 }, env).maxUsers).toBe(9);
  });

  it.each([
    [{ LAKEBASE_USER_POOLS_MAX_USERS: '0' }, 'LAKEBASE_USER_POOLS_MAX_USERS'],
    [{ LAKEBASE_USER_POOL_MAX: '21' }, 'LAKEBASE_USER_POOL_MAX'],
    [{ LAKEBASE_USER_POOL_IDLE_SECONDS: '1.5' }, 'LAKEBASE_USER_POOL_IDLE_SECONDS'],
    [{ LAKEBASE_USER_POOLS_WAIT_MS: 'soon' }, 'LAKEBASE_USER_POOLS_WAIT_MS'],
    [{ LAKEBASE_USER_TOKEN_RECHECK_SECONDS: '9' }, 'LAKEBASE_USER_TOKEN_RECHECK_SECONDS'],
    [{ LAKEBASE_USER_TOKEN_RECHECK_SECONDS: '3601' }, 'LAKEBASE_USER_TOKEN_RECHECK_SECONDS'],
    [{ LAKEBASE_USER_TOKEN_RECHECK_SECONDS: '60.5' }, 'LAKEBASE_USER_TOKEN_RECHECK_SECONDS'],
  ])('%o is LAKEBASE_CONFIG_INVALID naming %s', (env, name) => {
    let caught: unknown;
    try {
      resolvePerUserSettings({}, env);
    } catch (error) {
      caught = error;
    }
    expect(isLakebaseError(caught, 'LAKEBASE_CONFIG_INVALID')).toBe(true);
    expect((caught as Error).message).toContain(name);
  });

  it('an option out of range names the option', () => {
    expect(() => resolvePerUserSettings({ maxConnectionsPerUser: 0 }, {})).toThrow(/option maxConnectionsPerUser/);
  });
});
