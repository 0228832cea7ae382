import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { EmulatorError } from './errors.js';

/**
 * Takes the data dir for this emulator alone. Two emulators on one PGlite data dir (a second `npm start` while the
 * first still runs) silently lose acknowledged writes and can leave the dir unreadable, so the second must fail.
 * The lock is a pid file created exclusively; one left by a process that has died is taken over.
 * @returns a function that releases the lock.
 */
export async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const file = path.join(dataDir, 'emulator.pid');
  for (;;) {
    try {
      await writeFile(file, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
      return () => rm(file, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = Number.parseInt(await readFile(file, 'utf8').catch(() => ''), 10);
    if (Number.isInteger(holder) && holder > 0 && isAlive(holder)) {
      throw new EmulatorError(
        'EMULATOR_DATA_DIR_IN_USE',
        `The data dir ${dataDir} is in use by another emulator (pid ${holder}${holder === process.pid ? ', this process' : ''}).`,
        `Stop that emulator (or the app that embeds it), or use another data dir. If none is running, delete ${file}.`,
      );
    }
    await rm(file, { force: true }); // left by a process that died without stopping
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // alive, owned by another user
  }
}
