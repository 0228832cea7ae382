/**
 * The names of Lakebase resources: what an instance name and an endpoint path may look like, checked before any
 * request. Configuration, `lakebase configure` and discovery all use these.
 */

import { LakebaseError } from '../errors.js';

/** Instance names are DNS labels (the API refuses anything else); checked before any request. */
// A DNS label (RFC 1123): letters, digits and '-', not at either end, at most 63. DNS is case-insensitive, so case is
// left to the API rather than refused here on a guess.
export const INSTANCE_NAME_PATTERN = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;
export const ENDPOINT_PATH_PATTERN =
  /^projects\/[a-z0-9][a-z0-9-]{0,62}\/branches\/[a-z0-9][a-z0-9-]{0,62}\/endpoints\/[a-z0-9][a-z0-9-]{0,62}$/;

/** Throws `LAKEBASE_CONFIG_INVALID` with the likely intended name when `name` is not a valid instance name. */
export function validateInstanceName(name: string, source = '--instance'): string {
  if (INSTANCE_NAME_PATTERN.test(name)) return name;
  const fixed = name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '');
  const why = name.includes('_') ? "it contains '_'" : 'it is not a DNS label';
  throw new LakebaseError(
    'LAKEBASE_CONFIG_INVALID',
    `Invalid instance name '${name}' (${source}): ${why}. Lakebase instance names are DNS labels: letters, digits and '-' (not first or last), at most 63 characters.`,
    { suggestion: fixed ? `Did you mean '${fixed}'? Check \`databricks database list-database-instances\`.` : '' },
  );
}

/** Throws `LAKEBASE_CONFIG_INVALID` unless `path` is `projects/<p>/branches/<b>/endpoints/<e>`. */
export function validateEndpointPath(path: string, source = '--endpoint'): string {
  if (ENDPOINT_PATH_PATTERN.test(path)) return path;
  throw new LakebaseError(
    'LAKEBASE_CONFIG_INVALID',
    `Malformed endpoint path '${path}' (${source}); expected projects/<project>/branches/<branch>/endpoints/<endpoint>.`,
    {
      suggestion:
        'Copy the endpoint `name` from `databricks postgres list-endpoints projects/<project>/branches/<branch>`.',
    },
  );
}
