/**
 * Per-user mode (`LAKEBASE_CONNECT_AS=user`): each request runs on a pool that connects as the signed-in user, with
 * the OAuth token the Databricks Apps proxy forwards in `X-Forwarded-Access-Token` (the app needs
 * `user_api_scopes: [postgres]`). PostgreSQL's grants and row-level security then decide what the user sees.
 */
import type { UserLease, UserPools } from '@lakebase-kit/client';
import { errorCodeInfo } from '@lakebase-kit/client/toolkit';
import type { FastifyRequest } from 'fastify';
import { AppError, findInChain, toAppError } from './errors.js';
import { requireIdentity } from './identity.js';

/** The header the Apps proxy forwards the user's token in. Never logged (app.ts keeps an allowlist of headers). */
export const USER_TOKEN_HEADER = 'x-forwarded-access-token';

declare module 'fastify' {
  interface FastifyRequest {
    /** The user's pool for this request, in per-user mode (released when the response is sent). */
    databaseLease: UserLease | undefined;
  }
}

/**
 * Leases the caller's pool for this request. The database identity comes from the token (the credential the workspace
 * minted for it), and must be the proxy's `X-Forwarded-Email` when that is sent; locally, without it, the token's
 * user is the caller. On the embedded emulator, a request without a token gets one for its caller (`devUserToken`).
 */
export async function attachUserPool(
  request: FastifyRequest,
  pools: UserPools,
  devUserToken?: (email: string) => Promise<string>,
): Promise<void> {
  if (request.databaseLease) return;
  const identity = requireIdentity(request);
  const raw = request.headers[USER_TOKEN_HEADER];
  let token = (Array.isArray(raw) ? raw[0] : raw)?.trim();
  if (!token && devUserToken) token = await devUserToken(identity.email);
  if (!token) {
    throw new AppError(
      'USER_TOKEN_MISSING',
      'This app connects to the database as each user, and the request carries no user token.',
    );
  }
  let lease: UserLease;
  try {
    lease = await pools.acquire(token);
  } catch (error) {
    throw userAccessError(error);
  }
  if (identity.source === 'proxy' && identity.email.toLowerCase() !== lease.identity.toLowerCase()) {
    lease.release();
    throw new AppError('IDENTITY_MISMATCH', 'The forwarded user token belongs to another user than X-Forwarded-Email.');
  }
  // The database's spelling of the user, so rows written match current_user exactly (row-level security).
  request.identity = { ...identity, email: lease.identity };
  request.databaseLease = lease;
}

/**
 * A user that may not use the database is a 401/403 of theirs, not a 503 of the server's: the status the registry
 * gives a library code when the caller's own credential caused it (LAKEBASE_AUTH_FAILED, _ROLE_NOT_FOUND, ...).
 */
function userAccessError(error: unknown): AppError {
  const mapped = toAppError(error);
  const info = errorCodeInfo(mapped.code);
  const status = info?.scope === 'library' ? info.http?.status : undefined;
  if (status !== 401 && status !== 403) return mapped;
  return new AppError(mapped.code, mapped.message, { suggestion: mapped.suggestion });
}

/**
 * A query's failure in per-user mode: a missing privilege (SQLSTATE 42501) is the user's (not a member of the group
 * role that holds the table privileges), so a 403 saying who can fix it; anything else as in service-principal mode.
 */
export function userQueryError(error: unknown): AppError {
  const denied = findInChain(error, (e): e is { code: string } => (e as { code?: unknown } | null)?.code === '42501');
  if (!denied) return toAppError(error);
  return new AppError('LAKEBASE_PERMISSION_DENIED', 'Your database role may not use this table.', {
    suggestion:
      "Ask the app owner to add you to the app's group role: `lakebase grant --to lakebase_app_users --members <your email>`.",
  });
}
