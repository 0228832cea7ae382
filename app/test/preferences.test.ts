import { describe, expect, it } from 'vitest';
import { appForThisFile } from './helpers.js';

const ALICE = { 'x-forwarded-email': 'alice@example.com' };
const BOB = { 'x-forwarded-email': 'bob@example.com' };

const app = appForThisFile();

describe('preferences CRUD (per user)', () => {
  it('creates, reads, lists, updates and deletes a preference', async () => {
    const created = await app().inject({
      method: 'PUT',
      url: '/api/preferences/theme',
      headers: ALICE,
      payload: { value: 'dark' },
    });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({ key: 'theme', value: 'dark' });

    const updated = await app().inject({
      method: 'PUT',
      url: '/api/preferences/theme',
      headers: ALICE,
      payload: { value: { mode: 'dark', contrast: 'high' } },
    });
    expect(updated.statusCode).toBe(200);
    expect(updated.json().value).toEqual({ mode: 'dark', contrast: 'high' });

    const read = await app().inject({ url: '/api/preferences/theme', headers: ALICE });
    expect(read.statusCode).toBe(200);
    expect(read.json().value).toEqual({ mode: 'dark', contrast: 'high' });

    await app().inject({ method: 'PUT', url: '/api/preferences/a.first', headers: ALICE, payload: { value: 1 } });
    const list = await app().inject({ url: '/api/preferences', headers: ALICE });
    expect(list.json().preferences.map((p: { key: string }) => p.key)).toEqual(['a.first', 'theme']);

    const deleted = await app().inject({ method: 'DELETE', url: '/api/preferences/theme', headers: ALICE });
    expect(deleted.statusCode).toBe(204);
    const gone = await app().inject({ url: '/api/preferences/theme', headers: ALICE });
    expect(gone.statusCode).toBe(404);
    expect(gone.json().detail.error_code).toBe('PREFERENCE_NOT_FOUND');
    const deletedAgain = await app().inject({ method: 'DELETE', url: '/api/preferences/theme', headers: ALICE });
    expect(deletedAgain.statusCode).toBe(404);
  });

  it('keeps every JSON type as sent, including strings that look like numbers', async () => {
    const values = ['42', 42, true, null, [1, 'two', { three: 3 }], { nested: { deep: ['x'] } }, 'ünïcødé ✓'];
    for (const [index, value] of values.entries()) {
      const put = await app().inject({
        method: 'PUT',
        url: `/api/preferences/type-${index}`,
        headers: BOB,
        payload: { value },
      });
      expect(put.statusCode).toBe(201);
      const read = await app().inject({ url: `/api/preferences/type-${index}`, headers: BOB });
      expect(read.json().value).toStrictEqual(value);
    }
  });
});

describe('isolation between users', () => {
  it("never shows or changes another user's preference", async () => {
    await app().inject({
      method: 'PUT',
      url: '/api/preferences/secret',
      headers: ALICE,
      payload: { value: 'alice-only' },
    });

    const bobReads = await app().inject({ url: '/api/preferences/secret', headers: BOB });
    expect(bobReads.statusCode).toBe(404);
    const bobList = await app().inject({ url: '/api/preferences', headers: BOB });
    expect(bobList.json().preferences.map((p: { key: string }) => p.key)).not.toContain('secret');
    const bobDeletes = await app().inject({ method: 'DELETE', url: '/api/preferences/secret', headers: BOB });
    expect(bobDeletes.statusCode).toBe(404);

    // Bob writing the same key creates his own row; Alice's is untouched.
    const bobWrites = await app().inject({
      method: 'PUT',
      url: '/api/preferences/secret',
      headers: BOB,
      payload: { value: 'bob' },
    });
    expect(bobWrites.statusCode).toBe(201);
    const aliceReads = await app().inject({ url: '/api/preferences/secret', headers: ALICE });
    expect(aliceReads.json().value).toBe('alice-only');
  });

  it('answers 401 in the error shape without an identity in production', async () => {
    for (const url of ['/api/preferences', '/api/preferences/theme', '/api/me']) {
      const response = await app().inject({ url });
      expect(response.statusCode).toBe(401);
      expect(response.json().detail).toMatchObject({ error_code: 'UNAUTHENTICATED' });
      expect(response.json().detail.technical_details.suggestion).toMatch(/Databricks Apps/);
    }
  });

  it('reports who the caller is', async () => {
    const response = await app().inject({
      url: '/api/me',
      headers: { ...ALICE, 'x-forwarded-preferred-username': 'alice' },
    });
    expect(response.json()).toEqual({
      email: 'alice@example.com',
      userName: 'alice',
      source: 'proxy',
      databaseUser: 'postgres',
    });
  });
});

describe('validation', () => {
  const put = (url: string, payload: string, headers: Record<string, string> = {}) =>
    app().inject({
      method: 'PUT',
      url,
      headers: { ...ALICE, 'content-type': 'application/json', ...headers },
      payload,
    });

  it('rejects an oversized value with 400 saying the limit', async () => {
    const response = await put('/api/preferences/big', JSON.stringify({ value: 'x'.repeat(20_000) }));
    expect(response.statusCode).toBe(400);
    expect(response.json().detail).toMatchObject({
      error_code: 'VALUE_TOO_LARGE',
      message: 'value must be at most 16384 bytes as JSON (got 20002)',
      technical_details: { error_type: 'ValidationError', field: 'value' },
    });
  });

  it('rejects a body over the transport limit with 400 too', async () => {
    const response = await put('/api/preferences/huge', JSON.stringify({ value: 'x'.repeat(300_000) }));
    expect(response.statusCode).toBe(400);
    expect(response.json().detail.error_code).toBe('VALUE_TOO_LARGE');
  });

  it.each(['bad key', '-leading-dash', 'a'.repeat(65), 'semi;colon', 'ünï'])(
    'rejects the malformed key %j',
    async (key) => {
      const response = await put(`/api/preferences/${encodeURIComponent(key)}`, '{"value":1}');
      expect(response.statusCode).toBe(400);
      expect(response.json().detail).toMatchObject({ error_code: 'INVALID_KEY', technical_details: { field: 'key' } });
      expect(response.json().detail.message).toMatch(/^key must be 1-64 characters/);
    },
  );

  it('rejects deeply nested JSON (4,500 levels in 9 KB) with 400, not a stack overflow', async () => {
    const body = `{"value":${'['.repeat(4500)}${']'.repeat(4500)}}`;
    expect(body.length).toBeLessThan(9_100);
    const response = await put('/api/preferences/deep', body);
    expect(response.statusCode).toBe(400);
    expect(response.json().detail).toMatchObject({
      error_code: 'JSON_TOO_DEEP',
      message: 'body is nested too deeply: at most 64 levels of arrays and objects',
      technical_details: { error_type: 'ValidationError', field: 'body' },
    });
  });

  it('rejects malformed JSON', async () => {
    const response = await put('/api/preferences/theme', '{"value": dark}');
    expect(response.statusCode).toBe(400);
    expect(response.json().detail).toMatchObject({ error_code: 'INVALID_JSON', message: 'body is not valid JSON' });
  });

  it('rejects a body without "value" or with extra properties', async () => {
    const missing = await put('/api/preferences/theme', '{"theme":"dark"}');
    expect(missing.statusCode).toBe(400);
    expect(missing.json().detail.message).toMatch(/unknown property "theme"|"value" property/);
    const extra = await put('/api/preferences/theme', '{"value":"dark","owner":"bob@example.com"}');
    expect(extra.statusCode).toBe(400);
    expect(extra.json().detail.message).toBe('unknown property "owner": the body is {"value": <any JSON>} only');
    const notObject = await put('/api/preferences/theme', '"dark"');
    expect(notObject.statusCode).toBe(400);
    expect(notObject.json().detail.technical_details.field).toBe('body');
  });

  it('answers unknown API routes with 404 in the error shape', async () => {
    const response = await app().inject({ url: '/api/nope', headers: ALICE });
    expect(response.statusCode).toBe(404);
    expect(response.json().detail.error_code).toBe('NOT_FOUND');
  });
});
