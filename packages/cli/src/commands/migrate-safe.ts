/**
 * `lakebase migrate up --safe` (a backup branch first, the restore command on failure) and `lakebase migrate check`
 * (the pending migrations on a throwaway copy, with the schema diff they make).
 */
import { LakebaseBranches, migrationStatus, withClient } from '@lakebase-kit/client';
import {
  BACKUP_TTL_SECONDS,
  backupBranch,
  checkMigrations,
  currentBranchId,
  parseDuration,
  restoreCommand,
} from '@lakebase-kit/client/toolkit';
import type { Command } from 'commander';
import { commandOptions, progress } from '../context.js';
import { diffText } from '../diff-output.js';
import { printError, printJson } from '../output.js';
import { type MigrateFlags, optionsOf, run } from './migrate-run.js';

/** `migrate up --safe`: on a protected or default branch with pending migrations, a backup branch first. */
export async function runSafe(count: number | undefined, flags: MigrateFlags): Promise<void> {
  const ttlSeconds = flags.backupTtl ? parseDuration(flags.backupTtl, '--backup-ttl') : BACKUP_TTL_SECONDS;
  const options = await commandOptions();
  const branches = new LakebaseBranches(options);
  const target = await branches.get(currentBranchId({ env: options.env }));
  const { pending } = await withClient(options, (client) => migrationStatus(client, optionsOf(flags)));
  if (pending.length === 0 || !(target.isDefault || target.isProtected)) {
    if (pending.length > 0) {
      progress(
        `No backup: ${target.id} is a development branch (\`lakebase branch reset ${target.id}\` is its way back).`,
      );
    }
    return run('up', count, flags, { backup: null });
  }
  progress(`Copying ${target.id} to a backup branch before ${pending[0]}...`);
  const { backup, lsn } = await backupBranch(branches, target, pending[0] as string, options, { ttlSeconds });
  const restore = restoreCommand(target, backup);
  if (!flags.json) {
    process.stdout.write(
      `Backup: branch ${backup} (${target.id} before ${pending[0]}${lsn ? `, at LSN ${lsn}` : ''}; expires in ${flags.backupTtl ?? '7d'}).\n`,
    );
  }
  try {
    await run('up', count, flags, { backup, lsn: lsn ?? null, restore });
  } catch (error) {
    printError(error);
    process.stderr.write(
      `The backup branch ${backup} has ${target.id} as it was before this run; it is kept.\n` +
        `restore: ${restore}\n` +
        (target.isDefault
          ? `(${target.id} is the default branch, which cannot be reset: that points the app at the backup.)\n`
          : ''),
    );
    process.exitCode = 1;
  }
}

export function registerMigrateCheckCommand(command: Command): void {
  command
    .description(
      'Run the pending migrations on a throwaway copy of the branch (deleted after) and report success, duration ' +
        'and the schema diff they make; the branch itself is never touched. Exit status 0 when they apply, 1 when not.',
    )
    .addHelpText(
      'after',
      '\nExamples:\n  $ lakebase migrate check\n  $ lakebase migrate check --branch production --json',
    )
    .action(async (flags: MigrateFlags) => {
      const options = await commandOptions();
      const target = currentBranchId({ env: options.env });
      progress(`Copying ${target} to a throwaway branch...`);
      const check = await checkMigrations(new LakebaseBranches(options), target, optionsOf(flags), options);
      const failure = check.error as { code?: string; message?: string } | undefined;
      if (flags.json) {
        printJson({
          target: check.target,
          branch: check.branch,
          ok: check.ok,
          applied: check.applied,
          durationMs: check.durationMs,
          diff: check.diff ?? null,
          error: failure ? { code: failure.code ?? null, message: failure.message ?? String(failure) } : null,
        });
      } else if (check.ok) {
        const n = check.applied.length;
        process.stdout.write(
          `${n === 0 ? 'Nothing to apply' : `${n} migration${n === 1 ? '' : 's'} apply cleanly: ${check.applied.join(', ')}`} ` +
            `(${check.durationMs} ms on a copy of ${target}; ${check.branch} deleted, ${target} untouched).\n`,
        );
        if (check.diff) process.stdout.write(diffText(check.diff, false));
      } else {
        printError(check.error);
        const before = check.applied.length > 0 ? `; applied before it: ${check.applied.join(', ')}` : '';
        process.stderr.write(`(on a copy of ${target}${before}; ${check.branch} deleted, ${target} untouched)\n`);
      }
      if (!check.ok) process.exitCode = 1;
    });
}
