import { readdirSync } from 'node:fs';
import { applyMigrations } from '@lakebase-kit/client';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../server/app.js';
import { MIGRATIONS_DIR, schemaPool, TEST_DATABASE_URL, uniqueSchemaName } from './helpers.js';

const MIGRATION_NAMES = readdirSync(MIGRATIONS_DIR)
  .filter((file) => file.endsWith('.sql'))
  .map((file) => file.replace(/\.sql$/, ''))
  .sort();

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A fresh, unmigrated schema and `count` independent pools on it (one per "server"). */
async function freshSchema(count: number): Promise<{ schema: string; pools: pg.Pool[] }> {
  const schema = uniqueSchemaName('app_migrate');
  const pools = Array.from({ length: count }, () => schemaPool(schema));
  cleanups.push(async () => {
    const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin.end();
    await Promise.all(pools.map((pool) => pool.end()));
  });
  return { schema, pools };
}

describe('applyMigrations', () => {
  it('migrates once when two servers start together', async () => {
    const { schema, pools } = await freshSchema(2);
    // Two servers: each builds its app and applies migrations at the same moment, on its own pool.
    const servers = await Promise.all(
      pools.map(async (pool) => {
        const [ran, app] = await Promise.all([
          applyMigrations(pool, { dir: MIGRATIONS_DIR, schema }),
          buildApp({ database: { configured: true, pool, info: { tier: 'static', database: 'test' } }, logger: false }),
        ]);
        return { ran, app };
      }),
    );
    cleanups.push(async () => {
      await Promise.all(servers.map(({ app }) => app.close()));
    });

    // One run applied everything, the other found nothing left to do.
    const ranCounts = servers.map(({ ran }) => ran.length).sort();
    expect(ranCounts).toEqual([0, MIGRATION_NAMES.length]);
    const { rows } = await (pools[0] as pg.Pool).query<{ name: string; runs: string }>(
      'SELECT name, count(*) AS runs FROM pgmigrations GROUP BY name ORDER BY name',
    );
    expect(rows).toEqual(MIGRATION_NAMES.map((name) => ({ name, runs: '1' })));

    // Both servers work on the migrated schema, and see each other's writes.
    const [first, second] = servers.map(({ app }) => app) as [FastifyInstance, FastifyInstance];
    const put = await first.inject({
      method: 'PUT',
      url: '/api/preferences/theme',
      headers: { 'x-forwarded-email': 'a@example.com' },
      payload: { value: 'dark' },
    });
    expect(put.statusCode).toBe(201);
    const read = await second.inject({
      url: '/api/preferences/theme',
      headers: { 'x-forwarded-email': 'a@example.com' },
    });
    expect(read.json().value).toBe('dark');
  });

  it('is a no-op when up to date, and reverts with direction down', async () => {
    const { schema, pools } = await freshSchema(1);
    const pool = pools[0] as pg.Pool;
    expect((await applyMigrations(pool, { dir: MIGRATIONS_DIR, schema })).map((m) => m.name)).toEqual(MIGRATION_NAMES);
    expect(await applyMigrations(pool, { dir: MIGRATIONS_DIR, schema })).toEqual([]);

    // The last migration (row-level security) reverts alone; reverting them all drops the table.
    const reverted = await applyMigrations(pool, { dir: MIGRATIONS_DIR, schema, direction: 'down' });
    expect(reverted.map((m) => m.name)).toEqual(MIGRATION_NAMES.slice(-1));
    const rls = await pool.query(
      `SELECT relrowsecurity FROM pg_class WHERE oid = '"${schema}".user_preferences'::regclass`,
    );
    expect(rls.rows[0].relrowsecurity).toBe(false);
    const rest = MIGRATION_NAMES.length - 1;
    const all = await applyMigrations(pool, { dir: MIGRATIONS_DIR, schema, direction: 'down', count: rest });
    expect(all.map((m) => m.name)).toEqual(MIGRATION_NAMES.slice(0, rest).reverse());
    const { rows } = await pool.query(`SELECT to_regclass('"${schema}".user_preferences') AS table`);
    expect(rows[0].table).toBeNull();
  });

  it('rolls back a failed run and leaves the lock free for the next one', async () => {
    const { schema, pools } = await freshSchema(1);
    const pool = pools[0] as pg.Pool;
    // The table exists already, so CREATE TABLE in the first migration fails and the run rolls back.
    await pool.query(`CREATE SCHEMA "${schema}"; CREATE TABLE "${schema}".user_preferences (x int)`);
    await expect(applyMigrations(pool, { dir: MIGRATIONS_DIR, schema })).rejects.toThrow(/already exists/);
    const { rows } = await pool.query(`SELECT count(*)::int AS runs FROM "${schema}".pgmigrations`);
    expect(rows[0].runs).toBe(0);

    // Were the advisory lock still held by a leaked session, this run would wait forever.
    await pool.query(`DROP TABLE "${schema}".user_preferences`);
    expect(await applyMigrations(pool, { dir: MIGRATIONS_DIR, schema })).toHaveLength(MIGRATION_NAMES.length);
  });
});
