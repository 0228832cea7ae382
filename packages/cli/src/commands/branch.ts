import {
  type BranchExpiry,
  type BranchInfo,
  type CreatedBranch,
  LakebaseBranches,
  LakebaseError,
  type OperationWaitOptions,
} from '@lakebase-kit/client';
import { parseDuration, RESET_LOSES } from '@lakebase-kit/client/toolkit';
import type { Command } from 'commander';
import { commandOptions, progress } from '../context.js';
import { printJson } from '../output.js';
import { registerBranchDiffCommand } from './branch-diff.js';

interface CreateFlags {
  from?: string;
  at?: string;
  lsn?: string;
  ttl?: string;
  protected?: boolean;
  json?: boolean;
}

export function registerBranchCommand(program: Command): void {
  const branch = program
    .command('branch')
    .description(
      "Branches of the configured Autoscaling project (LAKEBASE_ENDPOINT's project): copies of a parent branch's " +
        'data, each with its own endpoint and host.',
    )
    .addHelpText(
      'after',
      `
Examples:
  $ lakebase branch create dev-$USER --ttl 7d
  $ lakebase branch create pr-42 --from production --ttl 3d --json
  $ lakebase branch reset dev-$USER
  $ lakebase branch delete pr-42
  $ lakebase branch diff production dev-$USER`,
    );

  branch
    .command('list')
    .description('List the branches with their state, parent and expiry.')
    .option('--json', 'print the list as one JSON line')
    .action(async (flags: { json?: boolean }) => {
      const branches = await (await open()).list();
      if (flags.json) return printJson(branches.map(summary));
      for (const b of branches) process.stdout.write(`${line(b)}\n`);
    });

  branch
    .command('info')
    .argument('<name>', 'branch id, e.g. dev-alice')
    .description('Show one branch.')
    .option('--json', 'print it as one JSON line')
    .action(async (name: string, flags: { json?: boolean }) => {
      const info = await (await open()).get(name);
      if (flags.json) return printJson(summary(info));
      process.stdout.write(`${line(info)}\n`);
    });

  branch
    .command('create')
    .argument('<name>', 'branch id: lowercase letters, digits and -, e.g. dev-alice or pr-42')
    .description('Create a branch from a parent (default: the default branch), wait until it accepts logins.')
    .option('--from <branch>', 'parent branch (default: the project default branch)')
    .option('--at <time>', 'the parent as it was at this time (RFC 3339), within its history retention')
    .option('--lsn <lsn>', 'the parent at this WAL position, e.g. 0/16B3748')
    .option('--ttl <duration>', 'delete the branch after this long: 3600s, 90m, 12h, 7d (max 30d)')
    .option('--protected', 'refuse deletion and reset until unprotected')
    .option('--json', 'print {branch, endpoint, host} as one JSON line')
    .action(async (name: string, flags: CreateFlags) => {
      if (flags.at && flags.lsn) throw usage('Pass --at or --lsn, not both.');
      const at = flags.at === undefined ? undefined : new Date(flags.at);
      if (at && Number.isNaN(at.getTime())) throw usage(`--at '${flags.at}' is not a time: use RFC 3339.`);
      const expiry: BranchExpiry | undefined = flags.ttl
        ? { ttlSeconds: parseDuration(flags.ttl, '--ttl') }
        : undefined;
      const created = await (await open()).create(name, {
        ...(flags.from !== undefined ? { from: flags.from } : {}),
        ...(at ? { at } : {}),
        ...(flags.lsn ? { lsn: flags.lsn } : {}),
        ...(expiry ? { expiry } : {}),
        ...(flags.protected ? { protected: true } : {}),
        wait: waitWithProgress(`creating branch ${name}`),
      });
      report(created, flags.json, 'Created');
    });

  branch
    .command('delete')
    .argument('<name>', 'branch id')
    .description('Delete a branch with its endpoints and data (protected and default branches refuse).')
    .option('--allow-missing', 'succeed if the branch does not exist')
    .option('--json', 'print {deleted} as one JSON line')
    .action(async (name: string, flags: { allowMissing?: boolean; json?: boolean }) => {
      await (await open()).delete(name, {
        allowMissing: flags.allowMissing === true,
        wait: waitWithProgress(`deleting branch ${name}`),
      });
      if (flags.json) printJson({ deleted: name });
      else process.stdout.write(`Deleted branch ${name}.\n`);
    });

  branch
    .command('reset')
    .argument('<name>', 'branch id')
    .description(
      `Reset a branch to its parent's current data, or to another branch's with --from (delete + recreate). Loses: ${RESET_LOSES.join('; ')}.`,
    )
    .option('--from <branch>', "take this branch's data instead (e.g. a backup from `migrate up --safe`)")
    .option('--force', 'reset a protected branch too (protection is lifted for the reset and set again)')
    .option('--json', 'print {branch, endpoint, host, lost} as one JSON line')
    .addHelpText(
      'after',
      '\nExamples:\n  $ lakebase branch reset dev-alice\n  $ lakebase branch reset staging --from staging-before-1795392000002-add-tags-20261206t225654z --force',
    )
    .action(async (name: string, flags: { from?: string; force?: boolean; json?: boolean }) => {
      progress(`Resetting ${name}${flags.from ? ` from ${flags.from}` : ''}: this loses ${RESET_LOSES.join('; ')}.`);
      const reset = await (await open()).reset(name, {
        ...(flags.from !== undefined ? { from: flags.from } : {}),
        ...(flags.force ? { force: true } : {}),
        wait: waitWithProgress(`resetting branch ${name}`),
      });
      if (flags.json) return printJson({ ...summarize(reset), lost: reset.lost });
      report(reset, false, 'Reset');
    });

  registerBranchDiffCommand(branch);
}

async function open(): Promise<LakebaseBranches> {
  return new LakebaseBranches(await commandOptions());
}

/** Progress lines while an operation runs, on a terminal only (never in CI or pipes). */
function waitWithProgress(what: string): OperationWaitOptions {
  return { onProgress: ({ elapsedMs }) => progress(`… ${what} (${Math.round(elapsedMs / 1000)} s)`) };
}

function report(created: CreatedBranch, json: boolean | undefined, verb: string): void {
  if (json) printJson(summarize(created));
  else
    process.stdout.write(`${verb} branch ${created.branch.id}; endpoint ${created.endpoint}\nhost: ${created.host}\n`);
}

function summarize(created: CreatedBranch) {
  return { branch: summary(created.branch), endpoint: created.endpoint, host: created.host };
}

function summary(b: BranchInfo) {
  return {
    id: b.id,
    name: b.name,
    state: b.state,
    parent: b.parent ?? null,
    default: b.isDefault,
    protected: b.isProtected,
    expireTime: b.expireTime?.toISOString() ?? null,
  };
}

function line(b: BranchInfo): string {
  const marks = [b.isDefault ? 'default' : '', b.isProtected ? 'protected' : ''].filter(Boolean).join(', ');
  const parent = b.parent ? ` from ${b.parent.split('/').at(-1)}` : '';
  const expiry = b.expireTime ? ` expires ${b.expireTime.toISOString()}` : '';
  return `${b.id.padEnd(24)} ${b.state.padEnd(8)}${parent}${expiry}${marks ? ` (${marks})` : ''}`;
}

function usage(message: string): LakebaseError {
  return new LakebaseError('LAKEBASE_USAGE_ERROR', message, { suggestion: 'Run `lakebase branch create --help`.' });
}
