import { AppError, validationError } from './errors.js';
import type { Precondition } from './preferences-store.js';

/**
 * Optimistic concurrency for preferences (RFC 9110): a read returns the version as a strong `ETag`; a write sent with
 * `If-Match` applies only if the preference still has that version, else 412. Without `If-Match` a write applies
 * unconditionally, as before.
 */

export function toETag(version: string): string {
  return `"${version}"`;
}

/** `If-Match` as a precondition: `*`, or a list of strong entity-tags (weak ones never match, per the RFC). */
export function parseIfMatch(header: string | undefined): Precondition | undefined {
  if (header === undefined) return undefined;
  const text = header.trim();
  if (text === '*') return { any: true };
  const versions: string[] = [];
  for (const part of text.split(',')) {
    const tag = part.trim();
    if (tag.startsWith('W/"') && tag.endsWith('"') && tag.length >= 4) continue;
    const strong = /^"([^"]*)"$/.exec(tag);
    if (!strong) {
      throw validationError(
        'If-Match',
        'If-Match must be * or the ETag of a previous read, in double quotes (e.g. "1234")',
        'INVALID_IF_MATCH',
      );
    }
    versions.push(strong[1] as string);
  }
  return { versions };
}

/** `If-None-Match` on a write: only `*` (create, never replace) means something for a PUT; anything else is refused. */
export function parseIfNoneMatch(header: string | undefined): boolean {
  if (header === undefined) return false;
  if (header.trim() === '*') return true;
  throw validationError(
    'If-None-Match',
    'If-None-Match on a write must be * (create the preference only if it does not exist yet)',
    'INVALID_IF_NONE_MATCH',
  );
}

/** If-Match needs the preference to exist and If-None-Match: * needs it not to: together they can never hold. */
export function bothPreconditions(): AppError {
  return validationError(
    'If-None-Match',
    'Send either If-Match (change an existing preference) or If-None-Match: * (create a new one), not both',
    'INVALID_IF_NONE_MATCH',
  );
}

/** 412 for `If-None-Match: *` when the preference exists: a create that would have replaced someone's value. */
export function alreadyExists(key: string): AppError {
  return new AppError(
    'PREFERENCE_EXISTS',
    `The preference '${key}' already exists (If-None-Match: * creates only a new one).`,
    {
      suggestion: `Read it (GET /api/preferences/${key}) and change it with If-Match set to its ETag, or pick another key.`,
      field: 'key',
    },
  );
}

export function preconditionFailed(key: string): AppError {
  return new AppError(
    'PREFERENCE_CHANGED',
    `The preference '${key}' was changed or deleted since you read it (If-Match does not match).`,
    {
      suggestion: `Read it again (GET /api/preferences/${key}), apply your change to the value you get and send it with If-Match set to the new ETag.`,
      field: 'If-Match',
    },
  );
}
