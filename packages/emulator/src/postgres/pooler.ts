/**
 * What the pooled hosts (`read_write_pooled_host`, `read_only_pooled_host`: PgBouncer in transaction mode on
 * Lakebase) refuse at login. PgBouncer forwards only the startup parameters it tracks per client and answers any
 * other with `FATAL 08P01 unsupported startup parameter: <name>` (the JDBC `extra_float_digits` and the libpq
 * `options` failures). The emulator refuses the same; after login a pooled session is a normal session: it does not
 * model server connections shared between clients, so session state (SET, advisory locks, LISTEN, named prepared
 * statements) survives across transactions here although it does not on Lakebase. The client refuses those itself
 * on a pool configured for the pooled host.
 */

/** Startup parameters PgBouncer tracks (its defaults plus `track_extra_parameters`' IntervalStyle). */
const TRACKED = new Set([
  'user',
  'database',
  'application_name',
  'client_encoding',
  'datestyle',
  'timezone',
  'standard_conforming_strings',
  'intervalstyle',
]);

/** PgBouncer's refusal of these startup parameters, or undefined if it would accept them. */
export function pooledStartupRefusal(params: Record<string, string>): string | undefined {
  const unsupported = Object.keys(params).find((name) => !name.startsWith('_pq_.') && !TRACKED.has(name.toLowerCase()));
  return unsupported === undefined ? undefined : `unsupported startup parameter: ${unsupported}`;
}
