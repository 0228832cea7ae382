/**
 * The difference between two schema snapshots (see schema-snapshot.ts), object by object: what `compare` added,
 * removed or changed relative to `base`, and with row counts, the tables whose counts differ.
 */
import { compareObjects, type SchemaObjectKind, type SchemaSnapshot } from './schema-snapshot.js';

/** One difference. `base` / `compare` are the object's definitions on each side (absent where it does not exist). */
export interface SchemaChange {
  kind: SchemaObjectKind;
  name: string;
  change: 'added' | 'removed' | 'changed';
  base?: string;
  compare?: string;
}

/** A table whose row count differs (or that exists on one side only: its count there, null on the other). */
export interface RowCountChange {
  table: string;
  base: number | null;
  compare: number | null;
}

export interface SchemaDiff {
  /** True when the schemas (and, when counted, the row counts) are the same. */
  equal: boolean;
  changes: SchemaChange[];
  /** Present when row counts were compared. */
  rows?: RowCountChange[];
}

/** What `compare` has that `base` has not (added), the reverse (removed), and same-named objects that differ. */
export function diffSchemas(base: SchemaSnapshot, compare: SchemaSnapshot): SchemaDiff {
  const key = (o: { kind: string; name: string }) => `${o.kind}\u0000${o.name}`;
  const before = new Map(base.objects.map((o) => [key(o), o]));
  const after = new Map(compare.objects.map((o) => [key(o), o]));
  const changes: SchemaChange[] = [];
  for (const [k, o] of before) {
    const other = after.get(k);
    if (!other) changes.push({ kind: o.kind, name: o.name, change: 'removed', base: o.definition });
    else if (other.definition !== o.definition) {
      changes.push({ kind: o.kind, name: o.name, change: 'changed', base: o.definition, compare: other.definition });
    }
  }
  for (const [k, o] of after) {
    if (!before.has(k)) changes.push({ kind: o.kind, name: o.name, change: 'added', compare: o.definition });
  }
  changes.sort(compareObjects);
  if (!base.rows || !compare.rows) return { equal: changes.length === 0, changes };
  const rows = diffRowCounts(base.rows, compare.rows);
  return { equal: changes.length === 0 && rows.length === 0, changes, rows };
}

function diffRowCounts(base: Record<string, number>, compare: Record<string, number>): RowCountChange[] {
  const tables = [...new Set([...Object.keys(base), ...Object.keys(compare)])].sort();
  return tables
    .map((table) => ({ table, base: base[table] ?? null, compare: compare[table] ?? null }))
    .filter((r) => r.base !== r.compare);
}
