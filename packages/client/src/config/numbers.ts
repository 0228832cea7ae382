/**
 * The one parser of numeric settings (the client's, the CLI's flags, the app's): `parseNumber` reads a whole number in
 * a documented range or throws `LAKEBASE_CONFIG_INVALID` naming where it came from; `settingValue` is the rule that an
 * empty variable is an unset one. Also the ranges the client's settings share.
 */
import { MAX_TIMER_DELAY_MS } from '../time.js';
import { invalid } from './invalid.js';

/*
 * Ranges of the numeric settings. Durations stop where a timer can still honour them (Node fires a longer one after
 * 1 ms) or where the platform makes a longer one meaningless.
 */
/** A database token lives an hour: a larger refresh margin would refresh on every use. */
export const MAX_REFRESH_MARGIN_SECONDS = 3600;
/** Lakebase closes any connection after 3 days. */
export const MAX_RECYCLE_INTERVAL_SECONDS = 3 * 24 * 3600;
/** Per pool setting (DB_POOL_SIZE, DB_MAX_OVERFLOW): far above any instance's connection limit. */
export const MAX_POOL_CONNECTIONS = 10_000;
export const MAX_TIMER_DELAY_SECONDS = Math.floor(MAX_TIMER_DELAY_MS / 1000);
/** The least connect, idle and API timeout in ms: less is never meant (and pg reads 0 as no limit at all). */
export const MIN_TIMEOUT_MS = 100;

/** The values a numeric setting accepts, both ends included. */
export interface NumberRange {
  min: number;
  max: number;
}

/**
 * A decimal integer as people write one: an optional minus sign and ASCII digits, no leading zero. Everything else
 * `Number()` would also take is refused, because each reads as something other than what was meant: `0x10` `0o7`
 * `0b1` (other bases), `1e3` `1e-9` (exponents: `PGCONNECT_TIMEOUT=1e-9` was a 0 s timeout), `+5`, `-0`, `5.0`,
 * `Infinity`, `٣` (non-ASCII digits), `''` (empty: 0 to `Number`).
 */
const DECIMAL_INTEGER = /^-?(?:0|[1-9][0-9]*)$/;

/**
 * A whole number in `range` from an option (a JS number) or a variable (text; spaces around it are ignored, as for
 * every setting), or `LAKEBASE_CONFIG_INVALID` naming `source` and the range.
 */
export function parseNumber(value: unknown, source: string, range: NumberRange): number {
  const n = typeof value === 'number' ? value : typeof value === 'string' ? decimalInteger(value) : Number.NaN;
  if (Number.isSafeInteger(n) && n >= range.min && n <= range.max) return n === 0 ? 0 : n; // -0 from an option is 0
  throw invalid(
    `${source} must be a whole number from ${range.min} to ${range.max}, got '${String(value)}'.`,
    `${source.startsWith('option ') ? `Pass ${source.slice(7)}` : `Set ${source} to`} a whole number from ` +
      `${range.min} to ${range.max} (decimal digits only: no 0x, exponent, sign or fraction).`,
  );
}

function decimalInteger(text: string): number {
  const trimmed = text.trim();
  return DECIMAL_INTEGER.test(trimmed) && trimmed !== '-0' ? Number(trimmed) : Number.NaN;
}

/**
 * A variable's value without the spaces around it, or `undefined` when it is unset, empty or only spaces: an empty
 * variable (`DATABRICKS_APP_PORT=`) means unset everywhere, never 0 or ''.
 */
export function settingValue(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}
