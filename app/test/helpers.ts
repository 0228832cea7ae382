import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { applyMigrations } from '@lakebase-kit/client';
import pg from 'pg';

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
