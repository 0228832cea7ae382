/**
 * `startProxy`: a local PostgreSQL endpoint in front of a Lakebase database, so any tool (psql, a GUI, pgbench, another
 * language's driver) connects without a token. Each client connection gets its own backend connection, logged in over
 * TLS with a token from the shared credential manager (cached, refreshed ahead of expiry); after the login the proxy is
 * a byte pipe (COPY, the extended protocol, LISTEN/NOTIFY and long transactions pass untouched; Lakebase checks the
 * token at login only, so a session outlives its token). Loopback only unless a local password (SCRAM-SHA-256) guards
 * it. The client gets a cancel key of the proxy's, mapped to its backend's, so a cancel reaches the right session.
 */
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import net, { type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createSecureContext } from 'node:tls';
import { type ConnectorOptions, LakebaseConnector } from '../connection/connector.js';
import { routedConnector } from '../connection/routes.js';
import { buildSslOptions } from '../connection/tls.js';
import { isLakebaseError, redact } from '../errors.js';
import { assertSafeOptions, listen } from './listener.js';
import { checkLocalPassword, PasswordRefused, type ScramVerifier, scramVerifier } from './local-password.js';
import {
  type Backend,
  type BackendAddress,
  backendAddress,
  cancelUpstream,
  connectBackend,
  loginUpstream,
} from './upstream.js';
import { backendKeyData, newCancelKey, type PacketInbox, ProtocolError } from './wire-protocol.js';
import { acceptStartup, askCleartextPassword, ClientGone, sendFatal } from './wire-startup.js';

/** Options of {@link startProxy}: where to listen, and the Lakebase settings of any pool (`env`, `branch`, ...). */
export interface ProxyOptions extends ConnectorOptions {
  /** Interface to listen on (default `127.0.0.1`). Anything but loopback needs `localPassword`. */
  listenAddress?: string;
  /** TCP port to listen on (default 5432; 0 picks a free one). `port` is the database's, as for a pool. */
  listenPort?: number;
  /** Connect to the read host (read replica) instead of the read-write host. */
  readOnly?: boolean;
  /**
   * Pass the user the local client names through, instead of the configured identity. A client naming another user
   * is asked for its password and logs in with it (that identity's own token, or a native password role's password);
   * the proxy's token only ever logs in as the configured identity. Cannot be combined with `localPassword`.
   */
  allowUser?: boolean;
  /** A password local clients must give (checked with SCRAM-SHA-256); required off loopback. */
  localPassword?: string;
  /** Offer TLS to local clients with this certificate (they may still connect in plain text). */
  tls?: { certPem: string; keyPem: string };
  /** Serve `GET /healthz` on this port (same interface); 0 picks a free one. */
  healthPort?: number;
  /** A connection that has not finished its login after this long is dropped (default 60000 ms). */
  handshakeTimeoutMs?: number;
}

/** What a running proxy reports. */
export interface ProxyStats {
  /** Client connections accepted. */
  connections: number;
  /** Client connections open now (logging in or piping). */
  active: number;
  /** Sessions that reached ReadyForQuery. */
  sessions: number;
  /** Logins refused: wrong local password, backend refusal, workspace failure. */
  refused: number;
  cancels: number;
}

/** A running proxy. */
export interface LakebaseProxy {
  /** The address listened on. */
  readonly host: string;
  readonly port: number;
  /** The database and user a client gets by default (the configured target). */
  readonly database: string;
  readonly user: string;
  /** `postgresql://<user>@<host>:<port>/<database>`, no password. */
  readonly url: string;
  /** The health port, when one was asked for. */
  readonly healthPort: number | undefined;
  stats(): ProxyStats;
  /**
   * Stops accepting, waits up to `drainMs` (default 0) for open clients to leave, then ends the rest and stops the
   * credential refresh.
   */
  close(options?: { drainMs?: number }): Promise<void>;
}

const MAX_LOGIN_MESSAGE = 65_536;
const CANCEL_TIMEOUT_MS = 10_000;

/**
 * Starts the proxy. Rejects with `LAKEBASE_PROXY_UNSAFE_ADDRESS` for a non-loopback address without a local password,
 * `LAKEBASE_PORT_IN_USE` when the port is taken, and the config's own errors.
 */
export async function startProxy(options: ProxyOptions = {}): Promise<LakebaseProxy> {
  const host = options.listenAddress ?? '127.0.0.1';
  const localPassword = options.localPassword || undefined;
  assertSafeOptions(host, localPassword, options.allowUser ?? false);
  const primary = new LakebaseConnector(options);
  const connector = options.readOnly ? routedConnector(primary, 'read') : primary;
  const verifier = localPassword ? scramVerifier(localPassword) : undefined;
  const secureContext = options.tls
    ? createSecureContext({ cert: options.tls.certPem, key: options.tls.keyPem })
    : undefined;
  const ssl = buildSslOptions(connector.config); // read PGSSLROOTCERT once, not per connection
  const ctx: ProxyContext = {
    connector,
    ssl,
    verifier,
    secureContext,
    allowUser: options.allowUser ?? false,
    handshakeTimeoutMs: options.handshakeTimeoutMs ?? 60_000,
    sessions: new Map(),
    counters: { connections: 0, active: 0, sessions: 0, refused: 0, cancels: 0 },
  };

  // Resolve the target and mint the first token now, so the first client does not wait for it; a workspace that is
  // down is reported to each client that connects instead of stopping the proxy.
  let target: { database: string; user: string } = {
    database: primary.config.database,
    user: primary.config.user ?? '',
  };
  try {
    target = await backendAddress(connector, ssl);
  } catch (error) {
    if (!isLakebaseError(error)) throw error;
    connector.log('warn', 'proxy: the database target could not be resolved yet; each connection tries again', {
      code: error.code,
      error: error.message,
    });
  }

  let draining = false;
  let idle: (() => void) | undefined;
  const sockets = new Set<Socket>();
  const server = net.createServer((socket) => {
    ctx.counters.connections++;
    ctx.counters.active++;
    sockets.add(socket);
    socket.on('error', () => {}); // 'close' follows and cleans up
    socket.once('close', () => {
      sockets.delete(socket);
      ctx.counters.active--;
      if (ctx.counters.active === 0) idle?.();
    });
    socket.setNoDelay(true);
    serveClient(socket, ctx).catch((error: unknown) => {
      connector.log('warn', 'proxy: connection failed', { error: String(error) });
      socket.destroy();
    });
  });
  let health: HttpServer | undefined;
  try {
    await listen(server, host, options.listenPort ?? 5432);
    if (options.healthPort !== undefined) {
      health = createHttpServer((req, res) => {
        const ok = req.url === '/healthz' && !draining;
        res.writeHead(req.url === '/healthz' ? (ok ? 200 : 503) : 404, { 'content-type': 'application/json' });
        res.end(JSON.stringify(ok ? { status: 'ok' } : { status: draining ? 'draining' : 'not found' }));
      });
      await listen(health, host, options.healthPort);
    }
  } catch (error) {
    // Nothing half-started stays behind: the listener (if bound) and the credential refresh stop.
    if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
    await primary.close();
    throw error;
  }
  const port = (server.address() as net.AddressInfo).port;
  let closed: Promise<void> | undefined;
  const displayHost = host.includes(':') ? `[${host}]` : host;

  return {
    host,
    port,
    database: target.database,
    user: target.user,
    url: `postgresql://${encodeURIComponent(target.user)}@${displayHost}:${port}/${encodeURIComponent(target.database)}`,
    healthPort: health ? (health.address() as net.AddressInfo).port : undefined,
    stats: () => ({ ...ctx.counters }),
    close: ({ drainMs = 0 } = {}) => {
      closed ??= (async () => {
        draining = true;
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        const allClosed = (withinMs: number) =>
          new Promise<void>((resolve) => {
            if (ctx.counters.active === 0) return resolve();
            const timer = setTimeout(resolve, withinMs);
            idle = () => {
              clearTimeout(timer);
              resolve();
            };
          });
        if (drainMs > 0) await allClosed(drainMs);
        for (const socket of sockets) socket.destroy();
        await allClosed(5_000); // each destroyed socket's 'close' event, so stats() reads 0 when close() resolves
        await stopped;
        if (health) {
          health.closeAllConnections();
          await new Promise<void>((resolve) => health?.close(() => resolve()));
        }
        await primary.close();
      })();
      return closed;
    },
  };
}

interface ProxyContext {
  connector: LakebaseConnector;
  ssl: BackendAddress['ssl'];
  verifier: ScramVerifier | undefined;
  secureContext: ReturnType<typeof createSecureContext> | undefined;
  allowUser: boolean;
  handshakeTimeoutMs: number;
  /** The proxy's cancel key (process id) -> its backend and the secret the client was given. */
  sessions: Map<number, { secretKey: number; backend: Pick<Backend, 'address' | 'processId' | 'secretKey'> }>;
  counters: ProxyStats;
}

/** One client connection: handshake, local password, backend login, then a pipe. */
async function serveClient(raw: Socket, ctx: ProxyContext): Promise<void> {
  const timer = setTimeout(() => raw.destroy(), ctx.handshakeTimeoutMs);
  let stream: Duplex | undefined; // set once the first packets are read (acceptStartup answers its own errors)
  // The backend's TCP and TLS handshakes run while the client sends its first packets: a new connection then costs
  // little more than a direct one. Dropped unless the login uses it (a cancel, a wrong password, a client that leaves).
  const timeoutMs = ctx.connector.config.pool.connectionTimeoutMillis || 30_000;
  const early = backendAddress(ctx.connector, ctx.ssl).then(async (target) => ({
    target,
    socket: await connectBackend(target.address, timeoutMs),
  }));
  early.catch(() => {}); // awaited by the login, or not at all
  let used = false;
  try {
    const accepted = await acceptStartup(raw, {
      maxMessage: MAX_LOGIN_MESSAGE,
      ...(ctx.secureContext ? { secureContext: ctx.secureContext } : {}),
    });
    if (accepted.kind === 'cancel') {
      const session = ctx.sessions.get(accepted.processId);
      if (session && session.secretKey === accepted.secretKey) {
        ctx.counters.cancels++;
        await cancelUpstream(session.backend, CANCEL_TIMEOUT_MS).catch(() => {});
      }
      return;
    }
    stream = accepted.stream;
    const { packet, inbox } = accepted;
    if (packet.code >> 16 !== 3) {
      throw new ProtocolError(`unsupported frontend protocol ${packet.code >> 16}.${packet.code & 0xffff}`, '0A000');
    }
    const clientUser = packet.params.user ?? '';
    if (ctx.verifier) {
      try {
        await checkLocalPassword(stream, inbox, ctx.verifier);
      } catch (error) {
        if (!(error instanceof PasswordRefused)) throw error;
        ctx.counters.refused++;
        sendFatal(stream, '28P01', `password authentication failed for user "${clientUser}"`);
        return;
      }
    }

    let backend: Backend;
    const params = { ...packet.params };
    try {
      const { target, socket } = await early;
      used = true;
      // Another user than the configured identity logs in with its own secret, never with the proxy's token.
      const passthrough = ctx.allowUser && clientUser !== '' && clientUser !== target.user;
      params.user = passthrough ? clientUser : target.user;
      if (!params.database) params.database = target.database;
      const secret = passthrough ? await clientSecret(stream, inbox) : await proxySecret(ctx);
      if (passthrough && secret === undefined) {
        ctx.counters.refused++;
        sendFatal(stream, '28P01', `password authentication failed for user "${clientUser}"`, PASSTHROUGH_HINT);
        return;
      }
      backend = await loginUpstream(socket, target.address, params, secret, timeoutMs);
    } catch (error) {
      if (!isLakebaseError(error)) throw error;
      ctx.counters.refused++;
      ctx.connector.log('warn', 'proxy: login failed', { code: error.code, error: error.message });
      const hint = error.suggestion ? ` ${error.suggestion}` : '';
      sendFatal(stream, '08004', redact(`${error.code}: ${error.message}${hint}`), error.suggestion);
      return;
    }
    if (backend.refusal) {
      ctx.counters.refused++;
      stream.end(backend.refusal);
      return;
    }
    clearTimeout(timer);
    pipeSession(stream, inbox.detach(), backend, ctx, params);
  } catch (error) {
    if (error instanceof ProtocolError && stream) sendFatal(stream, error.sqlstate, error.message);
    if (error instanceof ClientGone || error instanceof ProtocolError) return;
    throw error;
  } finally {
    clearTimeout(timer);
    if (!used)
      early.then(
        ({ socket }) => socket.destroy(),
        () => {},
      );
  }
}

const PASSTHROUGH_HINT =
  "With --allow-user, a user other than the proxy's own identity logs in with its own password: that identity's " +
  'database token, or the password of a native PostgreSQL role.';

/** The configured identity's token, from the shared credential manager. */
async function proxySecret(ctx: ProxyContext): Promise<string | undefined> {
  const password = ctx.connector.password();
  return typeof password === 'function' ? await password() : password;
}

/** A passed-through user's own password, asked of the client; undefined when it gives none. */
async function clientSecret(stream: Duplex, inbox: PacketInbox): Promise<string | undefined> {
  const password = await askCleartextPassword(stream, inbox);
  return password === '' ? undefined : password;
}

/** Hands the client the backend's startup (with the proxy's cancel key), then pipes both ways until either closes. */
function pipeSession(
  client: Duplex,
  fromClient: Buffer,
  backend: Backend,
  ctx: ProxyContext,
  params: Record<string, string>,
): void {
  let key = newCancelKey();
  while (ctx.sessions.has(key.processId)) key = newCancelKey();
  ctx.sessions.set(key.processId, { secretKey: key.secretKey, backend });
  ctx.counters.sessions++;
  const ready = backend.startup.pop() as Buffer; // ReadyForQuery comes last; BackendKeyData goes just before it
  client.write(
    Buffer.concat([...backend.startup, backendKeyData(key.processId, key.secretKey), ready, backend.pending]),
  );
  const upstream = backend.socket;
  if (fromClient.length > 0) upstream.write(fromClient);
  upstream.on('error', () => {});
  client.pipe(upstream);
  upstream.pipe(client);
  upstream.resume();
  client.resume();
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    ctx.sessions.delete(key.processId);
    // Let what is in flight (a Terminate, a last error) reach the other side, then close it for good.
    client.end();
    upstream.end();
    setTimeout(() => {
      client.destroy();
      upstream.destroy();
    }, 5_000).unref();
    ctx.connector.log('info', 'proxy: session closed', {
      database: params.database,
      application: params.application_name,
    });
  };
  client.once('close', end);
  upstream.once('close', end);
  ctx.connector.log('info', 'proxy: session opened', {
    database: params.database,
    user: params.user,
    application: params.application_name,
  });
}
