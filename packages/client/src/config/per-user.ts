/**
 * Settings of per-user pools (on-behalf-of-user connections, `createUserPools`): how many users' pools may be open at
 * once, how many connections each may hold, and how long an unused one stays open. Explicit options win over the
 * environment; every number has a range, and a value outside it is `LAKEBASE_CONFIG_INVALID` naming its source.
 */
import { parseNumber, settingValue } from './numbers.js';

/** Explicit options; each overrides the environment variable named in its doc. */
export interface PerUserOptions {
  /** Users whose pools may be open at once (`LAKEBASE_USER_POOLS_MAX_USERS`, 1..10000, default 50). */
  maxUsers?: number;
  /** Connections per user (`LAKEBASE_USER_POOL_MAX`, 1..20, default 2). */
  maxConnectionsPerUser?: number;
  /** Close a user's pool unused this long, in seconds (`LAKEBASE_USER_POOL_IDLE_SECONDS`, 1..86400, default 60). */
  idleSeconds?: number;
  /**
   * How long a request for a new user's pool waits for a pool to free up when all `maxUsers` are busy, in ms
   * (`LAKEBASE_USER_POOLS_WAIT_MS`, 0..600000, default 10000); then it fails with `LAKEBASE_CONNECT_FAILED`.
   */
  waitMs?: number;
  /**
   * How long a user token, once the workspace accepted it, is trusted before it is checked again (a credential minted
   * with it), in seconds (`LAKEBASE_USER_TOKEN_RECHECK_SECONDS`, 10..3600, default 300): the longest a revoked token
   * keeps opening the user's pool. An expired token (its `exp`) is refused at once, whatever this says.
   */
  userTokenRecheckSeconds?: number;
}

/** Resolved per-user settings. The bound on open connections is `maxUsers * maxConnectionsPerUser`. */
export interface PerUserSettings {
  maxUsers: number;
  maxConnectionsPerUser: number;
  idleSeconds: number;
  waitMs: number;
  userTokenRecheckSeconds: number;
}

const SETTINGS = {
  maxUsers: { env: 'LAKEBASE_USER_POOLS_MAX_USERS', min: 1, max: 10_000, fallback: 50 },
  maxConnectionsPerUser: { env: 'LAKEBASE_USER_POOL_MAX', min: 1, max: 20, fallback: 2 },
  idleSeconds: { env: 'LAKEBASE_USER_POOL_IDLE_SECONDS', min: 1, max: 86_400, fallback: 60 },
  waitMs: { env: 'LAKEBASE_USER_POOLS_WAIT_MS', min: 0, max: 600_000, fallback: 10_000 },
  userTokenRecheckSeconds: { env: 'LAKEBASE_USER_TOKEN_RECHECK_SECONDS', min: 10, max: 3600, fallback: 300 },
} as const;

/** Options over `env` over defaults. */
export function resolvePerUserSettings(
  options: PerUserOptions = {},
  env: Record<string, string | undefined> = process.env,
): PerUserSettings {
  const out = {} as PerUserSettings;
  for (const [key, spec] of Object.entries(SETTINGS) as [
    keyof PerUserSettings,
    (typeof SETTINGS)[keyof PerUserSettings],
  ][]) {
    const option = options[key];
    const raw = settingValue(env[spec.env]);
    const range = { min: spec.min, max: spec.max };
    if (option !== undefined) out[key] = parseNumber(option, `option ${key}`, range);
    else if (raw !== undefined) out[key] = parseNumber(raw, spec.env, range);
    else out[key] = spec.fallback;
  }
  return out;
}

/** The user token `lakebase doctor --as-user` checks with: `LAKEBASE_USER_TOKEN`, or undefined. */
export function perUserToken(env: Record<string, string | undefined> = process.env): string | undefined {
  return settingValue(env.LAKEBASE_USER_TOKEN);
}
