/**
 * The one home of quoting across the kit (client, CLI, emulator): SQL identifiers and literals through `pg`'s own
 * escapers, and words for a POSIX shell. Every identifier, literal or shell word built from a name goes through here.
 */
import pg from 'pg';

/**
 * Why PostgreSQL refuses a NUL byte in statement text (SQLSTATE 22021, as the server itself answers): the statement
 * travels as a C string, so a NUL would cut it short and run only the part before it.
 */
export class SqlTextError extends Error {
  /** The SQLSTATE PostgreSQL gives for the same text (`invalid_byte_sequence`), read as pg's `DatabaseError.code`. */
  readonly code = '22021';
  /** The same, under the name the emulator's storage errors use. */
  readonly sqlstate = '22021';
  constructor(what: 'identifier' | 'literal') {
    super(`invalid byte sequence in ${what}`);
    this.name = 'SqlTextError';
  }
}

/** `"name"` with inner quotes doubled (`pg.escapeIdentifier`): safe for emails, UUIDs and any role, schema or table. */
export function quoteIdent(name: string): string {
  if (name.includes('\0')) throw new SqlTextError('identifier');
  return pg.escapeIdentifier(name);
}

/**
 * `'value'` with inner quotes doubled (`pg.escapeLiteral`; a value with a backslash becomes ` E'...'` with the
 * backslash doubled, right whatever standard_conforming_strings says).
 */
export function quoteLiteral(value: string): string {
  if (value.includes('\0')) throw new SqlTextError('literal');
  return pg.escapeLiteral(value);
}

/** A word a POSIX shell passes through unchanged: as is when it has no special character, else single-quoted. */
export function shellQuote(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replaceAll("'", `'\\''`)}'`;
}
