/**
 * The relay of a session once it has logged in to storage. Client to server: raw bytes, piped unparsed. Server to
 * client: raw bytes too, with a counter that reads only the 5-byte message headers (type, length) to keep track of
 * message boundaries, and the body of a CommandComplete only when it is as long as `CREATE DATABASE`. PostgreSQL
 * records nothing about which session made a database, and branches share one server, so this is how the emulator
 * learns that a session made one: the server's own CommandComplete, which no query result can forge (rows are
 * DataRow messages, skipped by length). The relay holds the server's bytes from that message on until the database
 * has been recorded (`onCreateDatabase`, bounded), so the client cannot log in to it before that.
 */
import type { Duplex } from 'node:stream';
import { withDeadline } from '@lakebase-kit/client/toolkit';

/** The CommandComplete tag of a finished CREATE DATABASE, NUL-terminated as on the wire. */
const CREATE_DATABASE_TAG = Buffer.from('CREATE DATABASE\0', 'latin1');
const COMMAND_COMPLETE = 0x43; // 'C'
/** How long a completed CREATE DATABASE is held for its recording before the reply goes on regardless. */
const RECORD_DEADLINE_MS = 15_000;

/** What the splice reports and who it tells when it ends. */
export interface SpliceHooks {
  /** A CREATE DATABASE completed in the session; the server's reply waits until this settles. */
  onCreateDatabase(): Promise<void>;
  /** The session ended (either side closed). */
  onClose(): void;
}

/** Splices `client` and `server` both ways; returns the function that ends the session. */
export function spliceSession(client: Duplex, server: Duplex, hooks: SpliceHooks): () => void {
  const close = () => {
    client.destroy();
    server.destroy();
  };
  client.on('error', close);
  server.on('error', close);
  client.on('close', close);
  server.on('close', () => {
    hooks.onClose();
    close();
  });
  client.pipe(server); // backpressure by pipe(); a client EOF ends the server side (a Terminate was sent first)

  const counter = new CommandCounter();
  let holding = false;
  let draining = false;
  const resumeIfFree = () => {
    if (!holding && !draining) server.resume();
  };
  const forward = (chunk: Buffer) => {
    if (client.write(chunk)) return;
    draining = true;
    server.pause();
    client.once('drain', () => {
      draining = false;
      resumeIfFree();
    });
  };
  server.on('data', (chunk: Buffer) => {
    const created = counter.feed(chunk);
    if (created === 0) return forward(chunk);
    holding = true;
    server.pause();
    const recorded = Array.from({ length: created }, () => hooks.onCreateDatabase());
    withDeadline(Promise.allSettled(recorded), RECORD_DEADLINE_MS, () => new Error('not recorded in time'))
      .catch(() => {}) // the database then stays unrecorded: logins to it are refused (3D000), nothing leaks
      .finally(() => {
        holding = false;
        if (client.destroyed) return;
        forward(chunk);
        resumeIfFree();
      });
  });
  server.on('end', () => client.end());
  client.resume();
  server.resume();
  return close;
}

/** Counts CommandComplete `CREATE DATABASE` messages in a server stream that starts at a message boundary. */
export class CommandCounter {
  private readonly header = Buffer.alloc(5);
  private headerLength = 0;
  private remaining = 0;
  /** The body of a CommandComplete of the right length, as it arrives; undefined for every other message. */
  private tag: Buffer[] | undefined;
  /** A malformed length (never from PostgreSQL): stop counting rather than misread the rest. */
  private lost = false;

  /** The number of CREATE DATABASE completions that end in `chunk`. */
  feed(chunk: Buffer): number {
    let completed = 0;
    let i = 0;
    const end = chunk.length;
    while (i < end && !this.lost) {
      if (this.remaining > 0) {
        // Inside a message body: skip it (a candidate tag is kept), without looking at its bytes.
        const take = Math.min(this.remaining, end - i);
        this.tag?.push(chunk.subarray(i, i + take));
        i += take;
        this.remaining -= take;
        if (this.remaining === 0 && this.endMessage()) completed++;
        continue;
      }
      let type: number;
      let length: number;
      if (this.headerLength === 0 && end - i >= 5) {
        // The common case: a whole header in this chunk, read in place (by hand: readInt32BE's checks cost 60 %
        // more over a large result, 24 vs 15 µs per 2,000 rows).
        type = chunk[i] as number;
        length =
          ((chunk[i + 1] as number) << 24) |
          ((chunk[i + 2] as number) << 16) |
          ((chunk[i + 3] as number) << 8) |
          (chunk[i + 4] as number);
        i += 5;
      } else {
        // A header split across chunks: gather its bytes.
        this.header[this.headerLength++] = chunk[i++] as number;
        if (this.headerLength < 5) continue;
        this.headerLength = 0;
        type = this.header[0] as number;
        length = this.header.readInt32BE(1);
      }
      if (length < 4) {
        this.lost = true;
        break;
      }
      this.remaining = length - 4;
      this.tag = type === COMMAND_COMPLETE && this.remaining === CREATE_DATABASE_TAG.length ? [] : undefined;
      if (this.remaining === 0 && this.endMessage()) completed++;
    }
    return completed;
  }

  private endMessage(): boolean {
    const tag = this.tag;
    this.tag = undefined;
    return tag !== undefined && Buffer.concat(tag).equals(CREATE_DATABASE_TAG);
  }
}
