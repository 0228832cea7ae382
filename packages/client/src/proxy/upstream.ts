/**
 * The proxy's side towards Lakebase: a TCP connection (through the client's DNS fallback), SSLRequest and TLS with the
 * pool's settings (verify-full by default), a StartupMessage as the configured identity, and the token as the
 * password. What the server says until ReadyForQuery is collected for the local client.
 */
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { type ConnectionOptions, connect as tlsConnect } from 'node:tls';
import type { LakebaseConnector } from '../connection/connector.js';
import { createLookup } from '../connection/dns.js';
import { LakebaseError } from '../errors.js';
import {
  cancelRequest,
  type Message,
  message,
  PacketInbox,
  PROTOCOL_3_0,
  passwordMessage,
  SSL_REQUEST_CODE,
  startupPacket,
} from './wire-protocol.js';

/** Where a backend lives, for its cancel requests. */
export interface BackendAddress {
  host: string;
  port: number;
  ssl: false | ConnectionOptions;
  dnsFallback: boolean;
}

/** A logged-in backend: everything it sent up to and including ReadyForQuery is in `startup`, minus BackendKeyData. */
export interface Backend {
  socket: Duplex;
  /** Messages for the client, in order; BackendKeyData is left out (the proxy gives the client its own key). */
  startup: Buffer[];
  /** An ErrorResponse that ended the login: forward it and close. */
  refusal: Buffer | undefined;
  processId: number;
  secretKey: number;
  address: BackendAddress;
  /** Bytes that arrived after ReadyForQuery (an early notice), for the client. */
  pending: Buffer;
}

class UpstreamClosed extends Error {}

/** Opens a TCP (and TLS) connection to `address`, bounded by `timeoutMs`. */
async function openStream(address: BackendAddress, timeoutMs: number): Promise<Duplex> {
  const raw = net.connect({
    host: address.host,
    port: address.port,
    ...(address.dnsFallback ? { lookup: createLookup() } : {}),
  });
  raw.setNoDelay(true);
  raw.setKeepAlive(true);
  const timer = setTimeout(() => raw.destroy(new Error(`connect timed out after ${timeoutMs} ms`)), timeoutMs);
  try {
    await new Promise<void>((resolve, reject) => {
      raw.once('connect', resolve);
      raw.once('error', reject);
    });
    raw.on('error', () => {}); // later errors surface as 'close' to whoever owns the socket (login, then the pipe)
    if (!address.ssl) return raw;
    raw.write(startupPacket(SSL_REQUEST_CODE));
    const answer = await new Promise<Buffer>((resolve, reject) => {
      raw.once('data', resolve);
      raw.once('error', reject);
      raw.once('close', () => reject(new UpstreamClosed('the server closed the connection during SSLRequest')));
    });
    if (answer[0] !== 0x53 /* S */) throw new UpstreamClosed('the server does not accept TLS');
    const servername = net.isIP(address.host) ? undefined : address.host;
    const tls = tlsConnect({ ...address.ssl, socket: raw, ...(servername ? { servername } : {}) });
    await new Promise<void>((resolve, reject) => {
      tls.once('secureConnect', resolve);
      tls.once('error', reject);
    });
    tls.on('error', () => {}); // as above: 'close' follows
    return tls;
  } catch (error) {
    raw.destroy();
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/** The backend address of a connector's target (looked up once by the connector), with the TLS options to use. */
export async function backendAddress(
  connector: LakebaseConnector,
  ssl: BackendAddress['ssl'],
): Promise<{ address: BackendAddress; user: string; database: string }> {
  const target = await connector.target();
  return {
    address: {
      host: target.host,
      port: target.port,
      ssl,
      dnsFallback: connector.config.dnsFallback,
    },
    user: target.user,
    database: target.database,
  };
}

/**
 * Opens the TCP connection and TLS to a backend, ready for a login. A failure is a {@link LakebaseError}
 * (`LAKEBASE_CONNECT_FAILED` / `LAKEBASE_TLS_FAILED`).
 */
export async function connectBackend(address: BackendAddress, timeoutMs: number): Promise<Duplex> {
  try {
    return await openStream(address, timeoutMs);
  } catch (cause) {
    throw unreachable(address, cause);
  }
}

/**
 * Logs in on `socket` (from {@link connectBackend}) as `params.user` with `password` (cleartext over TLS, as Lakebase
 * asks; trust also works, for a static URL). A connection lost on the way is `LAKEBASE_CONNECT_FAILED`.
 */
export async function loginUpstream(
  socket: Duplex,
  address: BackendAddress,
  params: Record<string, string>,
  password: string | undefined,
  timeoutMs: number,
): Promise<Backend> {
  const timer = setTimeout(() => socket.destroy(new Error('login timed out')), timeoutMs);
  const inbox = new PacketInbox(socket, () => new UpstreamClosed('the server closed the connection during login'));
  try {
    socket.write(startupPacket(PROTOCOL_3_0, params));
    const startup: Buffer[] = [];
    let processId = 0;
    let secretKey = 0;
    for (;;) {
      const msg: Message = await inbox.message();
      if (msg.type === 'R') {
        const code = msg.body.readInt32BE(0);
        if (code === 3) {
          if (password === undefined) throw new UpstreamClosed('the server asked for a password and there is none');
          socket.write(passwordMessage(password));
          continue;
        }
        if (code !== 0) throw new UpstreamClosed(`the server asked for authentication method ${code}`);
      }
      if (msg.type === 'E') {
        socket.destroy();
        return {
          socket,
          startup,
          refusal: message('E', msg.body),
          processId,
          secretKey,
          address,
          pending: Buffer.alloc(0),
        };
      }
      if (msg.type === 'K') {
        processId = msg.body.readInt32BE(0);
        secretKey = msg.body.readInt32BE(4);
        continue;
      }
      startup.push(message(msg.type, msg.body));
      if (msg.type === 'Z') {
        const pending = inbox.detach();
        return { socket, startup, refusal: undefined, processId, secretKey, address, pending };
      }
    }
  } catch (cause) {
    socket.destroy();
    throw unreachable(address, cause);
  } finally {
    clearTimeout(timer);
  }
}

/** Sends a CancelRequest for a backend (over TLS when its logins use TLS), best effort within `timeoutMs`. */
export async function cancelUpstream(
  backend: Pick<Backend, 'address' | 'processId' | 'secretKey'>,
  timeoutMs: number,
): Promise<void> {
  const stream = await openStream(backend.address, timeoutMs);
  stream.on('error', () => {}); // best effort, like PostgreSQL's own cancel
  stream.end(cancelRequest(backend.processId, backend.secretKey));
  setTimeout(() => stream.destroy(), timeoutMs).unref();
}

function unreachable(address: BackendAddress, cause: unknown): LakebaseError {
  const text = cause instanceof Error ? cause.message : String(cause);
  const code = (cause as { code?: unknown }).code;
  const tls =
    typeof code === 'string' && (code.startsWith('ERR_TLS') || code.includes('CERT') || code.includes('SELF_SIGNED'));
  return tls
    ? new LakebaseError('LAKEBASE_TLS_FAILED', `TLS to ${address.host}:${address.port} failed: ${text}`, {
        suggestion: 'Check PGSSLROOTCERT (the CA that signed the server certificate) and that the host name is right.',
        cause,
      })
    : new LakebaseError(
        'LAKEBASE_CONNECT_FAILED',
        `Cannot reach the database at ${address.host}:${address.port}: ${text}`,
        {
          suggestion:
            'Check the host and port, the network (VPN, firewall) and that the instance or endpoint is running.',
          retryable: true,
          cause,
        },
      );
}
