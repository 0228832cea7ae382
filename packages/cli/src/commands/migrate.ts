import path from 'node:path';
import { migrationStatus, withClient } from '@lakebase-kit/client';
import { createMigration } from '@lakebase-kit/client/toolkit';
import type { Command } from 'commander';
import { commandOptions } from '../context.js';
import { integerIn } from '../options.js';
import { printJson } from '../output.js';
import { type MigrateFlags, optionsOf, run } from './migrate-run.js';
import { registerMigrateCheckCommand, runSafe } from './migrate-safe.js';

export function registerMigrateCommand(program: Command): void {
  const migrate = program
    .command('migrate')
    .description(
      'SQL migrations (node-pg-migrate files): one transaction each, under an advisory lock so concurrent runs ' +
        'apply each migration once, with checksums that report edited applied migrations.',
    )
    .addHelpText(
      'after',
      `
Alembic equivalents: upgrade head = up, downgrade -1 = down, current = status, history = history, revision = create.

Examples:
  $ lakebase migrate create add-user-preferences
  $ lakebase migrate up
  $ lakebase migrate status --json
  $ lakebase migrate down 1 --dir app/migrations
  $ lakebase migrate up --safe --branch production   # backup branch first, restore command on failure
  $ lakebase migrate check --branch production       # dry run on a throwaway copy, with the schema diff`,
    );

  withCommonFlags(migrate.command('up').argument('[count]', 'apply at most this many', integerIn(1, 1_000_000)))
    .description('Apply pending migrations (all, or the next COUNT).')
    .option(
      '--safe',
      'on a protected or default branch, first copy it to a backup branch <branch>-before-<migration>-<time>; ' +
        'on failure print the command that restores it',
    )
    .option('--backup-ttl <duration>', 'expiry of the --safe backup branch (default 7d)')
    .addHelpText(
      'after',
      '\nExamples:\n  $ lakebase migrate up\n  $ lakebase migrate up --safe --branch production --backup-ttl 14d',
    )
    .action((count: number | undefined, flags: MigrateFlags) =>
      flags.safe ? runSafe(count, flags) : run('up', count, flags),
    );

  registerMigrateCheckCommand(withCommonFlags(migrate.command('check')));

  withCommonFlags(
    migrate.command('down').argument('[count]', 'how many to revert (default 1)', integerIn(1, 1_000_000)),
  )
    .description('Revert the last applied migration (or the last COUNT).')
    .addHelpText('after', '\nExample:\n  $ lakebase migrate down 2')
    .action((count: number | undefined, flags: MigrateFlags) => run('down', count ?? 1, flags));

  withCommonFlags(migrate.command('status'))
    .description('Show the current migration and what is pending or edited.')
    .addHelpText('after', '\nExample:\n  $ lakebase migrate status')
    .action((flags: MigrateFlags) => status(flags, false));

  withCommonFlags(migrate.command('history'))
    .description('List every migration with when it was applied.')
    .addHelpText('after', '\nExample:\n  $ lakebase migrate history --json')
    .action((flags: MigrateFlags) => status(flags, true));

  withCommonFlags(migrate.command('create').argument('<name>', 'short description, e.g. add-orders-table'))
    .description('Create <dir>/<timestamp>_<name>.sql with Up and Down sections.')
    .addHelpText('after', '\nExample:\n  $ lakebase migrate create add-orders-table')
    .action(async (name: string, flags: MigrateFlags) => {
      const file = await createMigration(flags.dir, name);
      if (flags.json) printJson({ file });
      else process.stdout.write(`Created ${path.relative(process.cwd(), file)}\n`);
    });
}

function withCommonFlags(command: Command): Command {
  return command
    .option('--dir <dir>', 'migrations directory', 'migrations')
    .option('--schema <name>', 'schema for the tables and the bookkeeping (default: public)')
    .option('--json', 'print the result as one JSON line')
    .option('--branch <name>', 'use this branch of the project (as LAKEBASE_BRANCH does)');
}

async function status(flags: MigrateFlags, history: boolean): Promise<void> {
  await withClient(await commandOptions(), async (client) => {
    const state = await migrationStatus(client, optionsOf(flags));
    if (flags.json) {
      printJson(
        history ? state.migrations : { current: state.current ?? null, pending: state.pending, edited: state.edited },
      );
      return;
    }
    const out: string[] = [];
    const applied = state.migrations.filter((m) => m.appliedAt).length;
    if (!history)
      out.push(`Current: ${state.current ?? '(none)'} (${applied} applied, ${state.pending.length} pending)`);
    const shown = history ? state.migrations : state.migrations.filter((m) => m.status !== 'applied');
    for (const m of shown) {
      const when = m.appliedAt ? m.appliedAt.toISOString() : 'not applied';
      const mark = m.name === state.current ? ' (current)' : '';
      out.push(`  ${m.status.padEnd(8)} ${m.name}  ${when}${mark}`);
    }
    if (history && shown.length === 0) out.push(`No migrations in ${flags.dir}.`);
    if (state.edited.length > 0) {
      out.push(
        `warning: ${state.edited.join(', ')} changed after being applied; edits are not re-run. ` +
          'Restore the file and put the change in a new migration.',
      );
    }
    process.stdout.write(`${out.join('\n')}\n`);
  });
}
