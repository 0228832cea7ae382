/** Calls made with a signed-in user's token: minting the user's database credential, and the REST client behind it. */
import { parseEndpointName, parseInstanceName } from '../config/names.js';
import { LakebaseError } from '../errors.js';
import { type DatabaseCredential, LakebaseApi } from '../workspace/api.js';
import type { FetchFn } from '../workspace/http.js';
import type { LakebasePool } from './pool.js';

/** A database credential minted with `userToken` for `main`'s endpoint or instance (errors as the API threw them). */
export async function mintUserCredential(
  main: LakebasePool,
  userToken: string,
  fetch: FetchFn | undefined,
): Promise<DatabaseCredential> {
  const api = userApi(main, userToken, fetch);
  const c = main.lakebase.config;
  if (c.mode === 'autoscaling')
    return await api.generateEndpointCredential(parseEndpointName(c.endpoint as string, 'endpoint'));
  const instance = (await main.lakebase.target()).instanceName ?? c.instanceName;
  if (!instance) {
    throw new LakebaseError('LAKEBASE_NOT_CONFIGURED', 'Per-user pools need the instance name or endpoint.', {
      suggestion: 'Set LAKEBASE_INSTANCE_NAME (Provisioned) or LAKEBASE_ENDPOINT (Autoscaling).',
    });
  }
  return await api.generateInstanceCredential([parseInstanceName(instance, 'instance')]);
}

/** The REST client authenticated as the user (their token as the bearer). */
export function userApi(main: LakebasePool, userToken: string, fetch: FetchFn | undefined): LakebaseApi {
  const host = main.lakebase.config.workspace.host;
  if (main.lakebase.config.mode === 'static' || !host) {
    throw new LakebaseError('LAKEBASE_NOT_CONFIGURED', 'Per-user pools need a Lakebase workspace, not a static URL.', {
      suggestion: 'Set DATABRICKS_HOST and LAKEBASE_ENDPOINT or LAKEBASE_INSTANCE_NAME.',
    });
  }
  return new LakebaseApi({ host, getToken: async () => userToken }, fetch ? { fetch } : {});
}
