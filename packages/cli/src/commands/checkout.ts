/**
 * `lakebase checkout [<branch>]`: follow git. The database branch named after the current git branch (or the one
 * given) is created when missing and recorded in `.env.local`, so the next `npm start` uses it.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { LakebaseBranches, LakebaseError } from '@lakebase-kit/client';
import {
  branchIdFrom,
  parseBranchId,
  parseDuration,
  parseEnvText,
  readEnvText,
  updateEnvFile,
} from '@lakebase-kit/client/toolkit';
import type { Command } from 'commander';
import { commandOptions, progress } from '../context.js';
import { printJson } from '../output.js';

interface CheckoutFlags {
  from?: string;
  ttl?: string;
  print?: boolean;
  json?: boolean;
}

/** How long `git` may take to name the branch. */
const GIT_TIMEOUT_MS = 5000;

export function registerCheckoutCommand(program: Command): void {
  program
    .command('checkout')
    .argument('[branch]', 'database branch id (default: named after the current git branch)')
    .description(
      'Use a database branch: the one named after the current git branch unless one is given (feature/Add_Login -> ' +
        'feature-add-login), created from the default branch when missing, and written to .env.local as ' +
        'LAKEBASE_BRANCH (and LAKEBASE_ENDPOINT when .env.local sets it); every other line is kept.',
    )
    .option('--from <branch>', 'parent if the branch is created (default: the project default branch)')
    .option('--ttl <duration>', 'expiry if the branch is created: 3600s, 90m, 12h, 7d (max 30d)')
    .option('--print', 'show what it would do and change nothing')
    .option('--json', 'print the result as one JSON line')
    .addHelpText(
      'after',
      `
Git branch to database branch: lowercase; each run of other characters than a-z and 0-9 becomes '-'; '-' trimmed;
'git-' in front of a leading digit; over 63 characters, the first 54, '-' and 8 hex digits of the name's SHA-256.

Examples:
  $ lakebase checkout                    # on git branch feature/Add_Login: branch feature-add-login
  $ lakebase checkout --ttl 7d --print
  $ lakebase checkout production         # back to the default branch

As a git hook (.git/hooks/post-checkout, executable), so switching git branches switches the database:
  #!/bin/sh
  [ "$3" = 1 ] && npx lakebase checkout --ttl 14d || true`,
    )
    .action(async (branch: string | undefined, flags: CheckoutFlags) => {
      const cwd = process.cwd();
      const gitBranch = branch === undefined ? await currentGitBranch(cwd) : undefined;
      const target =
        gitBranch === undefined ? parseBranchId(branch as string, 'branch') : branchIdFrom(gitBranch, 'git branch');
      const ttlSeconds = flags.ttl === undefined ? undefined : parseDuration(flags.ttl, '--ttl');
      const branches = new LakebaseBranches(await commandOptions());
      const envFile = path.join(cwd, '.env.local');
      const before = await readEnvText(envFile);
      const setsEndpoint = before !== undefined && 'LAKEBASE_ENDPOINT' in parseEnvText(before);
      const from = flags.from ?? 'the default branch';
      const lines: string[] = [];
      if (gitBranch !== undefined) lines.push(`Git branch ${gitBranch} -> database branch ${target}.`);

      if (flags.print) {
        const existing = await branches.find(target);
        lines.push(
          existing
            ? `Branch ${target} exists: would use it.`
            : `Would create branch ${target} from ${from}${flags.ttl ? ` (expires in ${flags.ttl})` : ''}.`,
        );
        const endpoint = setsEndpoint
          ? ` and LAKEBASE_ENDPOINT=${branches.project}/branches/${target}/endpoints/…`
          : '';
        lines.push(`Would write LAKEBASE_BRANCH=${target}${endpoint} to .env.local; nothing changed.`);
        if (flags.json)
          return printJson({ gitBranch: gitBranch ?? null, branch: target, exists: Boolean(existing), dryRun: true });
        process.stdout.write(`${lines.join('\n')}\n`);
        return;
      }

      progress(`Checking branch ${target}...`);
      const result = await branches.ensure(target, {
        ...(flags.from !== undefined ? { from: flags.from } : {}),
        ...(ttlSeconds !== undefined ? { expiry: { ttlSeconds } } : {}),
        wait: {
          onProgress: ({ elapsedMs }) => progress(`… creating branch ${target} (${Math.round(elapsedMs / 1000)} s)`),
        },
      });
      const values: Record<string, string> = { LAKEBASE_BRANCH: target };
      if (setsEndpoint) values.LAKEBASE_ENDPOINT = result.endpoint;
      await updateEnvFile(envFile, values);
      const shadowed = shadowingBranch(target);
      if (shadowed) process.stderr.write(`warning: ${shadowed}\n`);
      if (flags.json) {
        return printJson({
          gitBranch: gitBranch ?? null,
          branch: target,
          created: result.created,
          endpoint: result.endpoint,
          wrote: values,
        });
      }
      lines.push(result.created ? `Created branch ${target} from ${from}.` : `Branch ${target} exists.`);
      lines.push(
        `Wrote ${Object.entries(values)
          .map(([k, v]) => `${k}=${v}`)
          .join(' ')} to .env.local.`,
      );
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}

/**
 * A `LAKEBASE_BRANCH` set in the shell wins over `.env.local` (settings order: .env, .env.local, environment), so
 * the new branch would not be used: say so.
 */
function shadowingBranch(target: string): string | undefined {
  const set = process.env.LAKEBASE_BRANCH?.trim();
  if (!set || set === target) return undefined;
  return `LAKEBASE_BRANCH=${set} is set in the environment and wins over .env.local: unset it to use ${target}.`;
}

/** The current git branch, read with `git` itself (no shell), within {@link GIT_TIMEOUT_MS}. */
function currentGitBranch(cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'git',
      ['symbolic-ref', '--quiet', '--short', 'HEAD'],
      { cwd, timeout: GIT_TIMEOUT_MS, windowsHide: true },
      (error, stdout, stderr) => {
        const name = String(stdout).trim();
        if (!error && name) return resolve(name);
        const why =
          error && 'code' in error && error.code === 'ENOENT'
            ? 'git is not installed'
            : error?.killed
              ? `git gave no answer within ${GIT_TIMEOUT_MS / 1000} s`
              : String(stderr).trim() || 'HEAD is not on a branch (detached)';
        reject(
          new LakebaseError(
            'LAKEBASE_GIT_BRANCH_UNKNOWN',
            `Cannot read the current git branch: ${why.split('\n')[0]}.`,
            {
              suggestion: 'Run it on a git branch, or name the database branch: `lakebase checkout <branch>`.',
            },
          ),
        );
      },
    );
  });
}
