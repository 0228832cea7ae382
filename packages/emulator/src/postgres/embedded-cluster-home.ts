import { createHash } from 'node:crypto';
import { chmod, chown, mkdir, readFile, realpath, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { EmulatorError } from '../errors.js';

/** The OS account the server runs as when we are root (PostgreSQL refuses to run as root). */
export interface Account {
  name: string;
  uid: number;
  gid: number;
}

/**
 * As root, what the server's account must reach and cannot where the project is (e.g. under /root, mode 700 on
 * Debian): the clusters of such data dirs, and a copy of the PostgreSQL build (see `reachableBinaries`). /var/lib is
 * the place for state that must survive reboots; /tmp is emptied at boot and systemd-tmpfiles deletes files untouched
 * for 30 days in /var/tmp, which would corrupt a cluster left alone for a month.
 */
export const ROOT_STATE_DIR = '/var/lib/lakebase-emulator';

/** In `<dataDir>/postgres`: names the external cluster dir of this data dir (so it is found again and removed). */
const POINTER_FILE = 'external-cluster';
/** In the external cluster dir: the real path of the data dir it belongs to (to tell a moved data dir from a copy). */
const OWNER_FILE = 'data-dir';

/** The unprivileged account to run the server as when we are root: `postgres` if it exists, else `nobody`. */
export async function serverAccount(): Promise<Account | undefined> {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  const passwd = await readFile('/etc/passwd', 'utf8').catch(() => '');
  const accounts = new Map(
    passwd.split('\n').map((line) => {
      const [name = '', , uid = '', gid = ''] = line.split(':');
      return [name, { name, uid: Number(uid), gid: Number(gid) }] as const;
    }),
  );
  const account = accounts.get('postgres') ?? accounts.get('nobody');
  if (!account || !Number.isInteger(account.uid) || account.uid === 0) {
    throw unavailable('it runs as root and there is no unprivileged "postgres" or "nobody" account to run it as');
  }
  return account;
}

/**
 * The directory that holds the cluster (`<home>/data`) for the data dir whose PostgreSQL state is in `root`
 * (`<dataDir>/postgres`). Without `account` (not root) that is `root` itself. As root, `root` too when the account can
 * reach it: our own directories get the search (x) bit for others (not read: they still cannot list them), and every
 * directory above must already allow it; directories above the data dir are never changed. Otherwise the cluster
 * lives in {@link ROOT_STATE_DIR}, one dir per data dir (mode 0700, owned by the account), named in
 * `root/external-cluster`.
 */
export async function clusterHome(dataDir: string, root: string, account: Account | undefined): Promise<string> {
  if (!account) return root;
  const pointed = await externalHome(root);
  if (!pointed) {
    const blocked = await firstBlockedDir(dataDir, account);
    if (!blocked) {
      await chmod(dataDir, 0o711);
      await chmod(root, 0o711);
      return root;
    }
    if (await stat(path.join(root, 'data', 'PG_VERSION')).catch(() => undefined)) {
      // A cluster made in place, now out of the account's reach: not silently replaced by an empty one.
      throw unavailable(
        `it runs as root, PostgreSQL refuses root, and the account "${account.name}" it would run as cannot reach ${blocked}`,
      );
    }
  }
  return externalClusterHome(dataDir, root, account, pointed);
}

/** Removes the external cluster dir of the data dir whose PostgreSQL state is in `root`, if it has one. */
export async function removeExternalCluster(root: string): Promise<void> {
  const home = await externalHome(root);
  if (home) await rm(home, { recursive: true, force: true });
}

/** The external cluster dir named by `root`'s pointer file; only a dir directly in ROOT_STATE_DIR counts. */
async function externalHome(root: string): Promise<string | undefined> {
  const named = (await readFile(path.join(root, POINTER_FILE), 'utf8').catch(() => '')).trim();
  // A pointer edited to name anything else is ignored: `removeExternalCluster` deletes what it names, as root.
  return named && path.dirname(named) === ROOT_STATE_DIR && /^[0-9a-f]{32}$/.test(path.basename(named))
    ? named
    : undefined;
}

async function externalClusterHome(
  dataDir: string,
  root: string,
  account: Account,
  pointed: string | undefined,
): Promise<string> {
  const real = await realpath(dataDir);
  if (pointed && (await stat(pointed).catch(() => undefined))) {
    const owner = (await readFile(path.join(pointed, OWNER_FILE), 'utf8').catch(() => '')).trim();
    // A copied data dir must not share (and stop, as a stale server) the original's cluster: it gets its own.
    const copy =
      owner !== real && path.isAbsolute(owner) && (await externalHome(path.join(owner, 'postgres'))) === pointed;
    if (!copy) {
      if (owner !== real) await writeFile(path.join(pointed, OWNER_FILE), `${real}\n`, { mode: 0o600 }); // moved
      return pointed;
    }
  }
  // One per data dir, keyed by its real path. No pointer (or a copy's) means this data dir has no cluster yet: what
  // is left at that name belongs to a data dir deleted and made again at the same path, and is replaced.
  const home = path.join(ROOT_STATE_DIR, createHash('sha256').update(real).digest('hex').slice(0, 32));
  try {
    await makeRootStateDir();
    await rm(home, { recursive: true, force: true });
    await mkdir(home, { mode: 0o700 });
    await chown(home, account.uid, account.gid);
    await writeFile(path.join(home, OWNER_FILE), `${real}\n`, { mode: 0o600 });
  } catch (error) {
    throw unavailable(
      `it runs as root, the account "${account.name}" it would run as cannot reach ${dataDir}, and ${home} could not be made for it (${(error as Error).message})`,
    );
  }
  await writeFile(path.join(root, POINTER_FILE), `${home}\n`, { mode: 0o600 });
  return home;
}

/** The first directory above `dataDir` that `account` cannot pass through, or undefined if it reaches the data dir. */
export async function firstBlockedDir(dataDir: string, account: Account): Promise<string | undefined> {
  for (let dir = path.dirname(path.resolve(dataDir)); ; dir = path.dirname(dir)) {
    const info = await stat(dir);
    if (!(info.mode & 0o001) && info.uid !== account.uid) return dir;
    if (path.dirname(dir) === dir) return undefined;
  }
}

/** Makes ROOT_STATE_DIR: ours, so others may pass through (to what they own or are given by name), not list. */
export async function makeRootStateDir(): Promise<void> {
  await mkdir(ROOT_STATE_DIR, { recursive: true, mode: 0o711 });
  await chmod(ROOT_STATE_DIR, 0o711);
}

/** Raised (code EMULATOR_POSTGRES_CANNOT_RUN) when this machine cannot run the server at all: the emulator falls back. */
export function unavailable(why: string): EmulatorError {
  return new EmulatorError(
    'EMULATOR_POSTGRES_CANNOT_RUN',
    `The embedded PostgreSQL cannot run here: ${why}.`,
    'Use a data dir every account can traverse (e.g. under /tmp or the project), run as a normal user, or use --storage pglite.',
  );
}
