/**
 * Settings of read scaling and the pooled host: where the read pool connects, what it does when that host is down,
 * and whether connections go through the endpoint's transaction-mode pooler. Each option overrides its variable.
 */
import { parseBoolean, parseChoice } from './env-reader.js';
import { parseNumber, settingValue } from './numbers.js';

const READ_FALLBACKS = ['primary', 'fail'] as const;

/** What the read pool does when its host is not configured or cannot be reached. */
export type ReadFallback = 'primary' | 'fail';

/** Explicit options (also fields of `LakebaseOptions`). */
export interface ReadScalingOptions {
  /** Host of the read pool (`LAKEBASE_READ_HOST`); default: the endpoint's `read_only_host` / instance's `read_only_dns`. */
  readHost?: string;
  /** `primary` (default: reads go to the write host, with a warning and a metric) or `fail` (`LAKEBASE_READ_FALLBACK`). */
  readFallback?: ReadFallback;
  /** After falling back, try the read host again after this many seconds (`LAKEBASE_READ_RETRY_SECONDS`, 1..3600, 30). */
  readRetrySeconds?: number;
  /** Connect timeout of the read pool in ms, short so a dead replica falls back quickly (`LAKEBASE_READ_CONNECT_TIMEOUT_MS`, 100..60000, 5000). */
  readConnectTimeoutMs?: number;
  /** Connect through the pooled host (PgBouncer, transaction mode) (`LAKEBASE_POOLED`, default false). */
  pooled?: boolean;
  /** The pooled host, when it cannot be looked up (`LAKEBASE_POOLED_HOST`). */
  pooledHost?: string;
}

/** The resolved settings. */
export interface ReadScalingSettings {
  readHost: string | undefined;
  readFallback: ReadFallback;
  readRetryMs: number;
  readConnectTimeoutMs: number;
  pooled: boolean;
  pooledHost: string | undefined;
}

type Env = Record<string, string | undefined>;

/** Reads the read-scaling settings; a bad value throws `LAKEBASE_CONFIG_INVALID` naming where it came from. */
export function resolveReadScaling(options: ReadScalingOptions, env: Env): ReadScalingSettings {
  const pick = (option: keyof ReadScalingOptions, name: string): [unknown, string] | undefined => {
    const value = options[option];
    if (value !== undefined && value !== '') return [value, `option ${option}`];
    const fromEnv = settingValue(env[name]);
    return fromEnv ? [fromEnv, name] : undefined;
  };
  const text = (option: keyof ReadScalingOptions, name: string) => {
    const found = pick(option, name);
    return found ? String(found[0]).trim() : undefined;
  };
  const fallback = pick('readFallback', 'LAKEBASE_READ_FALLBACK');
  const readFallback = fallback ? parseChoice(fallback[0], fallback[1], READ_FALLBACKS) : 'primary';
  return {
    readHost: text('readHost', 'LAKEBASE_READ_HOST'),
    readFallback,
    readRetryMs: 1000 * number(pick('readRetrySeconds', 'LAKEBASE_READ_RETRY_SECONDS'), 30, 1, 3600),
    readConnectTimeoutMs: number(pick('readConnectTimeoutMs', 'LAKEBASE_READ_CONNECT_TIMEOUT_MS'), 5000, 100, 60_000),
    pooled: boolean(pick('pooled', 'LAKEBASE_POOLED')),
    pooledHost: text('pooledHost', 'LAKEBASE_POOLED_HOST'),
  };
}

function number(found: [unknown, string] | undefined, fallback: number, min: number, max: number): number {
  return found ? parseNumber(found[0], found[1], { min, max }) : fallback;
}

function boolean(found: [unknown, string] | undefined): boolean {
  if (!found) return false;
  return parseBoolean(found[0], found[1]);
}
