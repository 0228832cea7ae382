/**
 * A base backup of the running primary made with PostgreSQL's low-level API (the embedded build has no
 * pg_basebackup): `pg_backup_start`, a file copy of the data directory, `pg_backup_stop`, whose label file becomes
 * `backup_label` in the copy. What is left out follows the PostgreSQL documentation ("Making a Base Backup Using the
 * Low Level API"): the standby streams the WAL it needs from the primary's replication slot.
 */
import { chown, copyFile, mkdir, readdir, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type pg from 'pg';
import type { Account } from './embedded-cluster-home.js';

/** Files at the top of the data directory that belong to the running server, not to a copy. */
const SKIPPED_FILES = new Set([
  'postmaster.pid',
  'postmaster.opts',
  'backup_label',
  'tablespace_map',
  'standby.signal',
  'recovery.signal',
  'current_logfiles',
]);

/** Directories copied empty: WAL (streamed instead), replication slots, and runtime state the server remakes. */
const EMPTIED_DIRS = new Set([
  'pg_wal',
  'pg_replslot',
  'pg_dynshmem',
  'pg_notify',
  'pg_serial',
  'pg_snapshots',
  'pg_stat_tmp',
  'pg_subtrans',
]);

/**
 * Copies `data` (the primary's, running) to `target` between pg_backup_start and pg_backup_stop on `admin` (one
 * superuser session: the backup belongs to it), and writes the backup label. `target` must not exist.
 */
export async function baseBackup(
  admin: pg.Client,
  data: string,
  target: string,
  account: Account | undefined,
): Promise<void> {
  await admin.query('SELECT pg_backup_start($1, fast => true)', ['lakebase-emulator standby']);
  let stopped = false;
  try {
    await copyTree(data, target, account, true);
    // PG 17 keeps archive status and WAL summaries below pg_wal; the server expects both dirs to exist.
    for (const dir of ['pg_wal/archive_status', 'pg_wal/summaries']) await makeDir(path.join(target, dir), account);
    const { rows } = await admin.query<{ labelfile: string }>(
      'SELECT labelfile FROM pg_backup_stop(wait_for_archive => false)',
    );
    stopped = true;
    await writeOwned(path.join(target, 'backup_label'), rows[0]?.labelfile ?? '', account);
  } finally {
    if (!stopped) await admin.query('SELECT pg_backup_stop(wait_for_archive => false)').catch(() => {});
  }
}

/** Writes `content` to `file` (mode 0600), owned by the server's account when we are root. */
export async function writeOwned(file: string, content: string, account: Account | undefined): Promise<void> {
  await writeFile(file, content, { mode: 0o600 });
  if (account) await chown(file, account.uid, account.gid);
}

async function makeDir(dir: string, account: Account | undefined): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  if (account) await chown(dir, account.uid, account.gid);
}

async function copyTree(from: string, to: string, account: Account | undefined, top: boolean): Promise<void> {
  await makeDir(to, account);
  const entries = await readdir(from, { withFileTypes: true }).catch(vanished);
  for (const entry of entries ?? []) {
    const source = path.join(from, entry.name);
    const target = path.join(to, entry.name);
    if (top && SKIPPED_FILES.has(entry.name)) continue;
    if (entry.name === 'pg_internal.init' || entry.name.startsWith('pgsql_tmp')) continue;
    if (entry.isDirectory()) {
      if (top && EMPTIED_DIRS.has(entry.name)) await makeDir(target, account);
      else await copyTree(source, target, account, false);
    } else if (entry.isSymbolicLink()) {
      const link = await readlink(source).catch(vanished);
      if (link !== undefined) await symlink(link, target);
    } else if (entry.isFile()) {
      // A file the server removes while we copy (a dropped relation) is simply not in the backup; WAL replay agrees.
      const copied = await copyFile(source, target).then(() => true, vanished);
      if (copied && account) await chown(target, account.uid, account.gid);
    }
  }
}

function vanished(error: NodeJS.ErrnoException): undefined {
  if (error.code === 'ENOENT') return undefined;
  throw error;
}

/** Removes a standby's copy (it is made afresh each time the standby starts). */
export async function removeCopy(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}
