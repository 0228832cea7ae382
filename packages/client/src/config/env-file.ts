/**
 * `.env.local` handling for tools that write connection settings: read and parse dotenv files, load `.env.local` then
 * `.env` under the process environment, rewrite chosen keys while keeping every other line byte for byte, write
 * atomically with mode 0600, and make sure the file is git-ignored. Nothing here ever writes a secret: callers pass
 * only the keys they mean to store.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseEnv } from 'node:util';
import { LakebaseError } from '../errors.js';
import { writeFileAtomic } from './atomic-write.js';
import { settingValue } from './numbers.js';

type Env = Record<string, string | undefined>;

/** The files {@link loadEnvFiles} reads, highest precedence first. */
export const ENV_FILES = ['.env.local', '.env'] as const;

/** The text of a dotenv file, or `undefined` when it does not exist; any other read failure is a clear error. */
export async function readEnvText(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new LakebaseError(
      'LAKEBASE_CONFIG_INVALID',
      `Cannot read ${file}: ${(error as Error).message.split('\n')[0]}`,
      {
        suggestion: `Fix the file's permissions (chmod 600 ${path.basename(file)}) or remove it, then retry.`,
        cause: error,
        details: { file },
      },
    );
  }
}

/**
 * Parse dotenv text with Node's own parser (`util.parseEnv`: quotes, `export`, comments, multi-line values). A UTF-8
 * byte order mark (Windows editors write one) is dropped first: parseEnv would make it part of the first name.
 */
export function parseEnvText(text: string): Record<string, string> {
  return parseEnv(text.startsWith('\uFEFF') ? text.slice(1) : text) as Record<string, string>;
}

/**
 * The environment every entry point (the CLI, the app, your own script) reads its settings from, in one order: `.env`
 * from `dir`, then `.env.local` over it, then `base` (normally `process.env`) over both; explicit options then beat
 * the result when it is resolved (`resolveConfig(options, env)`). An empty or blank value is unset at every level, so
 * `DB_POOL_SIZE=` in the shell does not hide the files' value. Returns the merged copy and the files found; `base` is
 * not modified.
 */
export async function loadEnvFiles(dir: string, base: Env = process.env): Promise<{ env: Env; files: string[] }> {
  const env: Env = {};
  const files: string[] = [];
  // A blank value is kept only where nothing below it has one (a child process still sees `FOO=`).
  const over = (values: Env) => {
    for (const [key, value] of Object.entries(values)) {
      if (value !== undefined && (settingValue(value) !== undefined || settingValue(env[key]) === undefined)) {
        env[key] = value;
      }
    }
  };
  for (const name of [...ENV_FILES].reverse()) {
    const file = path.join(dir, name);
    const text = await readEnvText(file);
    if (text === undefined) continue;
    files.unshift(file);
    over(parseEnvText(text));
  }
  over(base);
  return { env, files };
}

/** Matches `KEY=…` and `export KEY=…` assignment lines and captures the key. */
const ASSIGNMENT = /^\uFEFF?\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=/;

/**
 * Set (string) or remove (`undefined`) the given keys in dotenv `text`. A key already present is rewritten in place
 * (later duplicates are dropped, since they would override it); new keys are appended under `header`. Every other
 * line, comment and blank line is kept as it was.
 */
export function mergeEnvText(text: string, values: Env, header = '# Lakebase'): string {
  const pending = new Map(Object.entries(values));
  const seen = new Set<string>();
  const lines = text === '' ? [] : text.replace(/\r?\n$/, '').split(/\r?\n/);
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    const key = ASSIGNMENT.exec(line)?.[1];
    if (key === undefined || !pending.has(key)) {
      out.push(line);
      continue;
    }
    // A quoted value may span lines: skip its continuation lines too.
    i = endOfAssignment(lines, i);
    if (seen.has(key)) continue;
    seen.add(key);
    const value = pending.get(key);
    if (value !== undefined) out.push(`${key}=${quoteEnvValue(value)}`);
  }
  const added = [...pending].filter(([key, value]) => !seen.has(key) && value !== undefined);
  if (added.length > 0) {
    if (out.length > 0 && out.at(-1)?.trim() !== '') out.push('');
    out.push(header);
    for (const [key, value] of added) out.push(`${key}=${quoteEnvValue(value as string)}`);
  }
  return out.length === 0 ? '' : `${out.join('\n')}\n`;
}

/** Index of the last line of the assignment starting at `start` (a quoted value can continue over lines). */
function endOfAssignment(lines: string[], start: number): number {
  const value = (lines[start] as string).replace(ASSIGNMENT, '').trimStart();
  const quote = value[0];
  if (quote !== '"' && quote !== "'" && quote !== '`') return start;
  if (value.indexOf(quote, 1) > 0) return start;
  for (let i = start + 1; i < lines.length; i++) if ((lines[i] as string).includes(quote)) return i;
  return start;
}

/** Quote a value only when dotenv would otherwise misread it (spaces, `#`, quotes). */
export function quoteEnvValue(value: string): string {
  if (/^[\w@%+:,./-]*$/.test(value)) return value;
  if (!value.includes('"')) return `"${value.replaceAll('\n', '\\n')}"`;
  return `'${value}'`;
}

/**
 * Write `values` into the dotenv file (see {@link mergeEnvText}) atomically: a temporary file with mode 0600 in the
 * same directory, then a rename, so a reader never sees half a file and the permissions never widen.
 */
export async function updateEnvFile(file: string, values: Env, header?: string): Promise<{ created: boolean }> {
  const before = await readEnvText(file);
  const text = mergeEnvText(before ?? '', values, header);
  await writeFileAtomic(file, text, 0o600);
  return { created: before === undefined };
}

/** Patterns in a `.gitignore` that already cover `.env.local`. */
function coversEnvLocal(line: string, entry: string): boolean {
  const pattern = line.trim().replace(/^\//, '');
  return [entry, '.env*', '.env.*', '*.local', '.env*.local', '.env.*.local'].includes(pattern);
}

/** Append `entry` to `dir/.gitignore` (creating it) unless a line already covers it. Returns true when it was added. */
export async function ensureGitignored(dir: string, entry = '.env.local'): Promise<boolean> {
  const file = path.join(dir, '.gitignore');
  const text = (await readEnvText(file)) ?? '';
  if (text.split(/\r?\n/).some((line) => coversEnvLocal(line, entry))) return false;
  const separator = text === '' || text.endsWith('\n') ? '' : '\n';
  await writeFileAtomic(file, `${text}${separator}${entry}\n`, 0o644);
  return true;
}
