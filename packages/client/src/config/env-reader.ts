/**
 * The one reader of settings from an environment, for the client, the CLI and the app: numbers in a range
 * ({@link parseNumber}), booleans, one-of choices and text, with one rule for all of them: spaces around a value are
 * ignored and an empty variable is an unset one ({@link settingValue}). A value that does not parse is
 * `LAKEBASE_CONFIG_INVALID` naming the variable, never a silent default.
 */
import { invalid } from './invalid.js';
import { type NumberRange, parseNumber, settingValue } from './numbers.js';

const TRUE = ['1', 'true', 'yes', 'on'];
const FALSE = ['0', 'false', 'no', 'off'];

/** `true`/`false` from an option (a boolean) or text (1/true/yes/on, 0/false/no/off, any case), else refused. */
export function parseBoolean(value: unknown, source: string): boolean {
  if (typeof value === 'boolean') return value;
  const text = typeof value === 'string' ? value.trim().toLowerCase() : undefined;
  if (text !== undefined && TRUE.includes(text)) return true;
  if (text !== undefined && FALSE.includes(text)) return false;
  throw invalid(
    `${source} must be true or false, got '${String(value)}'.`,
    `${source.startsWith('option ') ? `Pass ${source.slice(7)}` : `Set ${source} to`} true or false (also 1/0, yes/no, on/off).`,
  );
}

/** One of `choices` (compared without case and surrounding spaces), else refused naming them. */
export function parseChoice<T extends string>(value: unknown, source: string, choices: readonly T[]): T {
  const text = typeof value === 'string' ? value.trim().toLowerCase() : undefined;
  const found = choices.find((choice) => choice.toLowerCase() === text);
  if (found !== undefined) return found;
  const quoted = choices.map((choice) => `'${choice}'`);
  const list = quoted.length > 1 ? `${quoted.slice(0, -1).join(', ')} or ${quoted.at(-1)}` : (quoted[0] ?? '');
  throw invalid(
    `${source} must be ${list}, got '${String(value)}'.`,
    `${source.startsWith('option ') ? `Pass ${source.slice(7)}` : `Set ${source} to`} ${list}.`,
  );
}

/** Typed reads of one environment; each returns `undefined` for an unset or empty variable. */
export interface EnvReader {
  text(name: string): string | undefined;
  number(name: string, range: NumberRange): number | undefined;
  boolean(name: string): boolean | undefined;
  choice<T extends string>(name: string, choices: readonly T[]): T | undefined;
}

/** The {@link EnvReader} of `env` (a merged environment: the process's, .env files under it). */
export function envReader(env: Readonly<Record<string, string | undefined>>): EnvReader {
  const text = (name: string) => settingValue(env[name]);
  return {
    text,
    number: (name, range) => {
      const value = text(name);
      return value === undefined ? undefined : parseNumber(value, name, range);
    },
    boolean: (name) => {
      const value = text(name);
      return value === undefined ? undefined : parseBoolean(value, name);
    },
    choice: (name, choices) => {
      const value = text(name);
      return value === undefined ? undefined : parseChoice(value, name, choices);
    },
  };
}
