import { and, asc, eq, sql } from 'drizzle-orm';
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import type pg from 'pg';
import { userPreferences } from './schema.js';

/** A preference as the API returns it. */
export interface Preference {
  key: string;
  value: unknown;
  createdAt: string;
  updatedAt: string;
}

/**
 * Every query the app makes, scoped to one user: each method takes the caller's email and filters on it, so a
 * route cannot forget the scope.
 *
 * The queries are built once and run as named prepared statements: PostgreSQL parses and plans each once per
 * connection, and Drizzle does not rebuild the SQL per request (together about half the server's CPU per
 * `GET /api/preferences`, see docs/BENCHMARKS.md). Drizzle names every column, so a migration that adds columns
 * leaves the statements valid (PostgreSQL re-plans them; only a changed result type would fail).
 */
export class PreferencesStore {
  private readonly queries;

  constructor(pool: pg.Pool) {
    const db: NodePgDatabase = drizzle({ client: pool });
    const userEmail = sql.placeholder('userEmail');
    const key = sql.placeholder('key');
    const isOwnKey = and(eq(userPreferences.userEmail, userEmail), eq(userPreferences.key, key));
    // Bound as text and cast: Drizzle would turn a JSON `null` into SQL NULL instead of the jsonb value `null`.
    const json = sql`${sql.placeholder('json')}::jsonb`;
    this.queries = {
      list: db
        .select()
        .from(userPreferences)
        .where(eq(userPreferences.userEmail, userEmail))
        .orderBy(asc(userPreferences.key))
        .prepare('preferences_list'),
      get: db.select().from(userPreferences).where(isOwnKey).prepare('preferences_get'),
      put: db
        .insert(userPreferences)
        .values({ userEmail, key, value: json })
        .onConflictDoUpdate({
          target: [userPreferences.userEmail, userPreferences.key],
          set: { value: json, updatedAt: sql`now()` },
        })
        .returning({
          key: userPreferences.key,
          value: userPreferences.value,
          createdAt: userPreferences.createdAt,
          updatedAt: userPreferences.updatedAt,
          created: sql<boolean>`(xmax = 0)`,
        })
        .prepare('preferences_put'),
      delete: db
        .delete(userPreferences)
        .where(isOwnKey)
        .returning({ key: userPreferences.key })
        .prepare('preferences_delete'),
    };
  }

  async list(userEmail: string): Promise<Preference[]> {
    const rows = await this.queries.list.execute({ userEmail });
    return rows.map(toPreference);
  }

  async get(userEmail: string, key: string): Promise<Preference | undefined> {
    const [row] = await this.queries.get.execute({ userEmail, key });
    return row && toPreference(row);
  }

  /** Insert or replace; `created` tells which happened (PostgreSQL's `xmax = 0` marks a freshly inserted row). */
  async put(userEmail: string, key: string, value: unknown): Promise<{ preference: Preference; created: boolean }> {
    const [row] = await this.queries.put.execute({ userEmail, key, json: JSON.stringify(value) });
    if (!row) throw new Error('upsert returned no row');
    return { preference: toPreference(row), created: row.created };
  }

  /** True when a row was deleted. */
  async delete(userEmail: string, key: string): Promise<boolean> {
    const deleted = await this.queries.delete.execute({ userEmail, key });
    return deleted.length > 0;
  }
}

function toPreference(row: { key: string; value: unknown; createdAt: Date; updatedAt: Date }): Preference {
  return {
    key: row.key,
    value: row.value,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}
