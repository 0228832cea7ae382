/**
 * The one bound of every `diagnose` / `diagnoseUser` step: `stepTimeoutMs`. A step that has not finished by then fails
 * with a stable code for its kind (a workspace step `LAKEBASE_API_UNREACHABLE`, a network step the code its own
 * failure would carry), `details.reason = 'timeout'`, and the step's REST requests are cancelled (their sockets
 * closed) rather than left to run to their own 10 s deadlines and retries.
 */
import { LakebaseError, type LakebaseErrorCode } from '../errors.js';
import { withDeadline } from '../time.js';
import { withAbortSignal } from '../workspace/http.js';
import type { DiagnosticStepName } from './steps.js';

const WORKSPACE: Timeout = {
  code: 'LAKEBASE_API_UNREACHABLE',
  suggestion:
    'The workspace API did not answer in time: check that DATABRICKS_HOST is reachable from this machine and ' +
    'answering (proxy, VPN, `curl $DATABRICKS_HOST`).',
};
const CONNECT: Timeout = {
  code: 'LAKEBASE_CONNECT_FAILED',
  suggestion:
    'The database did not answer in time: check the host and port (PGHOST, PGPORT), that the instance is running ' +
    '(a waking endpoint takes a few seconds: run again), and that no firewall or VPN drops port 5432.',
};
const QUERY: Timeout = {
  code: 'LAKEBASE_QUERY_FAILED',
  suggestion: 'The database did not answer the query in time: look for locks or load (pg_stat_activity).',
};

interface Timeout {
  code: LakebaseErrorCode;
  suggestion: string;
}

/** Every step has an entry (the type says so), so a timed-out step always has a code and a suggestion. */
const TIMEOUTS: Record<DiagnosticStepName, Timeout> = {
  config: {
    code: 'LAKEBASE_CONFIG_INVALID',
    suggestion: 'Reading the configuration hung: check the .env and profile files.',
  },
  auth: WORKSPACE,
  target: WORKSPACE,
  credential: WORKSPACE,
  identity: WORKSPACE,
  'user-scope': WORKSPACE,
  dns: {
    code: 'LAKEBASE_DNS_FAILED',
    suggestion: 'The DNS lookup did not answer in time: check the resolver (/etc/resolv.conf, VPN) and PGHOST.',
  },
  tcp: CONNECT,
  tls: {
    code: 'LAKEBASE_TLS_FAILED',
    suggestion:
      'The TLS handshake did not finish in time: check that the server speaks TLS on this port and PGSSLMODE.',
  },
  login: CONNECT,
  'user-role': CONNECT,
  query: QUERY,
  privileges: QUERY,
  'row-security': QUERY,
};

/** The failure of step `name` that did not finish within `timeoutMs`. */
export function stepTimedOut(name: DiagnosticStepName, timeoutMs: number): LakebaseError {
  const { code, suggestion } = TIMEOUTS[name];
  return new LakebaseError(code, `The ${name} step did not finish within ${timeoutMs} ms (stepTimeoutMs).`, {
    suggestion,
    retryable: true,
    details: { reason: 'timeout', step: name, timeoutMs },
  });
}

/**
 * `run`, failing with {@link stepTimedOut} after `timeoutMs` (<= 0: no bound). On the timeout `signal` aborts with that
 * error: REST requests made inside are cancelled, and `run` can end what else it started (a pg client).
 */
export function withStepTimeout<T>(
  name: DiagnosticStepName,
  timeoutMs: number,
  run: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  return withDeadline(
    withAbortSignal(controller.signal, async () => run(controller.signal)),
    timeoutMs,
    () => {
      const error = stepTimedOut(name, timeoutMs);
      controller.abort(error);
      return error;
    },
  );
}
