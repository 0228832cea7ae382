/**
 * `OTEL_SEMCONV_STABILITY_OPT_IN`, the variable OpenTelemetry asks instrumentations that change convention names to
 * honour (a comma-separated list). For the database conventions: `database` = the conventions' names only,
 * `database/dup` = the conventions' and the previous ones. The kit's previous names are its own pre-convention
 * duplicates (`lakebase.query.duration` in ms, `lakebase.pool.connections.*`); they never clashed with the
 * conventions, so unset means both, as `database/dup` does.
 */

/** Which names telemetry emits where the kit has a name of its own and the conventions have one. */
export interface SemconvNames {
  /** The conventions' names (`db.client.operation.duration`, `db.client.connection.*`). */
  conventions: boolean;
  /** The kit's pre-convention duplicates (`lakebase.query.duration`, `lakebase.pool.connections.*`). */
  legacy: boolean;
}

export function semconvNamesFromEnv(env: Record<string, string | undefined> = process.env): SemconvNames {
  const values = (env.OTEL_SEMCONV_STABILITY_OPT_IN ?? '').split(',').map((value) => value.trim().toLowerCase());
  if (values.includes('database/dup')) return { conventions: true, legacy: true };
  if (values.includes('database')) return { conventions: true, legacy: false };
  return { conventions: true, legacy: true };
}
