/** Quoting for SQL built from names: every identifier and literal the library writes into a statement goes through here. */

/** `"name"` with inner quotes doubled: safe for emails, UUIDs and any other role, schema or table name. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** `'value'` with inner quotes doubled (standard_conforming_strings is on in every supported PostgreSQL). */
export function quoteLiteral(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}
