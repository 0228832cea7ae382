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

/** A preference and its version, the row's `xmin` (the transaction that last wrote it): the API's ETag. */
export interface VersionedPreference {
  preference: Preference;
  version: string;
}

/**
 * A write's precondition (`If-Match`): `any` needs the row to exist; a list of versions needs its current version
 * to be one of them. Checked in the same statement as the write, so a concurrent writer cannot slip in between.
 */
export type Precondition = { any: true } | { versions: string[] };

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
    // xmin changes with every committed write of the row (and a re-created row gets a new one), so it is a version
    // without a column. A stale `xmin` in the WHERE of an UPDATE/DELETE re-checked after a concurrent write (READ
    // COMMITTED re-evaluates it on the new row) matches nothing: that is the 412.
    const version = sql<string>`xmin::text`;
    const matches = sql`(${sql.placeholder('any')}::boolean or xmin::text = any(${sql.placeholder('versions')}::text[]))`;
    // The columns a preference is made of (the list reads only these), and with its version for single-row answers.
    const listed = {
      key: userPreferences.key,
      value: userPreferences.value,
      createdAt: userPreferences.createdAt,
      updatedAt: userPreferences.updatedAt,
    };
    const returned = { ...listed, version };
    this.queries = {
      list: db
        .select(listed)
        .from(userPreferences)
        .where(eq(userPreferences.userEmail, userEmail))
        .orderBy(asc(userPreferences.key))
        .prepare('preferences_list'),
      get: db.select(returned).from(userPreferences).where(isOwnKey).prepare('preferences_get'),
      put: db
        .insert(userPreferences)
        .values({ userEmail, key, value: json })
        .onConflictDoUpdate({
          target: [userPreferences.userEmail, userPreferences.key],
          set: { value: json, updatedAt: sql`now()` },
        })
        .returning({ ...returned, created: sql<boolean>`(xmax = 0)` })
        .prepare('preferences_put'),
      create: db
        .insert(userPreferences)
        .values({ userEmail, key, value: json })
        .onConflictDoNothing({ target: [userPreferences.userEmail, userPreferences.key] })
        .returning(returned)
        .prepare('preferences_create'),
      update: db
        .update(userPreferences)
        .set({ value: json, updatedAt: sql`now()` })
        .where(and(isOwnKey, matches))
        .returning(returned)
        .prepare('preferences_update'),
      deleteIf: db
        .delete(userPreferences)
        .where(and(isOwnKey, matches))
        .returning({ key: userPreferences.key })
        .prepare('preferences_delete_if'),
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

  async get(userEmail: string, key: string): Promise<VersionedPreference | undefined> {
    const [row] = await this.queries.get.execute({ userEmail, key });
    return row && toVersioned(row);
  }

  /** Insert or replace; `created` tells which happened (PostgreSQL's `xmax = 0` marks a freshly inserted row). */
  async put(userEmail: string, key: string, value: unknown): Promise<VersionedPreference & { created: boolean }> {
    const [row] = await this.queries.put.execute({ userEmail, key, json: JSON.stringify(value) });
    if (!row) throw new Error('upsert returned no row');
    return { ...toVersioned(row), created: row.created };
  }

  /** Insert only if the key is new (`If-None-Match: *`); undefined when it exists already, nothing written. */
  async create(userEmail: string, key: string, value: unknown): Promise<VersionedPreference | undefined> {
    const [row] = await this.queries.create.execute({ userEmail, key, json: JSON.stringify(value) });
    return row && toVersioned(row);
  }

  /** Replace only if `precondition` holds; undefined when it does not (the row is missing or has another version). */
  async update(
    userEmail: string,
    key: string,
    value: unknown,
    precondition: Precondition,
  ): Promise<VersionedPreference | undefined> {
    const [row] = await this.queries.update.execute({
      userEmail,
      key,
      json: JSON.stringify(value),
      ...preconditionParams(precondition),
    });
    return row && toVersioned(row);
  }

  /** True when a row was deleted: without a precondition, when it existed; with one, when it also held. */
  async delete(userEmail: string, key: string, precondition?: Precondition): Promise<boolean> {
    const deleted = precondition
      ? await this.queries.deleteIf.execute({ userEmail, key, ...preconditionParams(precondition) })
      : await this.queries.delete.execute({ userEmail, key });
    return deleted.length > 0;
  }
}

function preconditionParams(precondition: Precondition): { any: boolean; versions: string[] } {
  return 'any' in precondition ? { any: true, versions: [] } : { any: false, versions: precondition.versions };
}

function toVersioned(row: { key: string; value: unknown; createdAt: Date; updatedAt: Date; version: string }) {
  return { preference: toPreference(row), version: row.version };
}

function toPreference(row: { key: string; value: unknown; createdAt: Date; updatedAt: Date }): Preference {
  return {
    key: row.key,
    value: row.value,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}
