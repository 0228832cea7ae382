/**
 * `LAKEBASE_BRANCH` / `{ branch }`: run on another branch of the configured Autoscaling project. The project comes
 * from the endpoint path (`LAKEBASE_ENDPOINT`); the endpoint becomes the branch's read-write one (looked up when the
 * connector starts) and the host follows it, so one variable moves an app from `production` to `dev-alice`.
 */
import { BRANCH_ID_PATTERN } from './names.js';
import type { LakebaseConfig, LakebaseOptions } from './types.js';

/** The config moved to the selected branch, or `config` unchanged when none is selected. */
export function selectBranch(
  config: LakebaseConfig,
  options: LakebaseOptions,
  env: Record<string, string | undefined>,
  invalid: (message: string, suggestion: string) => Error,
): LakebaseConfig {
  const fromOption = options.branch?.trim();
  const branch = fromOption || env.LAKEBASE_BRANCH?.trim();
  if (!branch) return config;
  const source = fromOption ? 'option branch' : 'LAKEBASE_BRANCH';
  if (config.mode !== 'autoscaling' || !config.endpoint) {
    throw invalid(
      `${source} selects branch '${branch}', but only Autoscaling projects have branches and no endpoint is configured.`,
      'Set LAKEBASE_ENDPOINT to an endpoint of the project (e.g. projects/my-app/branches/production/endpoints/primary), or unset LAKEBASE_BRANCH.',
    );
  }
  if (!BRANCH_ID_PATTERN.test(branch)) {
    throw invalid(
      `Invalid branch name '${branch}' (${source}): use 1-63 lowercase letters, digits and '-', starting with a letter.`,
      'For example LAKEBASE_BRANCH=dev-alice.',
    );
  }
  const parts = config.endpoint.split('/');
  const sources = { ...config.sources, branch: source };
  if (parts[3] === branch) return { ...config, branch, sources };
  parts[3] = branch;
  // The configured host belonged to the other branch's endpoint; the connector looks this branch's up (an explicit
  // `host` option still wins).
  const moved: LakebaseConfig = { ...config, branch, endpoint: parts.join('/'), sources };
  if (options.host === undefined) {
    moved.host = undefined;
    delete moved.sources.host;
  }
  moved.sources.endpoint = `${config.sources.endpoint ?? 'endpoint'} + ${source}`;
  return moved;
}

/** The environment without `LAKEBASE_BRANCH` (for calls that name their branch themselves). */
export function withoutBranch(
  env: Record<string, string | undefined> = process.env,
): Record<string, string | undefined> {
  const { LAKEBASE_BRANCH: _branch, ...rest } = env;
  return rest;
}
