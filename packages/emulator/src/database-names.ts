/**
 * The grammar of the database names a login may ask for besides the configured ones: databases a client made with
 * `CREATE DATABASE`. A name is parsed here once, at the login edge, into a {@link CreatedDatabaseName}; storage looks
 * up only such values (as a query parameter, never spliced into SQL).
 */

declare const brand: unique symbol;
/** A name that passed {@link parseCreatedDatabaseName}. */
export type CreatedDatabaseName = string & { readonly [brand]: 'CreatedDatabaseName' };

/**
 * 1 to 63 characters (PostgreSQL's identifier limit) of ASCII letters, digits, `_`, `$` and `-`. This keeps out
 * what names storage internals: `@` (branch copies are `<database>@<branch key>`), quotes, dots, spaces, control
 * characters and NUL. Case is kept as given and compared exactly, as PostgreSQL compares a startup packet's
 * database, so `Shop` never reaches `shop`.
 */
const CREATED_DATABASE_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_$-]{0,62}$/;

/**
 * Storage internals no login reaches: PostgreSQL's templates and its maintenance database. (The Lakebase reference
 * does not say whether Lakebase serves `postgres`; the emulator keeps it storage's own.)
 */
export const INTERNAL_DATABASES: ReadonlySet<string> = new Set(['postgres', 'template0', 'template1']);

/** The name as a {@link CreatedDatabaseName}, or undefined when no created database may have it. */
export function parseCreatedDatabaseName(text: string): CreatedDatabaseName | undefined {
  if (!CREATED_DATABASE_PATTERN.test(text) || INTERNAL_DATABASES.has(text)) return undefined;
  return text as CreatedDatabaseName;
}
