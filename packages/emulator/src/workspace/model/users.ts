import type { RoleRegistry } from './roles.js';
import { OAUTH_TOKEN_TTL_SECONDS } from './tokens.js';

/** What issuing a user token needs from the workspace: its users, their roles and the token signer. */
export interface UserTokenIssuer {
  readonly roles: Pick<RoleRegistry, 'find' | 'materialize'>;
  addUser(email: string, options?: { role?: boolean }): { userName: string; pat: string };
  issueAccessToken(clientId: string, scope: string, issuer: string): Promise<string>;
  baseUrlOr(requestOrigin: string): string;
}

/** The scope a user token needs to mint a database credential (the app's `user_api_scopes: [postgres]`). */
export const POSTGRES_SCOPE = 'postgres';
const SCOPE_NAME = /^[a-z][a-z0-9._:-]{0,63}$/;

/**
 * A user's OAuth access token, as the Databricks Apps proxy forwards it in `x-forwarded-access-token` when the app
 * declares `user_api_scopes`. The user is created if new (with a PostgreSQL role unless `role: false`). The token is
 * a bearer for the workspace API like any access token; its scopes decide what it may do there.
 */
export async function issueUserToken(
  ws: UserTokenIssuer,
  email: string,
  options: { scopes?: string[]; role?: boolean } = {},
): Promise<{ access_token: string; token_type: 'Bearer'; expires_in: number; scope: string }> {
  const scopes = options.scopes ?? [POSTGRES_SCOPE];
  for (const scope of scopes) {
    if (!SCOPE_NAME.test(scope)) throw new RangeError(`a scope is a lowercase name such as 'postgres', got '${scope}'`);
  }
  const roleOption = options.role === undefined ? {} : { role: options.role };
  const user = ws.addUser(email, roleOption);
  if (ws.roles.find(user.userName)) await ws.roles.materialize(user.userName);
  const scope = scopes.join(' ');
  const token = await ws.issueAccessToken(user.userName, scope, `${ws.baseUrlOr('http://localhost')}/oidc`);
  return { access_token: token, token_type: 'Bearer', expires_in: OAUTH_TOKEN_TTL_SECONDS, scope };
}

/**
 * Whether a bearer with `scopes` may call the database credential APIs: a PAT (undefined) may, and so may an OAuth
 * token with `all-apis` (service principals) or `postgres` (a user token of an app with that user scope).
 */
export function mayMintDatabaseCredential(scopes: string[] | undefined): boolean {
  return scopes === undefined || scopes.includes('all-apis') || scopes.includes(POSTGRES_SCOPE);
}
