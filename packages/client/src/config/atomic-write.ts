/**
 * The one atomic file write of the kit (the client's .env.local, the emulator's state, tokens and certificates): a
 * temporary sibling opened exclusively with `mode`, then a rename, so a reader (a second emulator on the same data
 * dir, an editor) never sees half a file and the permissions never widen, not even for a moment.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { chmod, open, rename, rm } from 'node:fs/promises';
import path from 'node:path';

/** The temporary sibling: hidden, unique per call (pid and random), so two writers never share one. */
function temporaryFor(file: string): string {
  const name = `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  return path.join(path.dirname(file), name);
}

/** Write `text` to `file` through a temporary sibling and `rename`, with `mode` set before any data is written. */
export async function writeFileAtomic(file: string, text: string, mode = 0o600): Promise<void> {
  const temporary = temporaryFor(file);
  const handle = await open(temporary, 'wx', mode);
  try {
    try {
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await chmod(temporary, mode); // the umask may have narrowed or the platform ignored the open mode
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/**
 * The same, synchronously, creating the directory (mode 0700) when missing: for the emulator's small, rare state
 * writes, where a synchronous write cannot interleave with another.
 */
export function writeFileAtomicSync(file: string, text: string, mode = 0o600): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const temporary = temporaryFor(file);
  const fd = openSync(temporary, 'wx', mode);
  try {
    try {
      writeSync(fd, text, null, 'utf8');
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    chmodSync(temporary, mode);
    renameSync(temporary, file);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
}
