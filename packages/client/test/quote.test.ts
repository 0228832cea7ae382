/**
 * SQL and shell quoting have one home (sql/quote.ts, through pg's escapers), used by the client, the CLI and the
 * emulator. Checked against a real PostgreSQL: a quoted literal or identifier reads back as exactly the text quoted,
 * whatever `standard_conforming_strings` says, and a NUL byte (which would cut the statement short) is refused with
 * the SQLSTATE the server itself gives.
 */
import { execFileSync } from 'node:child_process';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quoteIdent, quoteLiteral, SqlTextError, shellQuote } from '../src/sql/quote.js';

const NASTY = [
  'plain',
  "it's",
  "x\\'; select 'injected' --",
  'back\\slash\\',
  '"quoted" name',
  'é ünïcode ☃ \'"\\',
  "\\'); drop table t; --",
];

let client: pg.Client;

beforeAll(async () => {
  client = new pg.Client({ connectionString: 'postgresql://postgres@127.0.0.1:5432/test' });
  await client.connect();
});

afterAll(async () => {
  await client?.end();
});

describe('quoteLiteral / quoteIdent against PostgreSQL', () => {
  for (const conforming of ['on', 'off']) {
    it(`a literal reads back as the text quoted (standard_conforming_strings = ${conforming})`, async () => {
      await client.query(`SET standard_conforming_strings = ${conforming}`);
      try {
        for (const text of NASTY) {
          const { rows } = await client.query(`SELECT ${quoteLiteral(text)} AS v`);
          expect(rows, JSON.stringify(text)).toEqual([{ v: text }]);
        }
      } finally {
        await client.query('RESET standard_conforming_strings');
      }
    });
  }

  it('an identifier names exactly the text quoted', async () => {
    for (const text of NASTY) {
      const { rows, fields } = await client.query(`SELECT 1 AS ${quoteIdent(text)}`);
      expect(fields.map((f) => f.name)).toEqual([text]);
      expect(rows).toHaveLength(1);
    }
  });

  it('a NUL byte is refused before any SQL is built, as PostgreSQL refuses it (22021)', () => {
    for (const quote of [quoteIdent, quoteLiteral]) {
      const error = (() => {
        try {
          quote('role\0"; drop table t; --');
        } catch (e) {
          return e;
        }
      })();
      expect(error).toBeInstanceOf(SqlTextError);
      expect(error).toMatchObject({ code: '22021', sqlstate: '22021' });
    }
  });
});

describe('shellQuote', () => {
  it('a POSIX shell reads each word back unchanged', () => {
    for (const text of [...NASTY, 'a b', '$(id)', '`id`', '*', '', "''", 'x;y|z&w', '6f0c1a2b-3c4d@example.com']) {
      const out = execFileSync('sh', ['-c', `printf %s ${shellQuote(text)}`], { encoding: 'utf8' });
      expect(out, JSON.stringify(text)).toBe(text);
    }
  });
});
