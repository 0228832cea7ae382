import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { applyMigrations } from '@lakebase-kit/client';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { buildApp } from '../server/app.js';

/** The real PostgreSQL the tests use (CI starts it); override with TEST_DATABASE_URL. */
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';
export const MIGRATIONS_DIR = fileURLToPath(new URL('../migrations', import.meta.url));
export const WEB_ROOT = fileURLToPath(new URL('../dist/web', import.meta.url));

/** A schema of its own per test file, so parallel runs never see each other's rows. */
export function uniqueSchemaName(prefix = 'app_test'): string {
  return `${prefix}_${randomBytes(5).toString('hex')}`;
}

/** A pool whose sessions live in `schema` (via search_path), like the app's pool lives in the role's default. */
export function schemaPool(schema: string, max = 5): pg.Pool {
  return new pg.Pool({ connectionString: TEST_DATABASE_URL, options: `-c search_path=${schema}`, max });
}

export interface TestDatabase {
  schema: string;
  pool: pg.Pool;
  /** Drops the schema and ends the pool. */
  drop(): Promise<void>;
}

/** A migrated schema on the test PostgreSQL. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const schema = uniqueSchemaName();
  const pool = schemaPool(schema);
  await applyMigrations(pool, { dir: MIGRATIONS_DIR, schema });
  return {
    schema,
    pool,
    drop: async () => {
      await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await pool.end();
    },
  };
}

export interface TestApp {
  app: FastifyInstance;
  database: TestDatabase;
  /** Closes the app, then drops its schema. */
  close(): Promise<void>;
}

/** The app in production mode (identity from `X-Forwarded-Email` only), no logs, on a migrated schema of its own. */
export async function createTestApp(): Promise<TestApp> {
  const database = await createTestDatabase();
  const app = await buildApp({
    database: { configured: true, pool: database.pool, info: { tier: 'static', database: 'test', user: 'postgres' } },
    production: true,
    logger: false,
  });
  return {
    app,
    database,
    close: async () => {
      await app.close();
      await database.drop();
    },
  };
}

/** In a test file: a {@link createTestApp} for all its tests (made before, closed after); call the result for the app. */
export function appForThisFile(): () => FastifyInstance {
  let testApp: TestApp | undefined;
  beforeAll(async () => {
    testApp = await createTestApp();
  });
  afterAll(() => testApp?.close());
  return () => {
    if (!testApp) throw new Error('the test app is made in beforeAll: use it inside a test');
    return testApp.app;
  };
}
