/**
 * The relay's CommandComplete counter reads message headers only: it counts a server's CREATE DATABASE completion
 * wherever the chunk boundaries fall, and not the same bytes inside a row or a notice (which a client controls).
 */
import { pgWire } from '@lakebase-kit/client/toolkit';
import { describe, expect, it } from 'vitest';
import { CommandCounter } from '../../src/postgres/session-splice.js';

const { message } = pgWire;
const complete = (tag: string) => message('C', Buffer.from(`${tag}\0`, 'latin1'));
const CREATED = complete('CREATE DATABASE');

/** Feeds `bytes` split at every `size` bytes and returns the total count. */
function count(bytes: Buffer, size = bytes.length): number {
  const counter = new CommandCounter();
  let total = 0;
  for (let i = 0; i < bytes.length; i += size) total += counter.feed(bytes.subarray(i, i + size));
  return total;
}

describe('CommandCounter', () => {
  it('counts CREATE DATABASE completions across any chunk boundaries', () => {
    const stream = Buffer.concat([complete('SELECT 1'), CREATED, message('Z', Buffer.from('I')), CREATED]);
    for (const size of [1, 2, 3, 5, 7, stream.length]) expect([size, count(stream, size)]).toEqual([size, 2]);
  });

  it('does not count other tags of the same length or the tag inside a row or a notice', () => {
    const row = Buffer.alloc(2 + 4 + CREATED.length);
    row.writeInt16BE(1, 0);
    row.writeInt32BE(CREATED.length, 2);
    CREATED.copy(row, 6);
    const stream = Buffer.concat([
      message('D', row), // a value that is the bytes of a CommandComplete
      message('N', Buffer.concat([Buffer.from('M'), CREATED, Buffer.from('\0\0')])),
      complete('CREATE DATABASX'),
      complete('DROP DATABASE'),
    ]);
    expect(count(stream, 1)).toBe(0);
    expect(count(stream)).toBe(0);
  });
});
