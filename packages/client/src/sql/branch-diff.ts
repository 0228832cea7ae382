/**
 * `diffBranches(base, compare)`: the schema difference between two branches of the configured Autoscaling project,
 * each read from its own catalogs over its own connection (what `lakebase branch diff` prints).
 */
import { parseBranchId, parseEndpointName } from '../config/names.js';
import { resolveConfig } from '../config/resolve.js';
import { withClient } from '../connection/client.js';
import type { ConnectorOptions } from '../connection/connector.js';
import { LakebaseError } from '../errors.js';
import { diffSchemas, type SchemaDiff } from './schema-diff.js';
import { type SchemaSnapshot, type SnapshotOptions, schemaSnapshot } from './schema-snapshot.js';

export interface DiffBranchesOptions extends Omit<ConnectorOptions, 'config' | 'branch'> {
  /** Compare row counts per table too (`--data`). */
  rowCounts?: boolean;
  /** Only these schemas (default: all but PostgreSQL's own). */
  schemas?: readonly string[];
}

/** The difference, with the branch ids it is between: `added` means in `compare` and not in `base`. */
export interface BranchDiff extends SchemaDiff {
  base: string;
  compare: string;
}

/**
 * Reads both branches' schemas (in parallel, one connection each, as the configured identity) and compares them.
 * @throws LakebaseError `LAKEBASE_CONFIG_INVALID` for a branch id outside Lakebase's grammar or a target without
 * branches; `LAKEBASE_RESOURCE_NOT_FOUND` for a branch that does not exist; the connection's errors otherwise.
 */
export async function diffBranches(
  base: string,
  compare: string,
  options: DiffBranchesOptions = {},
): Promise<BranchDiff> {
  const baseId = parseBranchId(base, 'base branch');
  const compareId = parseBranchId(compare, 'compare branch');
  const [before, after] = await Promise.all([branchSnapshot(baseId, options), branchSnapshot(compareId, options)]);
  return { base: baseId, compare: compareId, ...diffSchemas(before, after) };
}

/** The schema (and row counts) of one branch of the configured project. */
export function branchSnapshot(branch: string, options: DiffBranchesOptions = {}): Promise<SchemaSnapshot> {
  const { rowCounts, schemas, ...connect } = options;
  const snapshot: SnapshotOptions = { ...(rowCounts ? { rowCounts } : {}), ...(schemas ? { schemas } : {}) };
  return withClient({ ...connect, branch: parseBranchId(branch, 'branch') }, (client) =>
    schemaSnapshot(client, snapshot),
  );
}

/**
 * The branch the configuration connects to: `LAKEBASE_BRANCH` (or `{ branch }`) when set, else the branch of the
 * configured endpoint (`LAKEBASE_ENDPOINT`). `LAKEBASE_CONFIG_INVALID` for a target without branches.
 */
export function currentBranchId(options: Pick<ConnectorOptions, 'env' | 'branch'> = {}): string {
  const env = options.env ?? process.env;
  const config = resolveConfig({ ...(options.branch ? { branch: options.branch } : {}) }, env);
  if (config.mode !== 'autoscaling' || !config.endpoint) {
    throw new LakebaseError(
      'LAKEBASE_CONFIG_INVALID',
      'Only Autoscaling projects have branches, and no endpoint is configured.',
      {
        suggestion:
          'Set LAKEBASE_ENDPOINT to an endpoint of the project, e.g. projects/my-app/branches/production/endpoints/primary.',
      },
    );
  }
  if (config.branch) return config.branch;
  const endpoint = parseEndpointName(config.endpoint, config.sources.endpoint ?? 'LAKEBASE_ENDPOINT');
  return endpoint.split('/')[3] as string;
}
