/**
 * Read-only sessions (a read-only endpoint's host) on storage that is one read-write PostgreSQL.
 *
 * Lakebase serves read-only hosts from hot standbys, where PostgreSQL itself refuses every write with SQLSTATE 25006
 * and refuses to switch a transaction to read-write. The emulator has one server, so it gets the same answers in
 * three layers:
 * 1. The upstream session starts with `default_transaction_read_only=on` in its startup options, so PostgreSQL
 *    answers every write with its own `25006 cannot execute INSERT in a read-only transaction`. Being a startup
 *    option it is also what `RESET ALL` and `DISCARD ALL` restore.
 * 2. {@link ReadOnlyRequestGuard} reads the client's messages and ends the session (FATAL 25006) on any statement
 *    that could turn read-write back on: `READ WRITE` (BEGIN, START TRANSACTION, SET TRANSACTION, SET SESSION
 *    CHARACTERISTICS), SET or RESET of `transaction_read_only` / `default_transaction_read_only` (also as a U&
 *    identifier) or set_config naming them (reading them with current_setting or SHOW is fine), `set_config` with a name that is not a literal, and fast-path function
 *    calls (which could call set_config by OID).
 * 3. {@link ReadOnlyResponseWatch} reads the server's messages: PostgreSQL reports `default_transaction_read_only`
 *    (GUC_REPORT since 14), so a change made some other way (dynamic SQL in a DO block) ends the session too.
 * Not covered: a statement pipelined behind the one that flipped the setting through dynamic SQL may already be on
 * its way to the server when layer 3 ends the session.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { errorResponse } from './protocol.js';

/** The startup `options` value that makes a session read-only, merged with the client's own options. */
export function readOnlyOptions(clientOptions: string | undefined): string {
  const own = '-c default_transaction_read_only=on';
  return clientOptions ? `${clientOptions} ${own}` : own;
}

const GAP = String.raw`(?:\s|/\*[\s\S]*?\*/|--[^\n]*\n)+`;
const READ_WRITE = new RegExp(String.raw`\bread${GAP}write\b`, 'i');
// SET/RESET of the setting (also spelled as a U& identifier), or set_config naming it; reading it stays allowed.
const READ_ONLY_SETTING =
  /\b(?:set|reset)\b[^;]*?(?:transaction_read_only|u&")|set_config\s*\(\s*'[^']*transaction_read_only/i;
const SET_CONFIG_CALL = /set_config\s*\(\s*([^\s])/gi;

/** Why `sql` may not run on a read-only session, or undefined. */
export function readWriteSwitch(sql: string): string | undefined {
  if (READ_WRITE.test(sql)) return 'READ WRITE transactions';
  if (READ_ONLY_SETTING.test(sql)) return 'changing transaction_read_only';
  for (const match of sql.matchAll(SET_CONFIG_CALL)) {
    if (match[1] !== "'") return 'set_config with a computed setting name';
  }
  return undefined;
}

/** A FATAL 25006 for a read-only session, as the client sees it. */
export function readOnlyViolation(reason: string): Buffer {
  return errorResponse({
    severity: 'FATAL',
    code: '25006',
    message: `cannot execute ${reason} on a read-only endpoint`,
    hint: 'Send writes to the read-write host (status.hosts.host).',
  });
}

/** Splits a message stream (after startup) into whole messages: type byte, int32 length, body. */
abstract class MessageFramer extends Transform {
  private buffered: Buffer = Buffer.alloc(0);

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    let data = this.buffered.length > 0 ? Buffer.concat([this.buffered, chunk]) : chunk;
    let start = 0;
    while (data.length - start >= 5) {
      const end = start + 1 + data.readUInt32BE(start + 1);
      if (end > data.length) break;
      if (!this.inspect(String.fromCharCode(data[start] as number), data.subarray(start + 5, end))) {
        this.buffered = Buffer.alloc(0);
        callback();
        return;
      }
      start = end;
    }
    // Whole messages go on as one chunk; a partial one waits for the rest.
    if (start > 0) this.push(data.subarray(0, start));
    data = data.subarray(start);
    this.buffered = data.length > 0 ? Buffer.from(data) : Buffer.alloc(0);
    callback();
  }

  /** False stops the stream (the subclass has reported why). */
  protected abstract inspect(type: string, body: Buffer): boolean;
}

/** Client → server: refuses statements that would make the session read-write (layer 2). */
export class ReadOnlyRequestGuard extends MessageFramer {
  constructor(private readonly refuse: (reason: string) => void) {
    super();
  }

  protected inspect(type: string, body: Buffer): boolean {
    let sql: string | undefined;
    if (type === 'Q') sql = body.toString('utf8', 0, Math.max(0, body.indexOf(0)));
    else if (type === 'P') {
      const nameEnd = body.indexOf(0);
      sql = body.toString('utf8', nameEnd + 1, Math.max(nameEnd + 1, body.indexOf(0, nameEnd + 1)));
    } else if (type === 'F') {
      this.refuse('fast-path function calls');
      return false;
    }
    const reason = sql === undefined ? undefined : readWriteSwitch(sql);
    if (reason) this.refuse(reason);
    return reason === undefined;
  }
}

/** Server → client: ends the session when the server reports the session went read-write (layer 3). */
export class ReadOnlyResponseWatch extends MessageFramer {
  constructor(private readonly refuse: (reason: string) => void) {
    super();
  }

  protected inspect(type: string, body: Buffer): boolean {
    if (type !== 'S') return true;
    const nameEnd = body.indexOf(0);
    if (body.toString('utf8', 0, nameEnd) !== 'default_transaction_read_only') return true;
    const value = body.toString('utf8', nameEnd + 1, Math.max(nameEnd + 1, body.indexOf(0, nameEnd + 1)));
    if (value === 'on') return true;
    this.refuse('changing transaction_read_only');
    return false;
  }
}
