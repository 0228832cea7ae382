/**
 * Bad input to the preferences API, property-based (fast-check), through `buildApp` + inject: oversized bodies,
 * malformed JSON, odd Unicode, SQL-looking keys and identities always get a 4xx with a JSON error body (never a 5xx),
 * the table stays intact and other users' rows are untouched. Bad configuration input: bad-config.test.ts.
 */
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../app/server/app.js';
import { createTestDatabase, type TestDatabase } from '../../app/test/helpers.js';
import { FULL } from './helpers.js';

const RUNS = FULL ? 1_000 : 150;

const ALICE = 'alice@example.com';
const BOB = 'bob@example.com';

let database: TestDatabase;
let app: FastifyInstance;
/** Bob's rows right after the setup wrote them. */
let bobBefore: unknown[];

async function snapshot(user: string): Promise<unknown[]> {
  const { rows } = await database.pool.query(
    'select key, value, created_at, updated_at from user_preferences where user_email = $1 order by key',
    [user],
  );
  return rows;
}

/** Bob's three rows, exactly as the setup wrote them, and the table itself: each attack below ends with this. */
async function expectBobUntouched(): Promise<void> {
  expect(await snapshot(BOB)).toEqual(bobBefore);
  const res = await app.inject({ method: 'GET', url: '/api/preferences', headers: { 'x-forwarded-email': BOB } });
  expect(res.statusCode).toBe(200);
  expect(res.json().preferences.map((p: { key: string; value: unknown }) => [p.key, p.value])).toEqual([
    ['count', 3],
    ['lang', { primary: 'en', fallback: ['fr'] }],
    ['theme', 'dark'],
  ]);
  const { rows } = await database.pool.query(
    "select count(*)::int as n from information_schema.tables where table_name = 'user_preferences'",
  );
  expect(rows[0].n).toBe(1);
}

/** A 4xx whose body is the app's error shape (or at least a JSON error with a code, for router-level refusals). */
function expectClientError(response: { statusCode: number; body: string }, context: string): void {
  if (response.statusCode < 400 || response.statusCode >= 500) {
    throw new Error(`${context}: expected a 4xx, got ${response.statusCode} ${response.body.slice(0, 300)}`);
  }
  const body = JSON.parse(response.body) as { detail?: { error_code?: string; message?: string } };
  if (!body.detail?.error_code || !body.detail.message) {
    throw new Error(`${context}: 4xx without the error shape: ${response.body.slice(0, 300)}`);
  }
}

const KEY_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** Text PostgreSQL's jsonb cannot store: U+0000 and unpaired surrogates (SQLSTATE 22P05). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: U+0000 is the point
const NOT_IN_JSONB = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Whether jsonb can hold `value` as it is: walks the value itself (JSON.stringify would escape what we look for). */
function jsonbStorable(value: unknown): boolean {
  if (typeof value === 'string') return !NOT_IN_JSONB.test(value);
  if (Array.isArray(value)) return value.every(jsonbStorable);
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).every(([key, item]) => jsonbStorable(key) && jsonbStorable(item));
  }
  return true;
}

describe('preferences API under bad input (fast-check, buildApp + inject)', () => {
  beforeAll(async () => {
    database = await createTestDatabase();
    app = await buildApp({
      database: { configured: true, pool: database.pool, info: { tier: 'static', database: 'test', user: 'postgres' } },
      production: true,
      logger: false,
    });
    // Another user's rows, which nothing below may touch (checked at the end).
    for (const [key, value] of [
      ['theme', 'dark'],
      ['lang', { primary: 'en', fallback: ['fr'] }],
      ['count', 3],
    ] as const) {
      const res = await app.inject({
        method: 'PUT',
        url: `/api/preferences/${key}`,
        headers: { 'x-forwarded-email': BOB },
        payload: { value },
      });
      expect(res.statusCode).toBe(201);
    }
    bobBefore = await snapshot(BOB);
    expect(bobBefore).toHaveLength(3);
  });

  afterAll(async () => {
    await app?.close();
    await database?.drop();
  });

  it('odd keys (SQL-looking, Unicode, too long) are a 4xx with a body, or a normal success when valid', async () => {
    const key = fc.oneof(
      fc.string({ unit: 'grapheme', maxLength: 80 }),
      fc.string({ unit: 'binary', maxLength: 80 }),
      fc.constantFrom(
        "x'; drop table user_preferences; --",
        'a" or "1"="1',
        '../../etc/passwd',
        'a'.repeat(65),
        '%00',
        '.a',
        '-a',
      ),
      fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/),
    );
    await fc.assert(
      fc.asyncProperty(key, fc.constantFrom('GET', 'PUT', 'DELETE'), async (k, method) => {
        const res = await app.inject({
          method,
          url: `/api/preferences/${encodeURIComponent(k)}`,
          headers: { 'x-forwarded-email': ALICE },
          ...(method === 'PUT' ? { payload: { value: 'v' } } : {}),
        });
        if (KEY_RE.test(k)) {
          expect([200, 201, 204, 404]).toContain(res.statusCode);
          if (res.statusCode === 404) expectClientError(res, `key ${JSON.stringify(k)}`);
        } else {
          // Including the empty key: `/api/preferences/` is the key route with an invalid key, not the list.
          expectClientError(res, `key ${JSON.stringify(k)}`);
          if (k === '') expect(res.json().detail.error_code).toBe('INVALID_KEY');
        }
      }),
      {
        numRuns: RUNS,
        examples: [
          ['', 'GET'],
          ['', 'PUT'],
          ['', 'DELETE'],
        ],
      },
    );
    await expectBobUntouched();
  });

  it('malformed JSON bodies are a 4xx with a body', async () => {
    const notJson = fc
      .oneof(
        fc.string({ unit: 'grapheme', maxLength: 200 }),
        fc.json().map((j) => j.slice(0, Math.max(0, j.length - 1))),
        fc.constantFrom(
          '{',
          '{"value":}',
          '{"value": undefined}',
          "{'value': 1}",
          '{"value":1,}',
          'null',
          '[]',
          '"x"',
          '{"value":NaN}',
        ),
      )
      .filter((text) => {
        try {
          const parsed = JSON.parse(text) as unknown;
          return !(parsed && typeof parsed === 'object' && !Array.isArray(parsed) && 'value' in parsed);
        } catch {
          return true;
        }
      });
    await fc.assert(
      fc.asyncProperty(notJson, async (text) => {
        const res = await app.inject({
          method: 'PUT',
          url: '/api/preferences/p1',
          headers: { 'x-forwarded-email': ALICE, 'content-type': 'application/json' },
          payload: text,
        });
        expectClientError(res, `body ${JSON.stringify(text).slice(0, 80)}`);
      }),
      { numRuns: RUNS },
    );
    await expectBobUntouched();
  });

  it('any storable JSON value round-trips; unstorable or oversized values and bodies are a 4xx with a body', async () => {
    const value = fc.oneof(
      fc.jsonValue({ maxDepth: 3 }),
      fc.string({ unit: 'grapheme', maxLength: 100 }),
      fc.string({ unit: 'binary', maxLength: 100 }),
      fc.string({ minLength: 16 * 1024, maxLength: 20 * 1024 }),
      fc.array(fc.string({ minLength: 100, maxLength: 100 }), { minLength: 150, maxLength: 200 }),
    );
    await fc.assert(
      fc.asyncProperty(value, async (v) => {
        const res = await app.inject({
          method: 'PUT',
          url: '/api/preferences/roundtrip',
          headers: { 'x-forwarded-email': ALICE },
          payload: { value: v },
        });
        const size = Buffer.byteLength(JSON.stringify(v) ?? '', 'utf8');
        if (!jsonbStorable(v)) {
          expectClientError(res, 'a value jsonb cannot store');
          expect(['VALUE_NOT_STORABLE', 'VALUE_TOO_LARGE']).toContain(res.json().detail.error_code);
        } else if (size > 16 * 1024) {
          expectClientError(res, `value of ${size} bytes`);
          expect(res.json().detail.error_code).toBe('VALUE_TOO_LARGE');
        } else {
          expect([200, 201]).toContain(res.statusCode);
          // jsonb keeps the value, not the text: object keys come back in its own order (toEqual ignores order).
          expect(res.json().value).toEqual(JSON.parse(JSON.stringify(v)));
        }
      }),
      { numRuns: FULL ? 300 : 60 },
    );
    const huge = await app.inject({
      method: 'PUT',
      url: '/api/preferences/huge',
      headers: { 'x-forwarded-email': ALICE, 'content-type': 'application/json' },
      payload: `{"value":"${'x'.repeat(1024 * 1024)}"}`,
    });
    // Over the 256 KiB body limit: refused before parsing, in the app's error shape.
    expectClientError(huge, '1 MiB body');
    await expectBobUntouched();
  });

  it('SQL-looking and odd identities only ever see their own rows', async () => {
    const identity = fc.oneof(
      fc.constantFrom(
        `${BOB}' or '1'='1`,
        `x@example.com'; delete from user_preferences; --`,
        `${BOB} `,
        BOB.toUpperCase(),
        '%',
        '*',
      ),
      fc.emailAddress(),
      fc.string({ unit: 'grapheme', minLength: 1, maxLength: 60 }).filter((s) => /^[\x21-\x7e]+$/.test(s)),
    );
    await fc.assert(
      fc.asyncProperty(identity, async (email) => {
        fc.pre(email.trim() !== BOB);
        const list = await app.inject({
          method: 'GET',
          url: '/api/preferences',
          headers: { 'x-forwarded-email': email },
        });
        if (list.statusCode >= 400) {
          expectClientError(list, `identity ${JSON.stringify(email)}`);
          return;
        }
        const mine = list.json().preferences as Array<{ key: string }>;
        // Whatever this identity wrote is all it sees: never Bob's rows.
        const rows = await database.pool.query('select key from user_preferences where user_email = $1 order by key', [
          email,
        ]);
        expect(mine.map((p) => p.key)).toEqual(rows.rows.map((r: { key: string }) => r.key));
        const del = await app.inject({
          method: 'DELETE',
          url: '/api/preferences/theme',
          headers: { 'x-forwarded-email': email },
        });
        expect([204, 404]).toContain(del.statusCode);
      }),
      { numRuns: RUNS },
    );
    await expectBobUntouched();
  });

  it('a malformed percent-encoding in the URL is a 4xx with a body', async () => {
    const res = await app.inject({
      method: 'GET',
      url: '/api/preferences/%E0%A4%A',
      headers: { 'x-forwarded-email': ALICE },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().detail).toMatchObject({ error_code: 'BAD_URL' });
  });

  // The router refuses it before any route runs; the app's frameworkErrors handler keeps the one error shape.
  it('a malformed percent-encoding gets the app error shape', async () => {
    const res = await app.inject({
      method: 'GET',
      url: '/api/preferences/%E0%A4%A',
      headers: { 'x-forwarded-email': ALICE },
    });
    expectClientError(res, 'malformed percent-encoding');
  });

  // PostgreSQL's jsonb rejects U+0000 and unpaired surrogates (SQLSTATE 22P05), and a number beyond a double would be
  // stored as null: the route schema refuses all of them with a 400 before the database sees them.
  for (const [name, payload] of [
    ['U+0000 in a string value', '{"value":"a\\u0000b"}'],
    ['an unpaired surrogate in a string value', '{"value":"\\ud800"}'],
    ['U+0000 in an object key', '{"value":{"\\u0000":1}}'],
    ['a number too large for a double', '{"value":1e400}'],
  ] as const) {
    it(`${name} is a 4xx, not a 500`, async () => {
      const res = await app.inject({
        method: 'PUT',
        url: '/api/preferences/unicode',
        headers: { 'x-forwarded-email': ALICE, 'content-type': 'application/json' },
        payload,
      });
      expectClientError(res, name);
    });
  }
});
