/**
 * The one classification of "the database could not be reached, or ended the session" across the kit: the login
 * retry, the query retry, `diagnose`, the app's health and error mapping, and the emulator's tests all ask
 * {@link classifyConnectionFailure} instead of keeping their own list of SQLSTATEs, socket codes or pg messages.
 * (The emulator *raises* some of these SQLSTATEs, as a server does; that is not a second list.)
 */

/** What kind of connection failure an error is. */
export type ConnectionFailureKind =
  /** A socket error from Node (refused, reset, timed out, unreachable, broken pipe) or pg's own text for one. */
  | 'network'
  /** The host name did not resolve (ENOTFOUND; EAI_AGAIN is a resolver that did not answer in time). */
  | 'dns'
  /** SQLSTATE class 08, connection exception. */
  | 'connection'
  /** SQLSTATE class 53, insufficient resources (too many connections, out of memory, disk full). */
  | 'resources'
  /** 57P01 admin_shutdown, 57P02 crash_shutdown, 57P05 idle_session_timeout, 57P04 database_dropped: session ended. */
  | 'shutdown'
  /** 57P03 cannot_connect_now: the database system is starting up (a waking compute). */
  | 'starting'
  /** SQLSTATE class 28, the login was refused (wrong token, unknown role). */
  | 'auth';

export interface ConnectionFailure {
  kind: ConnectionFailureKind;
  /** The SQLSTATE or Node error code, when the error had one. */
  code: string | undefined;
  /** Whether it may heal by itself, so trying again (with backoff, within a deadline) makes sense. */
  transient: boolean;
}

/** Node's socket errors while connecting or talking. */
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE']);
/** Resolver errors. */
const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN']);
/** Session ended by the server; 57P04 (database dropped) will not come back by waiting. */
const SHUTDOWN_SQLSTATES = new Set(['57P01', '57P02', '57P04', '57P05']);
/** Class 53 failures a short wait can heal (slots and memory free up; a full disk or a hard limit does not). */
const TRANSIENT_RESOURCES = new Set(['53300', '53200']);

/** pg's and pg-pool's messages for a connection that closed or timed out with no code of its own. */
const NETWORK_MESSAGES =
  /connection terminated|timeout exceeded when trying to connect|connection timeout|timeout expired/i;
/** pg's message when a query is sent on a connection it already knows is dead. */
const CLOSED_CLIENT_MESSAGE = /is not queryable/;

function ownCode(error: object): string | undefined {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * The connection failure `error` itself is (not its causes), or undefined: any other SQLSTATE is a definite answer
 * from a live server (a bad query, a missing table), not a connection failure.
 */
export function connectionFailureOf(error: unknown): ConnectionFailure | undefined {
  if (!error || typeof error !== 'object') return undefined;
  const code = ownCode(error);
  if (code !== undefined) {
    if (SOCKET_CODES.has(code)) return { kind: 'network', code, transient: true };
    if (DNS_CODES.has(code)) return { kind: 'dns', code, transient: code === 'EAI_AGAIN' };
    if (code === '57P03') return { kind: 'starting', code, transient: true };
    if (SHUTDOWN_SQLSTATES.has(code)) return { kind: 'shutdown', code, transient: code !== '57P04' };
    // 08P01 protocol_violation is a bug on one side, not a state that passes.
    if (code.startsWith('08') && code.length === 5) return { kind: 'connection', code, transient: code !== '08P01' };
    if (code.startsWith('53') && code.length === 5) {
      return { kind: 'resources', code, transient: TRANSIENT_RESOURCES.has(code) };
    }
    if (code.startsWith('28') && code.length === 5) return { kind: 'auth', code, transient: false };
    if (/^[0-9A-Z]{5}$/.test(code)) return undefined;
  }
  const message = (error as { message?: unknown }).message;
  if (typeof message === 'string') {
    if (NETWORK_MESSAGES.test(message)) return { kind: 'network', code, transient: true };
    if (CLOSED_CLIENT_MESSAGE.test(message)) return { kind: 'shutdown', code, transient: true };
  }
  return undefined;
}

/**
 * The connection failure `error` is, looking through its `cause` chain (pg and the client wrap socket errors), or
 * undefined when nothing in the chain is one. The first error in the chain with a SQLSTATE decides: a definite
 * answer from the server is not hidden by a socket error further down.
 */
export function classifyConnectionFailure(error: unknown): ConnectionFailure | undefined {
  const seen = new Set<unknown>();
  for (let e = error; e && typeof e === 'object' && !seen.has(e); e = (e as { cause?: unknown }).cause) {
    seen.add(e);
    const failure = connectionFailureOf(e);
    if (failure) return failure;
    const code = ownCode(e);
    if (code !== undefined && /^[0-9A-Z]{5}$/.test(code)) return undefined;
  }
  return undefined;
}
