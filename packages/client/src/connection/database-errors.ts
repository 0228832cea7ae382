/**
 * The one mapping from what PostgreSQL or the socket below it reports (a SQLSTATE, an errno or TLS code) to a
 * {@link LakebaseErrorCode}. `diagnose` and the CLI both use it; each words its own advice.
 */
import type { LakebaseErrorCode } from '../errors.js';
import { connectionFailureOf } from './connection-failures.js';

/** SQLSTATEs with a code of their own. */
const SQLSTATE_CODES: Readonly<Record<string, LakebaseErrorCode>> = {
  '28P01': 'LAKEBASE_LOGIN_FAILED', // invalid_password: the token was refused for this role
  '28000': 'LAKEBASE_ROLE_NOT_FOUND', // invalid_authorization_specification: no such role
  '3D000': 'LAKEBASE_DATABASE_NOT_FOUND',
  '42501': 'LAKEBASE_PERMISSION_DENIED', // insufficient_privilege
};

/** Node's socket errors (ECONNREFUSED, ...) and TLS certificate errors. */
const SOCKET_OR_TLS_CODE = /^(E[A-Z]+|ERR_TLS\w*|CERT_\w+|DEPTH_ZERO\w*|SELF_SIGNED\w*)$/;

/**
 * The library code for an error from pg or its socket. `during` says what was being done, for a failure that does
 * not name itself (an unlisted SQLSTATE, no code at all); without it, an error with no known code is
 * `LAKEBASE_UNEXPECTED_ERROR`.
 */
export function databaseErrorCode(error: unknown, during?: 'connect' | 'query'): LakebaseErrorCode {
  const code = error !== null && typeof error === 'object' ? (error as { code?: unknown }).code : undefined;
  if (typeof code === 'string') {
    const known = SQLSTATE_CODES[code];
    if (known) return known;
    if (connectionFailureOf(error)?.kind === 'starting') return 'LAKEBASE_INSTANCE_NOT_READY'; // 57P03: waking up
    if (SOCKET_OR_TLS_CODE.test(code)) return 'LAKEBASE_CONNECT_FAILED';
    if (/^[0-9A-Z]{5}$/.test(code)) return during === 'connect' ? 'LAKEBASE_CONNECT_FAILED' : 'LAKEBASE_QUERY_FAILED';
  }
  if (during === 'query') return 'LAKEBASE_QUERY_FAILED';
  return during === 'connect' ? 'LAKEBASE_CONNECT_FAILED' : 'LAKEBASE_UNEXPECTED_ERROR';
}
