/**
 * The app's error mapping and health read the client's one classification of connection failures
 * (`classifyConnectionFailure` from the toolkit): whatever the client's login retry treats as "the database cannot be
 * reached right now", the app answers 503 LAKEBASE_UNAVAILABLE, never 500, and a definite answer from the server
 * (an unknown table, a constraint) is not "unavailable".
 */
import { describe, expect, it } from 'vitest';
import { isTransientLoginFailure } from '../../packages/client/src/connection/login-retry.js';
import { toAppError } from '../server/errors.js';

const coded = (code: string, message = 'failed') => Object.assign(new Error(message), { code });

const CONNECTION_FAILURES: Array<[string, Error]> = [
  ['08006', coded('08006')],
  ['53300', coded('53300', 'sorry, too many clients already')],
  ['57P01', coded('57P01', 'terminating connection due to administrator command')],
  ['57P03', coded('57P03', 'the database system is starting up')],
  ['ECONNREFUSED', coded('ECONNREFUSED')],
  ['EAI_AGAIN', coded('EAI_AGAIN')],
  ['pg connect timeout', new Error('timeout expired')],
  ['pool checkout timeout', new Error('timeout exceeded when trying to connect')],
  ['closed client', new Error('Client was closed and is not queryable')],
  ['wrapped', new Error('query failed', { cause: coded('ECONNRESET') })],
];

describe('the app and the client classify connection failures alike', () => {
  it.each(CONNECTION_FAILURES)(
    '%s: transient for the client’s retry, 503 LAKEBASE_UNAVAILABLE in the app',
    (_, error) => {
      expect(isTransientLoginFailure(error)).toBe(true);
      const app = toAppError(error);
      expect([app.statusCode, app.code]).toEqual([503, 'LAKEBASE_UNAVAILABLE']);
    },
  );

  it('a definite answer from the server is a query failure, not "unavailable"', () => {
    for (const code of ['23505', '22P02', '42501']) {
      const app = toAppError(coded(code));
      expect([app.statusCode, app.code], code).toEqual([500, 'LAKEBASE_QUERY_FAILED']);
    }
  });
});
