import { createServer, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createSecureContext, type SecureContext, type TLSSocket } from 'node:tls';
import { pgWire, SqlTextError } from '@lakebase-kit/client/toolkit';
import type { LoginAuthority } from '../contracts.js';
import { pooledStartupRefusal } from './pooler.js';
import { type Logger, type SessionStorage, StorageError, silentLogger } from './storage.js';

const { acceptStartup, askCleartextPassword, ClientGone, negotiateProtocolVersion, ProtocolError, sendFatal } = pgWire;
type PacketInbox = pgWire.PacketInbox;
type StartupPacket = pgWire.StartupPacket;

/** Options of {@link startFrontDoor}. */
export interface FrontDoorOptions {
  /** Interface to listen on, e.g. `127.0.0.1`. */
  host: string;
  /** TCP port; 0 picks a free one (read it back from {@link FrontDoor.port}). */
  port: number;
  /** Server certificate and key (PEM), e.g. from `ensureCertificates`. */
  tls: { certPem: string; keyPem: string };
  /** Decides who may log in (the workspace half of the emulator). */
  authority: LoginAuthority;
  /** Where authenticated sessions run. */
  storage: SessionStorage;
  logger?: Logger;
  /** A connection that has not finished logging in after this long is dropped (PostgreSQL: authentication_timeout). */
  handshakeTimeoutMs?: number;
}

/** Counters since start. */
export interface FrontDoorStats {
  /** TCP connections accepted. */
  connections: number;
  /** Sessions handed to storage and still open. */
  activeSessions: number;
  /** StartupMessages refused because the client did not use TLS. */
  refusedNoTls: number;
  /** Logins the authority refused. */
  refusedAuth: number;
}

/** A running front door. */
export interface FrontDoor {
  /** The port actually listened on. */
  readonly port: number;
  stats(): FrontDoorStats;
  /** Stops listening and ends every connection and session. */
  close(): Promise<void>;
}

const MAX_PASSWORD_MESSAGE = 65_536; // PostgreSQL's PG_MAX_AUTH_TOKEN_LENGTH; tokens are a few KB

/**
 * Starts the PostgreSQL front door: TLS-only (SSLRequest or PG17 direct TLS with ALPN `postgresql`), cleartext
 * password auth checked by `authority` (the password is a Lakebase database token), then hands the session to
 * `storage`. Mirrors what a `hostssl`-only PostgreSQL says to clients that get something wrong.
 */
export async function startFrontDoor(options: FrontDoorOptions): Promise<FrontDoor> {
  const logger = options.logger ?? silentLogger;
  const secureContext = createSecureContext({ cert: options.tls.certPem, key: options.tls.keyPem });
  const counters: FrontDoorStats = { connections: 0, activeSessions: 0, refusedNoTls: 0, refusedAuth: 0 };
  const sockets = new Set<Socket>();
  const ctx: ConnectionContext = { ...options, logger, secureContext, counters };

  const server = createServer((socket) => {
    counters.connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    // A socket error must never crash the process; 'close' follows and cleans up.
    socket.on('error', (err) => logger.info('postgres client socket error', { error: err.message }));
    socket.setNoDelay(true);
    handleConnection(socket, ctx).catch((err: unknown) => {
      logger.error('postgres connection handler failed', { error: String(err) });
      socket.destroy();
    });
  });
  server.on('error', (err) => logger.error('postgres front door error', { error: err.message }));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  logger.info('postgres front door listening', { host: options.host, port, storage: options.storage.description });

  return {
    port,
    stats: () => ({ ...counters }),
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

interface ConnectionContext extends FrontDoorOptions {
  logger: Logger;
  secureContext: SecureContext;
  counters: FrontDoorStats;
}

async function handleConnection(raw: Socket, ctx: ConnectionContext): Promise<void> {
  // Destroying the TCP socket also ends a TLS socket layered on it.
  const timeout = setTimeout(() => raw.destroy(), ctx.handshakeTimeoutMs ?? 60_000);
  try {
    const accepted = await acceptStartup(raw, {
      secureContext: ctx.secureContext,
      maxMessage: MAX_PASSWORD_MESSAGE,
      onTlsError: (err) => ctx.logger.info('postgres TLS error', { error: err.message }),
    });
    if (accepted.kind === 'cancel') {
      ctx.storage.cancel(accepted.processId, accepted.secretKey);
      return;
    }
    // The handshake timeout covers the login too (a client that never sends its password).
    await login(accepted.packet, accepted.stream, accepted.inbox, accepted.tls, raw, ctx).catch((err: unknown) => {
      if (err instanceof ProtocolError) sendFatal(accepted.stream, err.sqlstate, err.message);
      throw err;
    });
  } catch (err) {
    if (err instanceof ClientGone) return;
    if (err instanceof ProtocolError) {
      ctx.logger.warn('postgres protocol error', { error: err.message }); // answered with a FATAL already
      return;
    }
    throw err;
  } finally {
    clearTimeout(timeout);
  }
}

async function login(
  packet: StartupPacket,
  stream: Duplex,
  inbox: PacketInbox,
  tls: TLSSocket | undefined,
  raw: Socket,
  ctx: ConnectionContext,
): Promise<void> {
  const major = packet.code >> 16;
  const minor = packet.code & 0xffff;
  if (major !== 3) {
    throw new ProtocolError(`unsupported frontend protocol ${major}.${minor}: server supports 3.0 to 3.0`, '0A000');
  }
  const user = packet.params.user;
  if (!user) throw new ProtocolError('no PostgreSQL user name specified in startup packet', '28000');
  const database = packet.params.database || user;
  if (!tls) {
    ctx.counters.refusedNoTls++;
    const host = (raw.remoteAddress ?? 'unknown').replace(/^::ffff:/, '');
    sendFatal(
      stream,
      '28000',
      `no pg_hba.conf entry for host "${host}", user "${user}", database "${database}", no encryption`,
    );
    return;
  }
  const unsupported = Object.keys(packet.params).filter((k) => k.startsWith('_pq_.'));
  if (minor > 0 || unsupported.length > 0) stream.write(negotiateProtocolVersion(unsupported));

  const password = await askCleartextPassword(stream, inbox);
  const serverName = tls.servername || undefined;
  let decision: Awaited<ReturnType<LoginAuthority['authorizeLogin']>>;
  try {
    decision = await ctx.authority.authorizeLogin({ serverName, user, database, password });
  } catch (err) {
    ctx.logger.error('login authority failed', { user, database, error: String(err) });
    sendFatal(stream, 'XX000', 'internal error while checking the password');
    return;
  }
  if (!decision.ok) {
    ctx.counters.refusedAuth++;
    ctx.logger.info('postgres login refused', { user, database, serverName, sqlstate: decision.sqlstate });
    if (decision.disconnect) {
      stream.destroy(); // what a proxy in front of a waking compute does: no ErrorResponse, just a closed socket
      return;
    }
    sendFatal(stream, decision.sqlstate, decision.message);
    return;
  }

  const poolerRefusal = decision.pooled ? pooledStartupRefusal(packet.params) : undefined;
  if (poolerRefusal) {
    sendFatal(stream, '08P01', poolerRefusal);
    return;
  }
  const pending = inbox.detach();
  try {
    await ctx.storage.openSession(
      {
        role: decision.role,
        database: decision.database,
        params: packet.params,
        pending,
        ...(decision.readOnly ? { readOnly: true } : {}),
        ...(decision.nativePassword ? { password } : {}),
        ...(decision.tables ? { tables: decision.tables } : {}),
        ...(decision.branchKey !== undefined ? { branchKey: decision.branchKey } : {}),
        ...(decision.created ? { created: true } : {}),
      },
      stream,
    );
  } catch (err) {
    // A name with a NUL byte is refused by the quoting (SqlTextError, 22021) as PostgreSQL would refuse it.
    const storageError = err instanceof StorageError || err instanceof SqlTextError ? err : undefined;
    ctx.logger.warn('postgres session could not be opened', { user, database, error: String(err) });
    sendFatal(stream, storageError?.sqlstate ?? 'XX000', storageError?.message ?? 'could not open the session');
    return;
  }
  ctx.counters.activeSessions++;
  let counted = true;
  const done = () => {
    if (counted) ctx.counters.activeSessions--;
    counted = false;
  };
  stream.once('close', done);
  if (stream.destroyed) done();
  ctx.logger.info('postgres session started', { user, role: decision.role, database: decision.database, serverName });
}
