/**
 * What per-user pools say when a user cannot connect: a token without the `postgres` scope, an expired or revoked
 * token, a user without a PostgreSQL role. Each error names the fix for that user.
 */
import { LakebaseError } from '../errors.js';
import type { DatabaseCredential } from '../workspace/api.js';
import { databaseErrorCode } from './database-errors.js';

/** A request without a user token. */
export function noUserToken(): LakebaseError {
  return new LakebaseError('LAKEBASE_AUTH_FAILED', 'No user token came with the request.', {
    suggestion:
      'In Databricks Apps, add `user_api_scopes: [postgres]` to the app so the proxy forwards X-Forwarded-Access-Token; locally, send that header with a token from the emulator (POST /__emulator/users/token).',
    details: { reason: 'no_user_token' },
  });
}

/** The per-user pools were closed (with their main pool). */
export function userPoolsClosed(): LakebaseError {
  return new LakebaseError('LAKEBASE_CLOSED', 'The per-user pools are closed (the main pool was ended).', {
    suggestion: 'Create the pools again after creating a new main pool.',
  });
}

/** Every one of `maxUsers` pools stayed busy for `waitMs`. */
export function userPoolsFull(maxUsers: number, waitMs: number): LakebaseError {
  return new LakebaseError('LAKEBASE_CONNECT_FAILED', `All ${maxUsers} per-user pools stayed busy for ${waitMs} ms.`, {
    suggestion:
      'Raise LAKEBASE_USER_POOLS_MAX_USERS (each user costs up to LAKEBASE_USER_POOL_MAX connections), or retry.',
    retryable: true,
    details: { reason: 'user_pools_full', maxUsers },
  });
}

/** Usable for a login for at least another minute. */
export function fresh(credential: DatabaseCredential): boolean {
  return credential.expiresAt.getTime() - Date.now() > 60_000;
}

/** A refusal at login, in the words per-user mode needs. */
export function loginError(error: unknown, identity: string): unknown {
  const code = databaseErrorCode(error, 'connect');
  if (code !== 'LAKEBASE_ROLE_NOT_FOUND' && code !== 'LAKEBASE_LOGIN_FAILED') return error;
  return new LakebaseError(
    'LAKEBASE_ROLE_NOT_FOUND',
    `User "${identity}" has no PostgreSQL role on this database, so they cannot connect as themselves.`,
    {
      cause: error,
      suggestion:
        `Create it: \`databricks postgres create-role <branch> --json '{"spec":{"postgres_role":"${identity}","identity_type":"USER"}}'\` ` +
        `(Autoscaling; Provisioned: the instance roles API with identity_type USER), or in SQL ` +
        `\`CREATE EXTENSION IF NOT EXISTS databricks_auth; SELECT databricks_create_role('${identity}', 'USER');\`, ` +
        "then add it to the app's group role: `lakebase grant --to <group> --members " +
        `${identity}\`.`,
      details: { identity, reason: 'no_role' },
    },
  );
}

/** A 403 from the credential API for a user token: the app lacks the `postgres` user scope. */
export function scopeError(error: unknown): unknown {
  if (!(error instanceof LakebaseError) || error.code !== 'LAKEBASE_PERMISSION_DENIED') return error;
  if (!/scope/i.test(error.message)) return error;
  return new LakebaseError(
    'LAKEBASE_PERMISSION_DENIED',
    "The user's token may not mint a database credential: it lacks the `postgres` scope.",
    {
      cause: error,
      suggestion:
        'Add `user_api_scopes: [postgres]` to the app (databricks.yml) and redeploy; users then consent to the scope on their next visit.',
      details: { ...error.details, reason: 'missing_scope' },
    },
  );
}

const SIGN_IN_AGAIN =
  'The user must sign in again: reload the app (the Databricks Apps proxy then forwards a fresh token); locally, get a new token from the emulator (POST /__emulator/users/token).';

/** A user token past its `exp`: refused without asking the workspace. */
export function userTokenExpired(): LakebaseError {
  return new LakebaseError('LAKEBASE_AUTH_FAILED', "The user's token has expired.", {
    suggestion: SIGN_IN_AGAIN,
    details: { reason: 'user_token_expired' },
  });
}

/** The workspace refused a user token (expired, revoked, or not one of its tokens) when minting with it. */
export function userTokenError(error: unknown): unknown {
  if (!(error instanceof LakebaseError) || error.code !== 'LAKEBASE_AUTH_FAILED') return error;
  return new LakebaseError(
    'LAKEBASE_AUTH_FAILED',
    "The workspace refused the user's token (expired, revoked, or not issued by this workspace).",
    { cause: error, suggestion: SIGN_IN_AGAIN, details: { ...error.details, reason: 'user_token_rejected' } },
  );
}
