import { spawn } from 'node:child_process';
import { LakebaseError } from '@lakebase-kit/client';
import { findExecutable, getLibpqEnv, searchPathOf } from '@lakebase-kit/client/toolkit';
import type { Command } from 'commander';
import { commandEnv, type Env, stderrLogger } from '../context.js';

export function registerExecCommands(program: Command): void {
  program
    .command('exec')
    .description(
      'Run a command with PGHOST, PGPORT, PGUSER, PGDATABASE, PGSSLMODE, PGPASSWORD (a fresh token) and DATABASE_URL ' +
        "set, for tools that cannot refresh tokens themselves. Exits with the command's exit code.",
    )
    .argument('<command...>', 'the command and its arguments (put them after --)')
    .option('--branch <name>', 'use this branch of the project (as LAKEBASE_BRANCH does)')
    .passThroughOptions()
    .addHelpText(
      'after',
      `
Examples:
  $ lakebase exec -- npx drizzle-kit migrate
  $ lakebase exec -- npx prisma migrate deploy
  $ lakebase exec -- pg_dump -Fc -f backup.dump
  $ lakebase exec -- sh -c 'psql "$DATABASE_URL" -c "select now()"'`,
    )
    .action(async (argv: string[]) => {
      const [command, ...args] = argv as [string, ...string[]];
      const env = await commandEnv();
      process.exitCode = await runWithDatabaseEnv(env, command, args);
    });

  program
    .command('psql')
    .description('Open psql on the configured database with a fresh token (passed in the environment, not argv).')
    .argument('[args...]', 'arguments for psql (put them after --)')
    .option('--branch <name>', 'use this branch of the project (as LAKEBASE_BRANCH does)')
    .passThroughOptions()
    .addHelpText(
      'after',
      `
Examples:
  $ lakebase psql
  $ lakebase psql -- -c 'select current_user'
  $ lakebase psql -- -f seed.sql`,
    )
    .action(async (args: string[]) => {
      const env = await commandEnv();
      const psql = findExecutable('psql', searchPathOf(env));
      if (!psql) {
        throw new LakebaseError('LAKEBASE_COMMAND_NOT_FOUND', 'psql is not installed (not found on PATH).', {
          suggestion:
            'Install the PostgreSQL client (macOS: `brew install libpq`, Debian/Ubuntu: `sudo apt-get install ' +
            'postgresql-client`), or use `lakebase exec -- <tool>` with another client.',
        });
      }
      process.exitCode = await runWithDatabaseEnv(env, psql, args);
    });
}

/** Mint a token, then run the command with the libpq environment; resolves with its exit code. */
async function runWithDatabaseEnv(env: Env, command: string, args: string[]): Promise<number> {
  const databaseEnv = await getLibpqEnv({ env, logger: stderrLogger });
  const child = spawn(command, args, { stdio: 'inherit', env: { ...env, ...databaseEnv } });
  // Ctrl-C reaches the child through the terminal; we wait for it to finish instead of dying first.
  const ignore = () => {};
  process.on('SIGINT', ignore);
  try {
    return await new Promise<number>((resolve, reject) => {
      child.once('error', (error: NodeJS.ErrnoException) => reject(spawnFailure(command, error)));
      child.once('exit', (code, signal) => {
        resolve(code ?? 128 + (signal ? signalNumber(signal) : 1));
      });
    });
  } finally {
    process.off('SIGINT', ignore);
  }
}

/** Why a command could not be started, with our code and a fix instead of Node's ENOENT/EACCES. */
export function spawnFailure(command: string, error: NodeJS.ErrnoException): LakebaseError {
  if (error.code === 'ENOENT') {
    return new LakebaseError('LAKEBASE_COMMAND_NOT_FOUND', `${command}: command not found.`, {
      suggestion: 'Check the command name and PATH.',
      cause: error,
    });
  }
  const notRunnable = error.code === 'EACCES' || error.code === 'EISDIR' || error.code === 'ENOEXEC';
  return new LakebaseError(
    'LAKEBASE_COMMAND_NOT_FOUND',
    notRunnable
      ? `${command}: not an executable program (${error.code}).`
      : `${command}: could not be started: ${error.message}`,
    {
      suggestion: notRunnable
        ? `Name a program to run after --, e.g. \`lakebase exec -- psql\`; a script needs its execute bit (chmod +x ${command}).`
        : 'Check the command name and PATH.',
      cause: error,
      details: { errno: error.code },
    },
  );
}

function signalNumber(signal: NodeJS.Signals): number {
  return { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15 }[signal as string] ?? 1;
}
