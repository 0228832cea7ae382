/**
 * What telemetry reads from a statement's text, without a SQL parser: the operation keyword, the first table it
 * names (`db.collection.name`, when that is unambiguous) and, for `db.query.text` (opt-in), the text with every
 * literal and comment replaced, so no value typed into the SQL leaves the process. Parameters ($1...) are never read.
 * Results are cached per text (apps send the same few texts again and again), so a statement is scanned once.
 */
import { operationOf } from './query-hooks.js';

/** What telemetry knows of one statement text. */
export interface StatementShape {
  operation: string | undefined;
  collection: string | undefined;
}

const IDENTIFIER = '(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)';
const QUALIFIED = `${IDENTIFIER}(?:\\s*\\.\\s*${IDENTIFIER}){0,2}`;
/** The table an INSERT, UPDATE, DELETE or single-table SELECT/TABLE names first. */
const TABLE_AFTER: Record<string, RegExp> = {
  INSERT: new RegExp(`^\\s*insert\\s+into\\s+(${QUALIFIED})`, 'i'),
  UPDATE: new RegExp(`^\\s*update\\s+(?:only\\s+)?(${QUALIFIED})`, 'i'),
  DELETE: new RegExp(`^\\s*delete\\s+from\\s+(?:only\\s+)?(${QUALIFIED})`, 'i'),
  TABLE: new RegExp(`^\\s*table\\s+(?:only\\s+)?(${QUALIFIED})`, 'i'),
  SELECT: new RegExp(
    `\\sfrom\\s+(?:only\\s+)?(${QUALIFIED})\\s*(?:$|;|\\)|where\\b|order\\b|group\\b|limit\\b|for\\b)`,
    'i',
  ),
};

/** The first table of a statement, as written (schema prefix included), or undefined when not plain to see. */
export function collectionOf(text: string, operation: string | undefined): string | undefined {
  const pattern = operation && TABLE_AFTER[operation];
  if (!pattern) return undefined;
  const plain = sanitizeStatement(text);
  // A SELECT with a subquery or a function's `FROM` may name more than one table: no single collection then. The
  // pattern itself refuses a join, a list or an alias (only WHERE, ORDER, GROUP, LIMIT or FOR may follow the table).
  if (operation === 'SELECT' && (plain.match(/\bfrom\b/gi)?.length ?? 0) !== 1) return undefined;
  return pattern.exec(plain)?.[1]?.replace(/\s*\.\s*/g, '.');
}

const cache = new Map<string, StatementShape>();
const NO_TEXT: StatementShape = { operation: undefined, collection: undefined };

/** The statement's shape, cached per text (up to 512 texts; a flood of distinct texts restarts the cache). */
export function shapeOf(text: string | undefined): StatementShape {
  if (text === undefined) return NO_TEXT;
  let shape = cache.get(text);
  if (!shape) {
    const operation = operationOf(text);
    shape = { operation, collection: collectionOf(text, operation) };
    if (cache.size >= 512) cache.clear();
    cache.set(text, shape);
  }
  return shape;
}

const sanitizedCache = new Map<string, string>();

/**
 * The text with literals and comments replaced by `?` (strings, escape strings, dollar-quoted bodies, numbers,
 * booleans are kept as keywords), whitespace collapsed. `$1` placeholders stay: they carry no value.
 */
export function sanitizeStatement(text: string): string {
  let out = sanitizedCache.get(text);
  if (out === undefined) {
    out = text
      .replace(/--[^\n]*|\/\*[\s\S]*?\*\//g, ' ')
      .replace(/\$([A-Za-z_][A-Za-z0-9_]*)?\$[\s\S]*?\$\1\$/g, '?')
      .replace(/(?:\b[EeBbXxUu]&?)?'(?:[^']|'')*'/g, '?')
      .replace(/'[\s\S]*$/, '?') // an unterminated literal: nothing after it is kept
      .replace(/(?<![\w$."])-?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+)\b/g, '?')
      .replace(/\s+/g, ' ')
      .trim();
    if (sanitizedCache.size >= 512) sanitizedCache.clear();
    sanitizedCache.set(text, out);
  }
  return out;
}
