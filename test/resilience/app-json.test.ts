/**
 * JSON nesting depth against the app's preferences API (`buildApp` + inject on a migrated PostgreSQL schema): any
 * depth, of arrays, objects or both, answers 2xx up to the limit and 400 `JSON_TOO_DEEP` in the app's error shape
 * beyond it; never a 5xx (before the limit, ~4,500 levels overflowed the stack in the value checks: a 500 per request).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH } from '../../app/server/json-body.js';
import { appForThisFile } from '../../app/test/helpers.js';
import { FULL } from './helpers.js';

const RUNS = FULL ? 1_000 : 100;
const ALICE = { 'x-forwarded-email': 'alice@example.com', 'content-type': 'application/json' };

const app = appForThisFile();

/** A JSON text nested `depth` levels deep; `kinds[i % kinds.length]` picks array or object at level i. */
function nested(depth: number, kinds: Array<'array' | 'object'>, leaf: string): string {
  let open = '';
  let close = '';
  for (let level = 0; level < depth; level++) {
    const kind = kinds[level % kinds.length];
    open += kind === 'array' ? '[' : '{"k":';
    close = (kind === 'array' ? ']' : '}') + close;
  }
  return open + leaf + close;
}

describe('JSON nesting depth (fast-check)', () => {
  it('answers 2xx up to the limit and 400 JSON_TOO_DEEP beyond it, never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        // Mostly around the limit, sometimes far beyond it (a 256 KiB body holds ~50,000 levels of `{"k":`).
        fc.oneof(fc.integer({ min: 1, max: MAX_JSON_DEPTH + 4 }), fc.integer({ min: 1, max: 40_000 })),
        fc.array(fc.constantFrom<'array' | 'object'>('array', 'object'), { minLength: 1, maxLength: 4 }),
        fc.constantFrom('1', '"x"', 'null', '[]', '{}'),
        async (depth, kinds, leaf) => {
          const value = nested(depth, kinds, leaf);
          const response = await app().inject({
            method: 'PUT',
            url: '/api/preferences/deep',
            headers: ALICE,
            payload: `{"value":${value}}`,
          });
          // The body is one level more than the value; a container leaf (`[]`, `{}`) adds one more.
          const bodyDepth = depth + 1 + (leaf === '[]' || leaf === '{}' ? 1 : 0);
          if (bodyDepth <= MAX_JSON_DEPTH) {
            expect([200, 201]).toContain(response.statusCode);
            expect(response.json().value).toEqual(JSON.parse(value));
          } else {
            expect(response.statusCode).toBe(400);
            expect(response.json()).toEqual({
              detail: {
                error_code: 'JSON_TOO_DEEP',
                message: `body is nested too deeply: at most ${MAX_JSON_DEPTH} levels of arrays and objects`,
                technical_details: {
                  error_type: 'ValidationError',
                  suggestion: 'Correct the request and send it again.',
                  field: 'body',
                },
              },
            });
          }
        },
      ),
      { numRuns: RUNS },
    );
  });
});
