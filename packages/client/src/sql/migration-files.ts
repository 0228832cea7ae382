/** Migration files on disk: the directory, node-pg-migrate's order and SQL sections, names and checksums. */
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { LakebaseError } from '../errors.js';

/** The up and down sections, split exactly as node-pg-migrate's SQL loader does, with their offsets in the file. */
export function splitSql(content: string): {
  up: { sql: string; offset: number };
  down: { sql: string; offset: number } | undefined;
} {
  const upStart = content.search(/^\s*--[\s-]*up\s+migration/im);
  const downStart = content.search(/^\s*--[\s-]*down\s+migration/im);
  const up =
    upStart >= 0
      ? { sql: content.slice(upStart, downStart < upStart ? undefined : downStart), offset: upStart }
      : { sql: content, offset: 0 };
  const down =
    downStart >= 0
      ? { sql: content.slice(downStart, upStart < downStart ? undefined : upStart), offset: downStart }
      : undefined;
  return { up, down };
}

export async function migrationsDir(dir: string): Promise<string> {
  const resolved = path.resolve(dir);
  const info = await stat(resolved).catch(() => undefined);
  if (!info?.isDirectory()) {
    throw new LakebaseError('LAKEBASE_CONFIG_INVALID', `Migrations directory ${resolved} does not exist.`, {
      suggestion: 'Create the first migration with `lakebase migrate create <name>`, or pass --dir.',
    });
  }
  return resolved;
}

/** Migration files in node-pg-migrate's order: numeric prefix, then name. Dot files are ignored, as it does. */
export async function migrationFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  return entries
    .filter((e) => (e.isFile() || e.isSymbolicLink()) && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort((a, b) => {
      const [pa, pb] = [prefixOf(a), prefixOf(b)];
      return pa === pb ? a.localeCompare(b, 'en', { numeric: true }) : pa < pb ? -1 : 1;
    })
    .map((name) => path.join(dir, name));
}

function prefixOf(name: string): bigint {
  const digits = /^\d+/.exec(name)?.[0];
  return digits ? BigInt(digits) : 0n;
}

export function nameOf(file: string): string {
  return path.basename(file, path.extname(file));
}

export async function checksumOf(file: string): Promise<string> {
  return sha256(await readFile(file, 'utf8'));
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
