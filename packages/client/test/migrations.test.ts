/** applyMigrations / migrationStatus on a real PostgreSQL (a fresh database per file): the library the CLI and app use. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runner } from 'node-pg-migrate';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyMigrations, isLakebaseError, migrationStatus } from '../src/index.js';
import { createMigration } from '../src/toolkit.js';

const ADMIN_URL = 'postgresql://postgres@127.0.0.1:5432/test';
const database = `lakebase_migrations_${process.pid}`;
let pool: pg.Pool;
const dirs: string[] = [];

beforeAll(async () => {
  const admin = new pg.Client(ADMIN_URL);
  await admin.connect();
  await admin.query(`drop database if exists ${database} with (force)`);
  await admin.query(`create database ${database}`);
  await admin.end();
  pool = new pg.Pool({ connectionString: `postgresql://postgres@127.0.0.1:5432/${database}`, max: 4 });
});
afterAll(async () => {
  await pool?.end();
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  const admin = new pg.Client(ADMIN_URL);
  await admin.connect();
  await admin.query(`drop database if exists ${database} with (force)`);
  await admin.end();
});

async function migrationsDir(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'lakebase-migrations-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) await writeFile(path.join(dir, name), text);
  return dir;
}

const table = (name: string) =>
  `-- Up Migration\ncreate table ${name} (id int);\n-- Down Migration\ndrop table ${name};\n`;

describe('applyMigrations', () => {
  it('up with a count, then the rest, then down; the pool gets its client back', async () => {
    const dir = await migrationsDir({ '1_a.sql': table('a'), '2_b.sql': table('b'), '3_c.sql': table('c') });
    const options = { dir, schema: 'counted' };
    expect(await applyMigrations(pool, { ...options, count: 1 })).toEqual([
      { name: '1_a', path: path.join(dir, '1_a.sql') },
    ]);
    expect((await applyMigrations(pool, options)).map((m) => m.name)).toEqual(['2_b', '3_c']);
    expect((await applyMigrations(pool, { ...options, direction: 'down', count: 2 })).map((m) => m.name)).toEqual([
      '3_c',
      '2_b',
    ]);
    const status = await migrationStatus(pool, options);
    expect(status).toMatchObject({ current: '1_a', pending: ['2_b', '3_c'], edited: [] });
    const { rows } = await pool.query('select name from counted.lakebase_migration_checksums');
    expect(rows).toEqual([{ name: '1_a' }]);
    expect(pool.idleCount + pool.waitingCount).toBe(pool.totalCount);
    // A pooled session must not keep the migration's search_path.
    expect((await pool.query('show search_path')).rows[0].search_path).toBe('"$user", public');
  });

  it('concurrent runs from separate pools apply each migration exactly once', async () => {
    const slow = (n: number) =>
      `-- Up Migration\n${n === 1 ? 'create table log (n int primary key);\n' : ''}select pg_sleep(0.2);\ninsert into log values (${n});\n`;
    const dir = await migrationsDir({ '1_x.sql': slow(1), '2_y.sql': slow(2) });
    const other = new pg.Pool({ connectionString: `postgresql://postgres@127.0.0.1:5432/${database}` });
    try {
      const runs = await Promise.all([
        applyMigrations(pool, { dir, schema: 'racing' }),
        applyMigrations(other, { dir, schema: 'racing' }),
        applyMigrations(pool, { dir, schema: 'racing' }),
      ]);
      expect(runs.map((r) => r.length).sort()).toEqual([0, 0, 2]);
      expect((await pool.query('select count(*)::int as n from racing.log')).rows[0].n).toBe(2);
    } finally {
      await other.end();
    }
  });

  it('a failing statement: LAKEBASE_MIGRATION_FAILED with file and line; earlier migrations stay, the failed one is rolled back', async () => {
    const dir = await migrationsDir({
      '1_ok.sql': table('ok'),
      '2_bad.sql': '\n-- Up Migration\ncreate table partial (id int);\n\nselect * from no_such_table;\n',
    });
    const error = await applyMigrations(pool, { dir, schema: 'failing' }).catch((e: unknown) => e);
    expect(isLakebaseError(error)).toBe(true);
    expect(error).toMatchObject({
      code: 'LAKEBASE_MIGRATION_FAILED',
      details: { file: path.join(dir, '2_bad.sql'), line: 5, sqlstate: '42P01' },
    });
    expect((error as Error).message).toContain(
      'Migration 2_bad.sql line 5 failed: relation "no_such_table" does not exist',
    );
    const { rows } = await pool.query(
      "select to_regclass('failing.ok') is not null as ok, to_regclass('failing.partial') is null as rolled_back",
    );
    expect(rows[0]).toEqual({ ok: true, rolled_back: true });
    expect((await migrationStatus(pool, { dir, schema: 'failing' })).pending).toEqual(['2_bad']);
  });

  it('adopts migrations applied by node-pg-migrate itself, then reports an edit to them', async () => {
    const dir = await migrationsDir({ '1_first.sql': table('first_t') });
    const client = await pool.connect();
    try {
      await runner({
        dbClient: client,
        dir,
        direction: 'up',
        migrationsTable: 'pgmigrations',
        schema: 'adopted',
        createSchema: true,
        logger: { info() {}, warn() {}, error() {}, debug() {} },
      });
      await client.query('reset search_path');
    } finally {
      client.release();
    }
    await writeFile(path.join(dir, '2_second.sql'), table('second_t'));
    const warnings: string[] = [];
    const logger = { info() {}, warn: (message: string) => warnings.push(message) };
    expect((await applyMigrations(pool, { dir, schema: 'adopted', logger })).map((m) => m.name)).toEqual(['2_second']);
    expect(warnings).toEqual([]);
    await writeFile(path.join(dir, '1_first.sql'), table('first_t').replace('(id int)', '(id bigint)'));
    const status = await migrationStatus(pool, { dir, schema: 'adopted' });
    expect(status.edited).toEqual(['1_first']);
    expect(status.migrations.map((m) => [m.name, m.status])).toEqual([
      ['1_first', 'edited'],
      ['2_second', 'applied'],
    ]);
    await applyMigrations(pool, { dir, schema: 'adopted', logger });
    expect(warnings).toEqual([expect.stringContaining('applied migration 1_first was edited')]);
  });

  it('migrationStatus on an untouched database creates nothing', async () => {
    const dir = await migrationsDir({ '1_a.sql': table('never') });
    expect(await migrationStatus(pool, { dir, schema: 'untouched' })).toEqual({
      current: undefined,
      migrations: [{ name: '1_a', file: path.join(dir, '1_a.sql'), appliedAt: undefined, status: 'pending' }],
      pending: ['1_a'],
      edited: [],
    });
    expect(
      (await pool.query("select count(*)::int as n from pg_namespace where nspname = 'untouched'")).rows[0].n,
    ).toBe(0);
  });
});

describe('createMigration', () => {
  it('writes a timestamped SQL file with Up and Down sections; rejects odd names', async () => {
    const dir = path.join(await migrationsDir({}), 'nested', 'migrations');
    const file = await createMigration(dir, 'add-orders');
    expect(path.basename(file)).toMatch(/^\d{13}_add-orders\.sql$/);
    await expect(createMigration(dir, '../escape')).rejects.toMatchObject({ code: 'LAKEBASE_CONFIG_INVALID' });
  });
});
