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
 */
export class PreferencesStore {
  private readonly db: NodePgDatabase;

  constructor(pool: pg.Pool) {
    this.db = drizzle({ client: pool });
  }

  async list(userEmail: string): Promise<Preference[]> {
    const rows = await this.db
      .select()
      .from(userPreferences)
      .where(eq(userPreferences.userEmail, userEmail))
      .orderBy(asc(userPreferences.key));
    return rows.map(toPreference);
  }

  async get(userEmail: string, key: string): Promise<Preference | undefined> {
    const [row] = await this.db
      .select()
      .from(userPreferences)
      .where(and(eq(userPreferences.userEmail, userEmail), eq(userPreferences.key, key)));
    return row && toPreference(row);
  }

  /** Insert or replace; `created` tells which happened (PostgreSQL's `xmax = 0` marks a freshly inserted row). */
  async put(userEmail: string, key: string, value: unknown): Promise<{ preference: Preference; created: boolean }> {
    // Bound as text and cast: Drizzle would turn a JSON `null` into SQL NULL instead of the jsonb value `null`.
    const json = sql`${JSON.stringify(value)}::jsonb`;
    const [row] = await this.db
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
      });
    if (!row) throw new Error('upsert returned no row');
    return { preference: toPreference(row), created: row.created };
  }

  /** True when a row was deleted. */
  async delete(userEmail: string, key: string): Promise<boolean> {
    const deleted = await this.db
      .delete(userPreferences)
      .where(and(eq(userPreferences.userEmail, userEmail), eq(userPreferences.key, key)))
      .returning({ key: userPreferences.key });
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
