/**
 * The kit's one atomic file write (config/atomic-write.ts): the client's .env.local and the emulator's state, tokens
 * and certificates all go through it. A reader never sees half a file, the mode is the one asked for, concurrent
 * writers of one file do not trip over a shared temporary name, and a failed write leaves no temporary file behind.
 */
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { writeFileAtomic, writeFileAtomicSync } from '../src/config/atomic-write.js';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'atomic-write-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const mode = (file: string) => statSync(file).mode & 0o777;

describe.skipIf(process.platform === 'win32')('writeFileAtomic', () => {
  it('concurrent writes of one file all succeed and leave one whole version, mode 0600, no temporary file', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'ca.pem');
    const versions = Array.from({ length: 20 }, (_, i) => `version ${i}\n${'x'.repeat(10_000)}\n`);
    await Promise.all(versions.map((text) => writeFileAtomic(file, text, 0o600)));
    expect(versions).toContain(readFileSync(file, 'utf8'));
    expect(mode(file)).toBe(0o600);
    expect(readdirSync(dir)).toEqual(['ca.pem']);
  });

  it('replacing a world-readable file gives the mode asked for, never the old one', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'secret');
    writeFileSync(file, 'old');
    chmodSync(file, 0o644);
    await writeFileAtomic(file, 'new', 0o600);
    expect(readFileSync(file, 'utf8')).toBe('new');
    expect(mode(file)).toBe(0o600);
  });

  it('a failed rename removes the temporary file and reports the error', async () => {
    const dir = tempDir();
    const target = path.join(dir, 'taken');
    await mkdir(path.join(target, 'inside'), { recursive: true }); // a non-empty directory cannot be replaced
    await expect(writeFileAtomic(target, 'text')).rejects.toMatchObject({ code: expect.stringMatching(/^E/) });
    expect(readdirSync(dir)).toEqual(['taken']);
  });
});

describe.skipIf(process.platform === 'win32')('writeFileAtomicSync', () => {
  it('creates the directory (0700) and writes the file (0600) in one go', () => {
    const dir = path.join(tempDir(), 'data', 'state');
    const file = path.join(dir, 'state.json');
    writeFileAtomicSync(file, '{"a":1}\n');
    expect(readFileSync(file, 'utf8')).toBe('{"a":1}\n');
    expect(mode(dir)).toBe(0o700);
    expect(mode(file)).toBe(0o600);
    expect(readdirSync(dir)).toEqual(['state.json']);
  });

  it('a failed rename removes the temporary file', () => {
    const dir = tempDir();
    const target = path.join(dir, 'taken');
    mkdirSync(path.join(target, 'inside'), { recursive: true });
    expect(() => writeFileAtomicSync(target, 'text')).toThrow();
    expect(readdirSync(dir)).toEqual(['taken']);
  });
});
