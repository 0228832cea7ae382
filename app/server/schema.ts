import { customType, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * jsonb holding any JSON value. Drizzle's own `jsonb()` runs `JSON.parse` again on values pg already parsed, which
 * turns the stored string "42" into the number 42; this column passes pg's parsed value through unchanged.
 */
const jsonValue = customType<{ data: unknown; driverData: unknown }>({
  dataType: () => 'jsonb',
  toDriver: (value) => JSON.stringify(value),
  fromDriver: (value) => value,
});

/**
 * Drizzle's view of the tables. The SQL migrations in `app/migrations` create them; keep the two in step
 * (Drizzle never alters the schema here).
 */
export const userPreferences = pgTable(
  'user_preferences',
  {
    userEmail: text('user_email').notNull(),
    key: text('key').notNull(),
    value: jsonValue('value').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [primaryKey({ columns: [table.userEmail, table.key] })],
);

export type UserPreferenceRow = typeof userPreferences.$inferSelect;
