/**
 * Which new database is whose (database-marks.ts), on the local PostgreSQL: a report marks the database its session
 * made; databases no report accounts for, or reports from two branches at once, leave every candidate unmarked, so a
 * guess never serves one branch's database to another. Databases here are owned by a role of this file (as a
 * client's are owned by its identity), so the admin's own are not candidates.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { CreatedDatabaseName } from '../../src/database-names.js';
import { DatabaseMarks, databaseMark } from '../../src/postgres/database-marks.js';
import { createUpstreamStorage, type UpstreamStorage } from '../../src/postgres/upstream-storage.js';
import { runId, UPSTREAM_URL } from './helpers.js';

const id = runId().replaceAll('-', '_');
const prefix = `marks_${id}`;
const owner = `marks_owner_${id}`;
const adminDatabase = new URL(UPSTREAM_URL).pathname.slice(1);

describe('DatabaseMarks', () => {
  let admin: pg.Pool;
  let marks: DatabaseMarks;
  const warn = vi.fn();
  const made = (what: string) => `${prefix}_${what}` as CreatedDatabaseName;
  const make = (what: string) => admin.query(`create database "${made(what)}" owner "${owner}"`);

  beforeAll(async () => {
    admin = new pg.Pool({ connectionString: UPSTREAM_URL, max: 2 });
    await admin.query(`create role "${owner}" nologin`);
    await make('before'); // on the server before the emulator looked: never this emulator's
    const config = () => ({ connectionString: UPSTREAM_URL });
    marks = new DatabaseMarks(() => admin, adminDatabase, config, { info() {}, warn, error() {} });
    await marks.baseline();
  });
  afterAll(async () => {
    marks?.close();
    const { rows } = await admin.query('select datname from pg_database where datname like $1', [`${prefix}%`]);
    for (const { datname } of rows) await admin.query(`drop database if exists "${datname}" with (force)`);
    await admin.query(`drop role if exists "${owner}"`);
    await admin.end();
  });

  const lookups = (what: string) => Promise.all([undefined, 'k1', 'k2'].map((key) => marks.lookup(made(what), key)));

  it('a report marks the database its session made, for that branch only', async () => {
    await make('one');
    await marks.report('k1');
    expect(await lookups('one')).toEqual(['missing', 'found', 'missing']);
    expect(await lookups('before')).toEqual(['missing', 'missing', 'missing']);
  });

  it('two databases, two reports from one branch on their way one after the other: both marked', async () => {
    await Promise.all([make('a'), make('b')]);
    const first = marks.report(undefined); // sees two new databases and one report: waits for the other
    await new Promise((resolve) => setImmediate(resolve));
    await Promise.all([first, marks.report(undefined)]);
    expect([...(await lookups('a')), ...(await lookups('b'))]).toEqual([
      'found',
      'missing',
      'missing',
      'found',
      'missing',
      'missing',
    ]);
  });

  it('reports from two branches at once: neither database is marked, and a warning says so', async () => {
    await Promise.all([make('x'), make('y')]);
    warn.mockClear();
    await Promise.all([marks.report('k1'), marks.report('k2')]);
    expect([...(await lookups('x')), ...(await lookups('y'))].every((r) => r === 'missing')).toBe(true);
    expect(warn).toHaveBeenCalledTimes(1);
  });

  it('a database no report accounts for: after the bounded wait, none of them is marked', async () => {
    await Promise.all([make('mine'), make('stranger')]);
    warn.mockClear();
    await marks.report('k1');
    expect([...(await lookups('mine')), ...(await lookups('stranger'))].every((r) => r === 'missing')).toBe(true);
    expect(warn).toHaveBeenCalledTimes(1);
    // Given up on for good: a later report does not pick them up.
    await make('later');
    await marks.report('k1');
    expect(await lookups('later')).toEqual(['missing', 'found', 'missing']);
    expect(await lookups('mine')).toEqual(['missing', 'missing', 'missing']);
  });
});

describe('a configured database name a client took first', () => {
  it('is refused (42P04), not adopted as the configured database', async () => {
    const name = `${prefix}_squat`;
    const admin = new pg.Client({ connectionString: UPSTREAM_URL });
    await admin.connect();
    const storage = createUpstreamStorage({ url: UPSTREAM_URL }) as UpstreamStorage;
    try {
      await admin.query(`create database "${name}"`);
      await admin.query(`comment on database "${name}" is '${databaseMark(undefined)}'`);
      await expect(storage.provision('postgres', name)).rejects.toMatchObject({ sqlstate: '42P04' });
    } finally {
      await storage.close();
      await admin.query(`drop database if exists "${name}" with (force)`);
      await admin.end();
    }
  });
});
