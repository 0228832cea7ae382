import type { FastifyInstance } from 'fastify';
import { validationError } from './errors.js';

/**
 * JSON request bodies: Fastify's parser (prototype-poisoning checks kept) plus a nesting limit, and the Ajv keywords
 * that bound a preference value. Deep nesting is refused at parse time because every later step that walks a value
 * recursively (Ajv keywords, `JSON.stringify`, serialisation) would overflow the stack on it: 4,500 levels fit in 9 KB.
 */

/** Most levels of arrays and objects in a request body (`{"value": {...}}` is 2). Far beyond any real preference. */
export const MAX_JSON_DEPTH = 64;

/** Replaces Fastify's `application/json` parser with the same parser followed by {@link MAX_JSON_DEPTH}. */
export function limitJsonDepth(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    // parseAs: 'string' makes `body` a string; the overloads of addContentTypeParser do not narrow it.
    parse(request, body as string, (error, value) => {
      if (error) return done(error, undefined);
      if (exceedsDepth(value, MAX_JSON_DEPTH)) {
        return done(
          validationError(
            'body',
            `body is nested too deeply: at most ${MAX_JSON_DEPTH} levels of arrays and objects`,
            'JSON_TOO_DEEP',
          ),
          undefined,
        );
      }
      done(null, value);
    });
  });
}

/** True when `value` has more than `limit` levels of arrays/objects. Iterative: no stack to overflow. */
export function exceedsDepth(value: unknown, limit: number): boolean {
  const pending: Array<[unknown, number]> = [[value, 1]];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [item, depth] = next;
    if (item === null || typeof item !== 'object') continue;
    if (depth > limit) return true;
    for (const child of Object.values(item)) {
      if (child !== null && typeof child === 'object') pending.push([child, depth + 1]);
    }
  }
  return false;
}

/** An Ajv keyword whose `check` returns what is wrong with the value (message and params), or undefined if nothing. */
function valueKeyword<Schema>(
  keyword: string,
  schemaType: 'number' | 'boolean',
  check: (schema: Schema, data: unknown) => { message: string; params: Record<string, unknown> } | undefined,
) {
  // biome-ignore lint/suspicious/noExplicitAny: Ajv's instance type is not exported by Fastify.
  return (ajv: any): any => {
    ajv.addKeyword({
      keyword,
      schemaType,
      errors: true,
      validate: function validate(schema: Schema, data: unknown) {
        const failure = check(schema, data);
        if (!failure) return true;
        (validate as unknown as { errors: unknown[] }).errors = [{ keyword, ...failure }];
        return false;
      },
    });
    return ajv;
  };
}

/**
 * Ajv keyword `maxJsonBytes: n`: the value, serialised as compact JSON, is at most `n` UTF-8 bytes. Route schemas use
 * it to bound a preference value of any JSON type.
 */
export const maxJsonBytesKeyword = valueKeyword<number>('maxJsonBytes', 'number', (limit, data) => {
  const size = Buffer.byteLength(JSON.stringify(data) ?? '', 'utf8');
  return size <= limit
    ? undefined
    : { message: `must be at most ${limit} bytes as JSON (got ${size})`, params: { limit, size } };
});

/**
 * Ajv keyword `jsonbStorable: true`: the value survives a round trip through PostgreSQL `jsonb` unchanged. jsonb
 * refuses U+0000 and unpaired surrogates (a 500 from the database otherwise), and JSON numbers beyond a double
 * (`1e400`) parse to Infinity, which would be stored as `null` without a word.
 */
export const jsonbStorableKeyword = valueKeyword<boolean>('jsonbStorable', 'boolean', (enabled, data) => {
  const problem = enabled ? unstorable(data) : undefined;
  return problem ? { message: `cannot be stored: ${problem}`, params: {} } : undefined;
});

// biome-ignore lint/suspicious/noControlCharactersInRegex: U+0000 is what jsonb refuses
const NOT_IN_JSONB = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Why `value` cannot be stored in jsonb as it is, or undefined when it can. */
function unstorable(value: unknown): string | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : 'a number too large for JSON';
  if (typeof value === 'string')
    return NOT_IN_JSONB.test(value) ? 'text with U+0000 or an unpaired surrogate' : undefined;
  if (Array.isArray(value)) {
    for (const item of value) {
      const problem = unstorable(item);
      if (problem) return problem;
    }
    return undefined;
  }
  if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      const problem = unstorable(key) ?? unstorable(item);
      if (problem) return problem;
    }
  }
  return undefined;
}
