import type { Duplex } from 'node:stream';
import { pgWire, SqlTextError } from '@lakebase-kit/client/toolkit';
import { guardAuthorization } from './pglite-guard.js';
import { type FifoLock, type Logger, StorageError, type StorageSession } from './storage.js';

const {
  copyFail,
  errorResponse,
  message,
  PacketReader,
  ProtocolError,
  query,
  readCString,
  readyForQuery,
  scanBackend,
  sync,
} = pgWire;

/** The one PGlite backend of a database, as a session sees it (implemented by the PGlite storage). */
export interface SharedBackend {
  readonly name: string;
  /** Held by a session from the start of its turn until the backend is idle again. */
  readonly lock: FifoLock;
  /** How long a session waits for its turn before its query fails with 55P03. */
  readonly turnTimeoutMs: number;
  exec(bytes: Uint8Array): Promise<Uint8Array>;
  /**
   * Makes the backend run as the session's role when the turn passes from another session, after resetting it to a
   * clean session if this is the session's first turn and no other session is open (caller holds the lock).
   */
  switchTo(session: PgliteSession): Promise<void>;
  /** The backend failed underneath a session and must be replaced. */
  markBroken(): void;
}

// Messages that leave an extended-protocol sequence open until the next Sync.
const EXTENDED = new Set(['P', 'B', 'D', 'E', 'C']);
// Messages that end a cycle with ReadyForQuery.
const SYNC_POINTS = new Set(['Q', 'S', 'F']);

/** One client session multiplexed onto a shared PGlite. */
export class PgliteSession implements StorageSession {
  private readonly reader = new PacketReader();
  private holding = false;
  private openExtended = false;
  private lastOut: string | undefined = 'Z';
  private lastStatus = 'I';
  private busy = false;
  /** Input or a close arrived while run() was busy. */
  private missed = false;
  private closed = false;
  /** Keeps this session's named prepared statements apart from other sessions' on the shared backend. */
  private readonly names: StatementNames;
  /** Buffered COPY FROM STDIN: the Query and the CopyData so far. */
  private copyIn: Buffer[] | undefined;
  private cleanedUp = false;

  constructor(
    readonly processId: number,
    private readonly db: SharedBackend,
    readonly role: string,
    private readonly client: Duplex,
    private readonly logger: Logger,
    private readonly onGone: () => void,
  ) {
    this.names = new StatementNames(`s${processId}_`);
  }

  start(pending: Buffer | undefined): void {
    if (pending && pending.length > 0) this.reader.push(pending);
    this.client.on('data', (chunk: Buffer) => {
      this.reader.push(chunk);
      this.pump();
    });
    this.client.on('error', () => {}); // 'close' follows; the front door logs socket errors
    this.client.on('close', () => {
      this.closed = true;
      this.pump();
    });
    this.client.resume();
    this.pump();
  }

  close(): void {
    this.closed = true;
    this.client.destroy();
    this.pump();
  }

  private pump(): void {
    if (this.cleanedUp) return;
    if (this.busy) {
      this.missed = true;
      return;
    }
    this.busy = true;
    this.missed = false;
    this.run()
      .catch((err: unknown) => this.fail(err))
      .finally(() => {
        this.busy = false;
        // Only re-run for input or a close that arrived meanwhile; a partial message waits for its next 'data'.
        if (this.missed || this.closed) setImmediate(() => this.pump());
      });
  }

  private async run(): Promise<void> {
    for (;;) {
      if (this.closed) return this.cleanup();
      const { bytes, types } = this.reader.takeCompleteMessages();
      if (bytes.length === 0) return;
      let pending: Buffer[] = [];
      const flush = () => {
        const batch = pending.length === 1 ? (pending[0] as Buffer) : Buffer.concat(pending);
        pending = [];
        return this.feedBatch(batch);
      };
      let off = 0;
      for (const type of types) {
        const len = 1 + bytes.readInt32BE(off + 1);
        const msg = bytes.subarray(off, off + len);
        off += len;
        if (type === 'X') {
          // Terminate must never reach PGlite (it would shut the shared backend down).
          if (!this.copyIn && !(await flush())) return this.cleanup();
          this.closed = true;
          this.client.end();
          return this.cleanup();
        }
        if (this.copyIn) {
          this.copyIn.push(msg);
          if (type === 'c' || type === 'f') {
            const batch = Buffer.concat(this.copyIn);
            this.copyIn = undefined;
            if (!(await this.feedBatch(batch, true))) return this.cleanup();
          }
        } else if ((type === 'Q' || type === 'P') && isCopyFromStdin(type, msg)) {
          if (type === 'P') throw new ProtocolError('COPY FROM STDIN needs the simple query protocol here', '0A000');
          if (!(await flush())) return this.cleanup();
          // PGlite exits if COPY FROM STDIN runs out of input, so answer CopyInResponse ourselves, collect the data
          // up to CopyDone/CopyFail, and feed the whole COPY in one call.
          this.copyIn = [msg];
          this.client.write(copyInResponse(/\bbinary\b/i.test(msg.toString('utf8', 5))));
        } else {
          pending.push(this.names.rewrite(type, guardAuthorization(type, msg)));
        }
      }
      if (!this.copyIn && !(await flush())) return this.cleanup();
    }
  }

  /** Feeds complete messages in this session's turn and relays the answer. False if the client went away. */
  private async feedBatch(batch: Buffer, copy = false): Promise<boolean> {
    if (batch.length === 0) return true;
    if (!this.holding) {
      if (!(await this.db.lock.acquire(this.db.turnTimeoutMs))) {
        this.refuse(batch);
        return !this.closed;
      }
      this.holding = true;
      if (this.closed) return false;
      await this.db.switchTo(this);
    }
    for (let off = 0; off < batch.length; off += 1 + batch.readInt32BE(off + 1)) {
      const t = String.fromCharCode(batch[off] ?? 0);
      if (SYNC_POINTS.has(t)) this.openExtended = false;
      else if (EXTENDED.has(t)) this.openExtended = true;
    }
    let out = await this.feed(batch);
    if (copy) out = withoutFirst(out, 0x47 /* G: the client already got our CopyInResponse */);
    if (out.length > 0 && !this.client.destroyed) this.client.write(out);
    // The turn ends when PGlite is idle and no extended-protocol sequence is half-sent.
    if (this.lastOut === 'Z' && this.lastStatus === 'I' && !this.openExtended) this.releaseTurn();
    return !this.closed;
  }

  /**
   * Answers a batch that could not get a turn (another session kept a transaction open too long) with an error per
   * query, as a real server would for a lock timeout, so the client stays usable. Without a Sync there is no
   * well-formed answer, so the session ends.
   */
  private refuse(batch: Buffer): void {
    const message =
      `could not get a turn on PGlite database "${this.db.name}" within ${this.db.turnTimeoutMs} ms: another ` +
      'session is keeping a transaction open (PGlite storage runs one transaction at a time; use upstream storage ' +
      'for truly concurrent transactions)';
    const replies: Buffer[] = [];
    for (let off = 0; off < batch.length; off += 1 + batch.readInt32BE(off + 1)) {
      if (SYNC_POINTS.has(String.fromCharCode(batch[off] ?? 0))) {
        replies.push(errorResponse({ severity: 'ERROR', code: '55P03', message }), readyForQuery('I'));
      }
    }
    if (replies.length === 0) throw new StorageError('55P03', message);
    this.openExtended = false;
    if (!this.client.destroyed) this.client.write(Buffer.concat(replies));
  }

  private async feed(bytes: Uint8Array): Promise<Buffer> {
    const out = Buffer.from(await this.db.exec(bytes));
    const { last, lastStatus } = scanBackend(out);
    if (last) this.lastOut = last;
    if (lastStatus) this.lastStatus = lastStatus;
    return out;
  }

  private releaseTurn(): void {
    if (!this.holding) return;
    this.holding = false;
    this.db.lock.release();
  }

  /** On disconnect: leave PGlite idle for the next session (abort COPY, close the extended sequence, roll back). */
  private async cleanup(): Promise<void> {
    if (this.cleanedUp) return;
    this.cleanedUp = true;
    this.onGone();
    const leftovers = this.names.closeAll();
    if (!this.holding && leftovers.length === 0) return;
    try {
      if (!this.holding) {
        await this.db.lock.acquire();
        this.holding = true;
      }
      if (this.lastOut === 'G') await this.feed(copyFail('client disconnected'));
      if (this.openExtended) await this.feed(sync());
      if (this.lastStatus !== 'I') await this.feed(query('ROLLBACK'));
      // Named prepared statements would otherwise outlive the session in the shared backend.
      if (leftovers.length > 0) await this.feed(Buffer.concat([...leftovers, sync()]));
    } catch (err) {
      this.logger.error('pglite cleanup after disconnect failed', { error: String(err) });
    } finally {
      this.releaseTurn();
    }
  }

  private fail(err: unknown): void {
    const protocol = err instanceof ProtocolError;
    const storage = err instanceof StorageError || err instanceof SqlTextError;
    if (!protocol && !storage) {
      this.logger.error('pglite failed under a session; reopening the database on next login', {
        database: this.db.name,
        error: err instanceof Error ? err.message : JSON.stringify(err),
      });
      this.db.markBroken();
    }
    if (!this.client.destroyed) {
      const code = protocol || storage ? err.sqlstate : 'XX000';
      const message = protocol || storage ? err.message : 'internal error in the emulator storage';
      this.client.end(errorResponse({ severity: 'FATAL', code, message }));
    }
    this.closed = true;
    void this.cleanup();
  }
}

/**
 * Prefixes the names of prepared statements and portals in Parse/Bind/Describe/Close/Execute, so two sessions that
 * both prepare "q1" do not collide in the one PGlite backend. Unnamed ones (what most drivers use) pass untouched.
 */
class StatementNames {
  private readonly statements = new Set<string>();

  constructor(private readonly prefix: string) {}

  rewrite(type: string, msg: Buffer): Buffer {
    switch (type) {
      case 'P': {
        const name = readCString(msg, 5);
        if (!name) return msg;
        this.statements.add(name);
        return this.rename(type, msg, 5, name);
      }
      case 'B': {
        const portal = readCString(msg, 5);
        const statementAt = msg.indexOf(0, 5) + 1;
        const statement = readCString(msg, statementAt);
        if (!portal && !statement) return msg;
        const rest = msg.subarray(msg.indexOf(0, statementAt) + 1);
        return message('B', this.cname(portal), this.cname(statement), rest);
      }
      case 'D':
      case 'C': {
        const kind = msg[5];
        const name = readCString(msg, 6);
        if (!name) return msg;
        if (type === 'C' && kind === 0x53 /* S */) this.statements.delete(name);
        return message(type, msg.subarray(5, 6), this.cname(name));
      }
      case 'E': {
        const portal = readCString(msg, 5);
        return portal ? this.rename(type, msg, 5, portal) : msg;
      }
      default:
        return msg;
    }
  }

  /** Close messages for every statement still prepared. */
  closeAll(): Buffer[] {
    const out = [...this.statements].map((name) => message('C', Buffer.from('S'), this.cname(name)));
    this.statements.clear();
    return out;
  }

  private cname(name: string): Buffer {
    return Buffer.from(name ? `${this.prefix}${name}\0` : '\0', 'utf8');
  }

  private rename(type: string, msg: Buffer, at: number, name: string): Buffer {
    return message(type, this.cname(name), msg.subarray(msg.indexOf(0, at) + 1));
  }
}

const COPY_FROM_STDIN = /^\s*copy\b[\s\S]*\bfrom\s+stdin\b/i;

/** Whether a Query or Parse message carries `COPY ... FROM STDIN`. */
function isCopyFromStdin(type: string, msg: Buffer): boolean {
  const body = msg.subarray(5);
  const sql = type === 'Q' ? readCString(body) : readCString(body, body.indexOf(0) + 1);
  return COPY_FROM_STDIN.test(sql);
}

/** CopyInResponse with no per-column formats (clients only look at the overall format). */
function copyInResponse(binary: boolean): Buffer {
  return message('G', Buffer.from([binary ? 1 : 0, 0, 0]));
}

/** Drops the first message of the given type from a buffer of complete messages. */
function withoutFirst(out: Buffer, type: number): Buffer {
  for (let off = 0; off < out.length; ) {
    const len = 1 + out.readInt32BE(off + 1);
    if (out[off] === type) return Buffer.concat([out.subarray(0, off), out.subarray(off + len)]);
    off += len;
  }
  return out;
}
