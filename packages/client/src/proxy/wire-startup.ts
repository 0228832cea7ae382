/**
 * The server side of a PostgreSQL connection's first packets, shared by `lakebase proxy` and the emulator's front
 * door: SSLRequest (answered `S` and upgraded when the server has a certificate, else `N`), GSSENCRequest (always `N`:
 * the client falls back), PostgreSQL 17 direct TLS (ALPN `postgresql` required), CancelRequest, and finally the
 * StartupMessage. What a server does with the login is its own business.
 */
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { type SecureContext, TLSSocket } from 'node:tls';
import {
  authenticationCleartextPassword,
  CANCEL_REQUEST_CODE,
  errorResponse,
  GSSENC_REQUEST_CODE,
  PacketInbox,
  ProtocolError,
  parseStartupPacket,
  readCString,
  SSL_REQUEST_CODE,
  type StartupPacket,
} from './wire-protocol.js';

/** The client went away during the handshake: nothing to answer. */
export class ClientGone extends Error {
  constructor() {
    super('the client closed the connection');
    this.name = 'ClientGone';
  }
}

/** Options of {@link acceptStartup}. */
export interface AcceptStartupOptions {
  /** The server's certificate; without it SSLRequest is answered `N` and direct TLS is refused. */
  secureContext?: SecureContext;
  /** The largest typed message read during login (a password message). */
  maxMessage?: number;
  /** TLS errors after the handshake (a reset): for a log line. */
  onTlsError?: (error: Error) => void;
}

/** A client that sent its StartupMessage: `stream` is the TLS socket when it asked for TLS, else `raw`. */
export interface StartupAccepted {
  kind: 'startup';
  packet: StartupPacket;
  stream: Duplex;
  inbox: PacketInbox;
  tls: TLSSocket | undefined;
}

/** A client that sent a CancelRequest (its connection is ended already). */
export interface CancelAccepted {
  kind: 'cancel';
  processId: number;
  secretKey: number;
}

/**
 * Reads a connection's first packets. Resolves with the StartupMessage or a CancelRequest; a protocol violation is
 * answered with a FATAL ErrorResponse and rejects with the {@link ProtocolError}; a client that leaves rejects with
 * {@link ClientGone}.
 */
export async function acceptStartup(
  raw: Socket,
  options: AcceptStartupOptions = {},
): Promise<StartupAccepted | CancelAccepted> {
  const newInbox = (stream: Duplex) => new PacketInbox(stream, () => new ClientGone(), options.maxMessage);
  let stream: Duplex = raw;
  try {
    let inbox = newInbox(raw);
    let tls: TLSSocket | undefined;
    if ((await inbox.peekByte()) === 0x16) {
      if (!options.secureContext) throw new ProtocolError('direct TLS is not supported by this server');
      tls = await upgradeToTls(raw, inbox.detach(), options, true);
      stream = tls;
      inbox = newInbox(tls);
    }
    for (;;) {
      const packet = parseStartupPacket(await inbox.startupPacket());
      if (packet.code === SSL_REQUEST_CODE && !tls && !options.secureContext) {
        raw.write('N'); // no certificate: the client goes on in plain text (sslmode=prefer) or gives up (require)
        continue;
      }
      if (packet.code === SSL_REQUEST_CODE && !tls) {
        const leftover = inbox.detach();
        raw.write('S');
        tls = await upgradeToTls(raw, leftover, options, false);
        stream = tls;
        inbox = newInbox(tls);
        continue;
      }
      if (packet.code === GSSENC_REQUEST_CODE && !tls) {
        raw.write('N'); // no GSSAPI encryption: the client falls back to SSLRequest or plain
        continue;
      }
      if (packet.code === CANCEL_REQUEST_CODE) {
        stream.end();
        return { kind: 'cancel', processId: packet.processId ?? 0, secretKey: packet.secretKey ?? 0 };
      }
      if (packet.code === SSL_REQUEST_CODE || packet.code === GSSENC_REQUEST_CODE) {
        throw new ProtocolError('unexpected encryption request after TLS was established');
      }
      return { kind: 'startup', packet, stream, inbox, tls };
    }
  } catch (err) {
    if (err instanceof ProtocolError) sendFatal(stream, err.sqlstate, err.message);
    throw err;
  }
}

/** Wraps the socket in server-side TLS; `leftover` are bytes already read that belong to the TLS stream. */
async function upgradeToTls(
  raw: Socket,
  leftover: Buffer,
  options: AcceptStartupOptions,
  direct: boolean,
): Promise<TLSSocket> {
  // TLSSocket consumes whatever is still buffered on the socket, so unread bytes (a direct-TLS ClientHello) go back.
  if (leftover.length > 0) raw.unshift(leftover);
  const tls = new TLSSocket(raw, {
    isServer: true,
    secureContext: options.secureContext,
    ALPNProtocols: ['postgresql'],
  });
  tls.on('error', (err) => options.onTlsError?.(err));
  await new Promise<void>((resolve, reject) => {
    tls.once('secure', () => resolve());
    tls.once('close', () => reject(new ClientGone()));
  });
  tls.setNoDelay(true);
  if (direct && tls.alpnProtocol !== 'postgresql') {
    // PostgreSQL refuses direct TLS without ALPN (protects against cross-protocol attacks).
    tls.destroy();
    throw new ClientGone();
  }
  return tls;
}

/**
 * Asks the client for its password in clear text (AuthenticationCleartextPassword) and reads the PasswordMessage, as
 * Lakebase does for a token (over TLS, or here on loopback). Never log what it returns.
 */
export async function askCleartextPassword(stream: Duplex, inbox: PacketInbox): Promise<string> {
  stream.write(authenticationCleartextPassword());
  const reply = await inbox.message();
  if (reply.type !== 'p') {
    throw new ProtocolError(`expected password response, got message type ${reply.type.charCodeAt(0)}`);
  }
  return readCString(reply.body);
}

/** Ends the connection with a FATAL ErrorResponse, as a server refusing a login does. */
export function sendFatal(stream: Duplex, sqlstate: string, message: string, hint?: string): void {
  if (stream.destroyed || !stream.writable) {
    stream.destroy();
    return;
  }
  stream.end(errorResponse({ severity: 'FATAL', code: sqlstate, message, ...(hint ? { hint } : {}) }));
  // A client that never closes its side must not keep the socket open.
  setTimeout(() => stream.destroy(), 5_000).unref();
}
