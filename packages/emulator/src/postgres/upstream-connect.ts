import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import { connect as netConnect, type Socket } from 'node:net';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { type ConnectionOptions, connect as tlsConnect } from 'node:tls';
import { pgWire } from '@lakebase-kit/client/toolkit';
import { StorageError } from './storage.js';

const {
  cancelRequest,
  message,
  PacketInbox,
  PROTOCOL_3_0,
  parseErrorFields,
  passwordMessage,
  SSL_REQUEST_CODE,
  startupPacket,
} = pgWire;

/** Where an upstream PostgreSQL listens and how to reach it. */
export interface UpstreamTarget {
  /** A host name or address, or a Unix socket directory (an absolute path, as libpq's `host`). */
  host: string;
  port: number;
  /** TLS options when the URL asked for TLS (`sslmode=require|verify-ca|verify-full`), else false. */
  ssl: false | ConnectionOptions;
  connectTimeoutMs: number;
}

/** An upstream backend that has finished its startup (ReadyForQuery received). */
export interface UpstreamConnection {
  socket: Duplex;
  /** The backend's AuthenticationOk, ParameterStatus, BackendKeyData, notices and ReadyForQuery, ready to forward. */
  startup: Buffer;
  processId: number;
  secretKey: number;
}

/**
 * Opens a backend on the upstream server as `params.user`, answering trust, cleartext, MD5 and SCRAM-SHA-256
 * authentication with `password`. An upstream ErrorResponse becomes a {@link StorageError} with its SQLSTATE.
 */
export async function connectUpstream(
  target: UpstreamTarget,
  params: Record<string, string>,
  password: string | undefined,
): Promise<UpstreamConnection> {
  const raw = await openSocket(target);
  const timer = setTimeout(() => raw.destroy(new Error('upstream startup timed out')), target.connectTimeoutMs);
  try {
    let socket: Duplex = raw;
    if (target.ssl) socket = await negotiateTls(raw, target);
    const inbox = new PacketInbox(socket, () => new Error('upstream closed the connection during startup'));
    socket.write(startupPacket(PROTOCOL_3_0, params));
    const user = params.user ?? '';
    const startup: Buffer[] = [];
    let scram: ScramState | undefined;
    let processId = 0;
    let secretKey = 0;
    for (;;) {
      const msg = await inbox.message();
      switch (msg.type) {
        case 'R': {
          const code = msg.body.readInt32BE(0);
          if (code === 0) startup.push(message('R', msg.body));
          else if (code === 3) socket.write(passwordMessage(requirePassword(password)));
          else if (code === 5) socket.write(passwordMessage(md5Password(user, requirePassword(password), msg.body)));
          else if (code === 10) {
            scram = scramStart(msg.body);
            socket.write(scram.firstMessage);
          } else if (code === 11 && scram) socket.write(scramContinue(scram, requirePassword(password), msg.body));
          else if (code === 12 && scram) scramVerify(scram, msg.body);
          else throw new StorageError('28000', `upstream asked for unsupported authentication method ${code}`);
          break;
        }
        case 'E': {
          const f = parseErrorFields(msg.body);
          throw new StorageError(f.C ?? 'XX000', f.M ?? 'upstream refused the connection');
        }
        case 'K':
          processId = msg.body.readInt32BE(0);
          secretKey = msg.body.readInt32BE(4);
          startup.push(message('K', msg.body));
          break;
        case 'Z':
          startup.push(message('Z', msg.body));
          // Anything the server sent after ReadyForQuery (an async notice) belongs to the client too.
          startup.push(inbox.detach());
          return { socket, startup: Buffer.concat(startup), processId, secretKey };
        default: // ParameterStatus, NoticeResponse, NegotiateProtocolVersion: the client gets them as they are
          startup.push(message(msg.type, msg.body));
      }
    }
  } catch (err) {
    raw.destroy();
    if (err instanceof StorageError) throw err;
    throw new StorageError('57P03', 'the storage database is not available', { cause: err });
  } finally {
    clearTimeout(timer);
  }
}

/** Sends a CancelRequest to the upstream server (unencrypted, as libpq does before PostgreSQL 17). */
export function sendUpstreamCancel(target: UpstreamTarget, processId: number, secretKey: number): void {
  const socket = netConnect(socketAddress(target));
  socket.on('error', () => {}); // best effort, like PostgreSQL's own cancel
  socket.on('connect', () => socket.end(cancelRequest(processId, secretKey)));
  socket.setTimeout(10_000, () => socket.destroy());
}

/** Where to connect: TCP, or the server's socket file in a socket directory (`<dir>/.s.PGSQL.<port>`, as libpq). */
function socketAddress(target: UpstreamTarget): { host: string; port: number } | { path: string } {
  return target.host.startsWith('/')
    ? { path: path.join(target.host, `.s.PGSQL.${target.port}`) }
    : { host: target.host, port: target.port };
}

function openSocket(target: UpstreamTarget): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = netConnect(socketAddress(target));
    const timer = setTimeout(() => socket.destroy(new Error('upstream connect timed out')), target.connectTimeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.off('error', reject);
      socket.on('error', () => {}); // later errors surface as 'close' to whoever owns the socket
      socket.setNoDelay(true);
      resolve(socket);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

async function negotiateTls(raw: Socket, target: UpstreamTarget): Promise<Duplex> {
  raw.write(Buffer.from([0, 0, 0, 8, ...int32Bytes(SSL_REQUEST_CODE)]));
  const answer = await new Promise<Buffer>((resolve, reject) => {
    raw.once('data', resolve);
    raw.once('close', () => reject(new Error('upstream closed during SSLRequest')));
  });
  if (answer[0] !== 0x53 /* S */) throw new StorageError('08001', 'upstream server does not support TLS');
  return new Promise((resolve, reject) => {
    const tls = tlsConnect({ ...(target.ssl || {}), socket: raw }, () => resolve(tls));
    tls.once('error', reject);
  });
}

function int32Bytes(n: number): number[] {
  return [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
}

function requirePassword(password: string | undefined): string {
  if (password === undefined) throw new StorageError('28P01', 'upstream asked for a password and none is configured');
  return password;
}

function md5Password(user: string, password: string, body: Buffer): string {
  const inner = createHash('md5')
    .update(password + user)
    .digest('hex');
  return `md5${createHash('md5').update(inner).update(body.subarray(4, 8)).digest('hex')}`;
}

interface ScramState {
  nonce: string;
  clientFirstBare: string;
  firstMessage: Buffer;
  serverSignature?: Buffer;
}

function scramStart(body: Buffer): ScramState {
  const mechanisms = body.subarray(4).toString('utf8').split('\0');
  if (!mechanisms.includes('SCRAM-SHA-256')) {
    throw new StorageError('28000', `upstream offers no supported SASL mechanism (${mechanisms.join(' ')})`);
  }
  const nonce = randomBytes(18).toString('base64');
  const clientFirstBare = `n=*,r=${nonce}`;
  const data = Buffer.from(`n,,${clientFirstBare}`, 'utf8');
  const len = Buffer.alloc(4);
  len.writeInt32BE(data.length);
  const firstMessage = message('p', Buffer.from('SCRAM-SHA-256\0', 'utf8'), len, data);
  return { nonce, clientFirstBare, firstMessage };
}

function scramContinue(state: ScramState, password: string, body: Buffer): Buffer {
  const serverFirst = body.subarray(4).toString('utf8');
  const attrs = new Map(serverFirst.split(',').map((kv) => [kv.slice(0, 1), kv.slice(2)] as const));
  const nonce = attrs.get('r') ?? '';
  const salt = Buffer.from(attrs.get('s') ?? '', 'base64');
  const iterations = Number(attrs.get('i'));
  if (!nonce.startsWith(state.nonce) || !Number.isInteger(iterations) || iterations < 1) {
    throw new StorageError('08P01', 'invalid SCRAM server-first-message from upstream');
  }
  const salted = pbkdf2Sync(password, salt, iterations, 32, 'sha256');
  const hmac = (key: Buffer, text: string) => createHmac('sha256', key).update(text).digest();
  const clientKey = hmac(salted, 'Client Key');
  const storedKey = createHash('sha256').update(clientKey).digest();
  const finalWithoutProof = `c=biws,r=${nonce}`;
  const authMessage = `${state.clientFirstBare},${serverFirst},${finalWithoutProof}`;
  const signature = hmac(storedKey, authMessage);
  const proof = Buffer.from(clientKey.map((b, i) => b ^ (signature[i] ?? 0)));
  state.serverSignature = hmac(hmac(salted, 'Server Key'), authMessage);
  return message('p', Buffer.from(`${finalWithoutProof},p=${proof.toString('base64')}`, 'utf8'));
}

function scramVerify(state: ScramState, body: Buffer): void {
  const final = body.subarray(4).toString('utf8');
  const got = Buffer.from(final.startsWith('v=') ? final.slice(2) : '', 'base64');
  const want = state.serverSignature ?? Buffer.alloc(0);
  if (got.length !== want.length || !timingSafeEqual(got, want)) {
    throw new StorageError('08P01', 'upstream SCRAM server signature does not match');
  }
}
