import { describe, expect, it } from 'vitest';
import { appForThisFile } from './helpers.js';

const ALICE = { 'x-forwarded-email': 'alice@example.com' };

const app = appForThisFile();

const put = (key: string, value: unknown, headers: Record<string, string> = {}) =>
  app().inject({
    method: 'PUT',
    url: `/api/preferences/${key}`,
    headers: { ...ALICE, ...headers },
    payload: { value },
  });
const read = (key: string) => app().inject({ url: `/api/preferences/${key}`, headers: ALICE });

describe('optimistic concurrency on preferences (ETag / If-Match)', () => {
  it('50 concurrent read-modify-write increments with If-Match and retry end at 50', async () => {
    expect((await put('counter', 0)).statusCode).toBe(201);
    let conflicts = 0;
    const increment = async () => {
      for (let attempt = 0; attempt < 500; attempt++) {
        const current = await read('counter');
        const etag = current.headers.etag as string;
        const written = await put('counter', current.json().value + 1, { 'if-match': etag });
        if (written.statusCode === 200) return;
        expect(written.statusCode).toBe(412);
        conflicts++;
      }
      throw new Error('no increment after 500 attempts');
    };
    await Promise.all(Array.from({ length: 50 }, increment));
    expect((await read('counter')).json().value).toBe(50);
    // The pool (5 connections) serves the 50 workers concurrently: some of them must have lost a race.
    expect(conflicts).toBeGreaterThan(0);
  });

  it('answers a stale If-Match with 412 in the error shape and leaves the value alone', async () => {
    const created = await put('theme', 'dark');
    const firstTag = created.headers.etag as string;
    expect(firstTag).toMatch(/^"\d+"$/);
    expect((await read('theme')).headers.etag).toBe(firstTag);

    const second = await put('theme', 'light', { 'if-match': firstTag });
    expect(second.statusCode).toBe(200);
    const secondTag = second.headers.etag as string;
    expect(secondTag).not.toBe(firstTag);

    const stale = await put('theme', 'blue', { 'if-match': firstTag });
    expect(stale.statusCode).toBe(412);
    expect(stale.json()).toEqual({
      detail: {
        error_code: 'PREFERENCE_CHANGED',
        message: "The preference 'theme' was changed or deleted since you read it (If-Match does not match).",
        technical_details: {
          error_type: 'ConflictError',
          suggestion:
            'Read it again (GET /api/preferences/theme), apply your change to the value you get and send it with If-Match set to the new ETag.',
          field: 'If-Match',
        },
      },
    });
    expect((await read('theme')).json().value).toBe('light');

    // A list of tags matches any of them; a weak tag never does (strong comparison).
    expect((await put('theme', 'green', { 'if-match': `"0", ${secondTag}` })).statusCode).toBe(200);
    expect((await put('theme', 'red', { 'if-match': `W/${(await read('theme')).headers.etag}` })).statusCode).toBe(412);
  });

  it('If-Match on a missing preference is 412; * needs it to exist; a malformed tag is 400', async () => {
    expect((await put('absent', 1, { 'if-match': '"123"' })).statusCode).toBe(412);
    expect((await put('absent', 1, { 'if-match': '*' })).statusCode).toBe(412);
    expect((await read('absent')).statusCode).toBe(404);
    await put('present', 1);
    expect((await put('present', 2, { 'if-match': '*' })).statusCode).toBe(200);
    const malformed = await put('present', 3, { 'if-match': '123' });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().detail).toMatchObject({
      error_code: 'INVALID_IF_MATCH',
      technical_details: { field: 'If-Match' },
    });
  });

  it('deletes only the version the caller read', async () => {
    const tag = (await put('doomed', 'v1')).headers.etag as string;
    await put('doomed', 'v2');
    const stale = await app().inject({
      method: 'DELETE',
      url: '/api/preferences/doomed',
      headers: { ...ALICE, 'if-match': tag },
    });
    expect(stale.statusCode).toBe(412);
    expect(stale.json().detail.error_code).toBe('PREFERENCE_CHANGED');
    const current = (await read('doomed')).headers.etag as string;
    const deleted = await app().inject({
      method: 'DELETE',
      url: '/api/preferences/doomed',
      headers: { ...ALICE, 'if-match': current },
    });
    expect(deleted.statusCode).toBe(204);
  });

  it('DELETE follows the If-Match rules of PUT: * needs it to exist, malformed is 400, a re-created key has a new ETag', async () => {
    const del = (key: string, ifMatch: string) =>
      app().inject({ method: 'DELETE', url: `/api/preferences/${key}`, headers: { ...ALICE, 'if-match': ifMatch } });
    expect((await del('never-made', '*')).statusCode).toBe(412);
    const original = (await put('recreated', 'v1')).headers.etag as string;
    const malformed = await del('recreated', original.slice(1, -1));
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().detail).toMatchObject({
      error_code: 'INVALID_IF_MATCH',
      technical_details: { field: 'If-Match' },
    });
    expect((await del('recreated', original)).statusCode).toBe(204);
    // Deleted and made again with the same value: the ETag read before the delete does not match the new row.
    const remade = (await put('recreated', 'v1')).headers.etag as string;
    expect(remade).not.toBe(original);
    const stale = await del('recreated', original);
    expect(stale.statusCode).toBe(412);
    expect(stale.json().detail.error_code).toBe('PREFERENCE_CHANGED');
    expect((await read('recreated')).json().value).toBe('v1');
    expect((await del('recreated', '*')).statusCode).toBe(204);
  });

  it('If-None-Match: * creates only a new preference: of 10 concurrent creates one wins, the rest get 412', async () => {
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => put('created-once', i, { 'if-none-match': '*' })),
    );
    const codes = results.map((r) => r.statusCode).sort();
    expect(codes).toEqual([201, ...Array(9).fill(412)]);
    const winner = results.find((r) => r.statusCode === 201);
    expect(winner?.headers.etag).toMatch(/^"\d+"$/);
    // The value stored is the winner's, untouched by the nine refused creates.
    expect((await read('created-once')).json().value).toBe(winner?.json().value);
    const refused = results.find((r) => r.statusCode === 412);
    expect(refused?.json().detail).toMatchObject({
      error_code: 'PREFERENCE_EXISTS',
      technical_details: { error_type: 'ConflictError', field: 'key' },
    });
  });

  it('refuses If-None-Match other than *, and together with If-Match, with 400 and nothing written', async () => {
    const etag = (await put('either', 1)).headers.etag as string;
    const refusedHeaders: Record<string, string>[] = [
      { 'if-none-match': etag },
      { 'if-none-match': '*', 'if-match': etag },
    ];
    for (const headers of refusedHeaders) {
      const refused = await put('either', 2, headers);
      expect(refused.statusCode).toBe(400);
      expect(refused.json().detail.error_code).toBe('INVALID_IF_NONE_MATCH');
    }
    expect((await read('either')).json().value).toBe(1);
  });
});
