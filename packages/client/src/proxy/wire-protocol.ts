/**
 * Just enough of the PostgreSQL v3 wire protocol for a front door, a relay and a proxy: framing of the untyped startup
 * packets and typed messages, builders for the backend messages we originate ourselves, and cancel keys. The one copy:
 * `lakebase proxy` and the emulator's front door both use it (the emulator through the toolkit's `pgWire`).
 * https://www.postgresql.org/docs/current/protocol-message-formats.html
 */

import { randomInt } from 'node:crypto';
import type { Duplex } from 'node:stream';

/** Protocol version 3.0 as sent in a StartupMessage. */
export const PROTOCOL_3_0 = 196608;
/** Magic "protocol versions" of the special startup packets. */
export const SSL_REQUEST_CODE = 80877103;
export const GSSENC_REQUEST_CODE = 80877104;
export const CANCEL_REQUEST_CODE = 80877102;
/** PostgreSQL's own limit for a startup packet (MAX_STARTUP_PACKET_LENGTH). */
export const MAX_STARTUP_PACKET = 10_000;

/** A typed message: one type byte, then an int32 length that counts itself but not the type byte. */
export interface Message {
  type: string;
  body: Buffer;
}

/** Thrown for input that violates the protocol; carries the SQLSTATE the server answers with. */
export class ProtocolError extends Error {
  constructor(
    message: string,
    readonly sqlstate = '08P01',
  ) {
    super(message);
    this.name = 'ProtocolError';
  }
}

/** Accumulates socket chunks and cuts complete packets off the front. */
export class PacketReader {
  private buf: Buffer = Buffer.alloc(0);

  constructor(private readonly maxMessage = 1 << 30) {}

  push(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
  }

  get buffered(): number {
    return this.buf.length;
  }

  /** The first buffered byte, not consumed. */
  peekByte(): number | undefined {
    return this.buf[0];
  }

  /** Returns and clears whatever has not been consumed yet. */
  drain(): Buffer {
    const rest = this.buf;
    this.buf = Buffer.alloc(0);
    return rest;
  }

  /** An untyped startup-phase packet (int32 length including itself, then the body), or undefined if incomplete. */
  nextStartupPacket(): Buffer | undefined {
    if (this.buf.length < 4) return undefined;
    const len = this.buf.readInt32BE(0);
    if (len < 8 || len > MAX_STARTUP_PACKET) throw new ProtocolError('invalid length of startup packet');
    if (this.buf.length < len) return undefined;
    const body = this.buf.subarray(4, len);
    this.buf = this.buf.subarray(len);
    return body;
  }

  /** A typed message, or undefined if incomplete. */
  nextMessage(): Message | undefined {
    if (this.buf.length < 5) return undefined;
    const len = this.buf.readInt32BE(1);
    if (len < 4 || len > this.maxMessage) throw new ProtocolError('invalid message length');
    if (this.buf.length < len + 1) return undefined;
    const msg = { type: String.fromCharCode(this.buf[0] ?? 0), body: this.buf.subarray(5, len + 1) };
    this.buf = this.buf.subarray(len + 1);
    return msg;
  }

  /**
   * Cuts off as many complete typed messages as are buffered, as one contiguous slice (cheap to forward), together
   * with their type bytes in order.
   */
  takeCompleteMessages(): { bytes: Buffer; types: string } {
    let end = 0;
    let types = '';
    while (end + 5 <= this.buf.length) {
      const len = this.buf.readInt32BE(end + 1);
      if (len < 4 || len > this.maxMessage) throw new ProtocolError('invalid message length');
      if (end + 1 + len > this.buf.length) break;
      types += String.fromCharCode(this.buf[end] ?? 0);
      end += 1 + len;
    }
    const bytes = this.buf.subarray(0, end);
    this.buf = this.buf.subarray(end);
    return { bytes, types };
  }
}

/** Decoded StartupMessage body (after the length). */
export interface StartupPacket {
  code: number;
  /** Key/value parameters; only present for a real StartupMessage. */
  params: Record<string, string>;
  /** For CancelRequest. */
  processId?: number;
  secretKey?: number;
}

/** Parses the body of a startup-phase packet (after its length word). */
export function parseStartupPacket(body: Buffer): StartupPacket {
  const code = body.readInt32BE(0);
  if (code === CANCEL_REQUEST_CODE) {
    if (body.length < 12) throw new ProtocolError('invalid length of cancel request');
    return { code, params: {}, processId: body.readInt32BE(4), secretKey: body.readInt32BE(8) };
  }
  const params: Record<string, string> = {};
  if (code >> 16 !== 3) return { code, params };
  let i = 4;
  for (;;) {
    const keyEnd = body.indexOf(0, i);
    if (keyEnd < 0) throw new ProtocolError('invalid startup packet layout: expected terminator as last byte');
    if (keyEnd === i) break;
    const key = body.toString('utf8', i, keyEnd);
    const valEnd = body.indexOf(0, keyEnd + 1);
    if (valEnd < 0) throw new ProtocolError('invalid startup packet layout: expected terminator as last byte');
    params[key] = body.toString('utf8', keyEnd + 1, valEnd);
    i = valEnd + 1;
  }
  return { code, params };
}

/** Reads a NUL-terminated string at the start of `body`. */
export function readCString(body: Buffer, offset = 0): string {
  const end = body.indexOf(0, offset);
  return body.toString('utf8', offset, end < 0 ? body.length : end);
}

function cstr(s: string): Buffer {
  return Buffer.from(`${s}\0`, 'utf8');
}

/** Frames a typed message. */
export function message(type: string, ...parts: Buffer[]): Buffer {
  const body = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
  const out = Buffer.allocUnsafe(5 + body.length);
  out.write(type, 0, 'latin1');
  out.writeInt32BE(4 + body.length, 1);
  body.copy(out, 5);
  return out;
}

function int32(...values: number[]): Buffer {
  const b = Buffer.allocUnsafe(4 * values.length);
  for (const [i, v] of values.entries()) b.writeInt32BE(v, i * 4);
  return b;
}

/** Frames an untyped startup-phase packet. */
export function startupPacket(code: number, params: Record<string, string> = {}): Buffer {
  const parts = [int32(code)];
  for (const [k, v] of Object.entries(params)) parts.push(cstr(k), cstr(v));
  if (code >> 16 === 3) parts.push(Buffer.from([0]));
  const body = Buffer.concat(parts);
  return Buffer.concat([int32(body.length + 4), body]);
}

/** A fresh BackendKeyData pair (process id and secret key, both positive int32) as a server hands out. */
export function newCancelKey(): { processId: number; secretKey: number } {
  return { processId: randomInt(1, 2 ** 31 - 1), secretKey: randomInt(1, 2 ** 31 - 1) };
}

/** CancelRequest packet. */
export function cancelRequest(processId: number, secretKey: number): Buffer {
  return Buffer.concat([int32(16, CANCEL_REQUEST_CODE, processId, secretKey)]);
}

/** Fields of an ErrorResponse/NoticeResponse; S, V, C and M are what clients rely on. */
export interface ErrorFields {
  severity: 'FATAL' | 'ERROR' | 'PANIC' | 'NOTICE' | 'WARNING';
  code: string;
  message: string;
  detail?: string;
  hint?: string;
}

export function errorResponse(fields: ErrorFields): Buffer {
  const parts = [
    Buffer.from('S'),
    cstr(fields.severity),
    Buffer.from('V'),
    cstr(fields.severity),
    Buffer.from('C'),
    cstr(fields.code),
    Buffer.from('M'),
    cstr(fields.message),
  ];
  if (fields.detail) parts.push(Buffer.from('D'), cstr(fields.detail));
  if (fields.hint) parts.push(Buffer.from('H'), cstr(fields.hint));
  parts.push(Buffer.from([0]));
  return message('E', ...parts);
}

/** Parses an ErrorResponse/NoticeResponse body into its single-letter fields. */
export function parseErrorFields(body: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  while (i < body.length && body[i] !== 0) {
    const key = String.fromCharCode(body[i] ?? 0);
    const end = body.indexOf(0, i + 1);
    if (end < 0) break;
    out[key] = body.toString('utf8', i + 1, end);
    i = end + 1;
  }
  return out;
}

export const authenticationOk = (): Buffer => message('R', int32(0));
export const authenticationCleartextPassword = (): Buffer => message('R', int32(3));
/** AuthenticationSASL (10) with its mechanism list, SASLContinue (11) and SASLFinal (12). */
export const authenticationSasl = (mechanisms: string[]): Buffer =>
  message('R', int32(10), ...mechanisms.map(cstr), Buffer.from([0]));
export const authenticationSaslContinue = (data: string): Buffer => message('R', int32(11), Buffer.from(data, 'utf8'));
export const authenticationSaslFinal = (data: string): Buffer => message('R', int32(12), Buffer.from(data, 'utf8'));
export const parameterStatus = (name: string, value: string): Buffer => message('S', cstr(name), cstr(value));
export const backendKeyData = (processId: number, secretKey: number): Buffer =>
  message('K', int32(processId, secretKey));
export const readyForQuery = (status: 'I' | 'T' | 'E'): Buffer => message('Z', Buffer.from(status, 'latin1'));
export const query = (sql: string): Buffer => message('Q', cstr(sql));
export const sync = (): Buffer => message('S', Buffer.alloc(0));
export const terminate = (): Buffer => message('X', Buffer.alloc(0));
export const passwordMessage = (password: string): Buffer => message('p', cstr(password));
export const copyFail = (reason: string): Buffer => message('f', cstr(reason));

/** NegotiateProtocolVersion: we speak 3.0 and ignore every `_pq_.` option. */
export function negotiateProtocolVersion(unsupported: string[]): Buffer {
  return message('v', int32(PROTOCOL_3_0, unsupported.length), ...unsupported.map(cstr));
}

/** Scans a buffer of complete backend messages; returns the type of the last one and the status of the last 'Z'. */
export function scanBackend(buf: Uint8Array): { last: string | undefined; lastStatus: string | undefined } {
  let i = 0;
  let last: string | undefined;
  let lastStatus: string | undefined;
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  while (i + 5 <= buf.length) {
    const type = String.fromCharCode(buf[i] ?? 0);
    const len = view.getInt32(i + 1);
    if (type === 'Z' && i + 5 < buf.length) lastStatus = String.fromCharCode(buf[i + 5] ?? 0);
    last = type;
    i += 1 + len;
  }
  return { last, lastStatus };
}

/**
 * Reads packets from a stream on demand during startup (front door and upstream login alike). `detach` hands the
 * stream and any unread bytes to the next owner, e.g. a TLS upgrade or the session relay.
 */
export class PacketInbox {
  private readonly reader: PacketReader;
  private wake: (() => void) | undefined;
  private ended = false;
  private readonly onData = (chunk: Buffer) => {
    this.reader.push(chunk);
    this.wake?.();
  };
  private readonly onEnd = () => {
    this.ended = true;
    this.wake?.();
  };

  /** `whenEnded` makes the error thrown to a reader waiting on a stream that has closed. */
  constructor(
    private readonly stream: Duplex,
    private readonly whenEnded: () => Error,
    maxMessage?: number,
  ) {
    this.reader = new PacketReader(maxMessage);
    stream.on('data', this.onData);
    stream.on('end', this.onEnd);
    stream.on('close', this.onEnd);
  }

  private async waitFor<T>(take: () => T | undefined): Promise<T> {
    for (;;) {
      const value = take();
      if (value !== undefined) return value;
      if (this.ended) throw this.whenEnded();
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
      this.wake = undefined;
    }
  }

  /** The first byte, without consuming it (0x16 means a TLS ClientHello: PG17 direct TLS). */
  peekByte(): Promise<number> {
    return this.waitFor(() => this.reader.peekByte());
  }

  startupPacket(): Promise<Buffer> {
    return this.waitFor(() => this.reader.nextStartupPacket());
  }

  message(): Promise<Message> {
    return this.waitFor(() => this.reader.nextMessage());
  }

  detach(): Buffer {
    this.stream.off('data', this.onData);
    this.stream.off('end', this.onEnd);
    this.stream.off('close', this.onEnd);
    this.stream.pause();
    return this.reader.drain();
  }
}
