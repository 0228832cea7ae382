/** The ranges of the numeric settings and `parseNumber`, which reads one and refuses a value outside its range. */
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

/** Parse a number from an option or variable, or throw `LAKEBASE_CONFIG_INVALID` naming where it came from. */
export function parseNumber(
  value: unknown,
  source: string,
  bounds: { min?: number; max?: number; integer?: boolean } = {},
): number {
  const n =
    typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : Number.NaN;
  const kind = bounds.integer ? 'an integer' : 'a number';
  const ok =
    Number.isFinite(n) &&
    (!bounds.integer || Number.isInteger(n)) &&
    (bounds.min === undefined || n >= bounds.min) &&
    (bounds.max === undefined || n <= bounds.max);
  if (!ok) {
    const range = [
      bounds.min === undefined ? '' : `>= ${bounds.min}`,
      bounds.max === undefined ? '' : `<= ${bounds.max}`,
    ]
      .filter(Boolean)
      .join(' and ');
    throw invalid(
      `${source} must be ${kind}${range ? ` ${range}` : ''}, got '${String(value)}'.`,
      `Fix ${source.replace(/^option /, 'the ')} value.`,
    );
  }
  return n;
}
