/**
 * Migrations with a way back, over branches: a backup branch of the target before `migrate up --safe` (and the exact
 * command that restores it), and `migrate check`: the pending migrations run on a throwaway copy of the target,
 * which is deleted after, the target never touched.
 */
import { type BranchId, branchIdFrom } from '../config/names.js';
import type { LakebaseBranches } from '../connection/branches.js';
import { withClient } from '../connection/client.js';
import type { ConnectorOptions } from '../connection/connector.js';
import { type Clock, monotonicClock, systemClock } from '../time.js';
import type { BranchInfo } from '../workspace/branches.js';
import { type BranchDiff, diffBranches } from './branch-diff.js';
import { applyMigrations, type MigrationOptions, migrationStatus } from './migrations.js';
import { shellQuote } from './quote.js';

/** How long a backup branch lives unless told otherwise: a week to notice and restore. */
export const BACKUP_TTL_SECONDS = 7 * 86_400;
/** How long a `migrate check` branch may outlive a crashed check before the workspace deletes it. */
const CHECK_TTL_SECONDS = 3600;

/** `20261206t225654z`: a UTC time in a branch id. */
function stamp(at: Date): string {
  return `${at.toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', 't')}z`;
}

/** `<branch>-before-<migration>-<time>` in the branch grammar (see `branchIdFrom`: long names are cut and hashed). */
export function backupBranchId(branch: string, migration: string, at: Date): BranchId {
  return branchIdFrom(`${branch}-before-${migration}-${stamp(at)}`, 'backup branch');
}

export interface BackupOptions {
  /** Expiry of the backup (default {@link BACKUP_TTL_SECONDS}). */
  ttlSeconds?: number;
  clock?: Clock;
}

/** A backup made: its id, and the target's WAL position when it was taken (when the server tells). */
export interface BranchBackup {
  backup: BranchId;
  lsn: string | undefined;
}

/**
 * Copies `target` as it is now into a new branch named for the migration about to run, with an expiry. The copy is
 * the target at its current WAL position (read first, for the record).
 */
export async function backupBranch(
  branches: LakebaseBranches,
  target: BranchInfo,
  migration: string,
  connect: ConnectorOptions,
  options: BackupOptions = {},
): Promise<BranchBackup> {
  const backup = backupBranchId(target.id, migration, new Date((options.clock ?? systemClock).now()));
  const lsn = await withClient({ ...connect, branch: target.id }, async (client) => {
    // Not every server lets every role read it (a standby, a restricted role): the LSN is for the record only.
    const result = await client
      .query<{ lsn: string }>('select pg_current_wal_lsn()::text as lsn')
      .catch(() => undefined);
    return result?.rows[0]?.lsn;
  });
  await branches.create(backup, {
    from: target.id,
    expiry: { ttlSeconds: options.ttlSeconds ?? BACKUP_TTL_SECONDS },
  });
  return { backup, lsn };
}

/**
 * The command that puts `target` back as `backup` has it. A development or protected branch is reset from the
 * backup (`--force` for a protected one); the default branch cannot be deleted through the API, so the app is
 * pointed at the backup instead.
 */
export function restoreCommand(target: BranchInfo, backup: string): string {
  if (target.isDefault) return `lakebase checkout ${shellQuote(backup)}`;
  return `lakebase branch reset ${shellQuote(target.id)} --from ${shellQuote(backup)}${target.isProtected ? ' --force' : ''}`;
}

export interface MigrationCheck {
  /** The branch checked (its data and schema are untouched). */
  target: string;
  /** The throwaway copy the migrations ran on (deleted when the check ends). */
  branch: BranchId;
  ok: boolean;
  /** The migrations applied on the copy (when one failed, those before it). */
  applied: string[];
  /** How long the migrations took on the copy (monotonic clock). */
  durationMs: number;
  /** The schema the migrations would make, relative to the target's now (only when they all ran). */
  diff: BranchDiff | undefined;
  /** Why a migration failed (its `LakebaseError`), when one did. */
  error: unknown;
}

/**
 * Runs the pending migrations of `migrations.dir` on a throwaway branch copied from `target`, compares the result
 * with the target, and deletes the copy (also when a migration fails). The target is read, never written.
 */
export async function checkMigrations(
  branches: LakebaseBranches,
  target: string,
  migrations: MigrationOptions,
  connect: ConnectorOptions,
  options: { clock?: Clock; monotonic?: Clock } = {},
): Promise<MigrationCheck> {
  const branch = branchIdFrom(
    `${target}-check-${stamp(new Date((options.clock ?? systemClock).now()))}`,
    'check branch',
  );
  await branches.create(branch, { from: target, expiry: { ttlSeconds: CHECK_TTL_SECONDS } });
  const timer = options.monotonic ?? monotonicClock;
  try {
    const started = timer.now();
    let applied: string[] = [];
    let error: unknown;
    await withClient({ ...connect, branch }, async (client) => {
      const pending = (await migrationStatus(client, migrations)).pending;
      try {
        applied = (await applyMigrations(client, { ...migrations, direction: 'up' })).map((m) => m.name);
      } catch (failure) {
        error = failure;
        // Those before the failing one stay applied on the copy: report them too.
        const after = await migrationStatus(client, migrations).catch(() => undefined);
        const still = new Set(after?.pending ?? pending);
        applied = pending.filter((name) => !still.has(name));
      }
    });
    const durationMs = Math.round(timer.now() - started);
    const diff = error === undefined ? await diffBranches(target, branch, connect) : undefined;
    return { target, branch, ok: error === undefined, applied, durationMs, diff, error };
  } finally {
    await branches.delete(branch, { allowMissing: true });
  }
}
