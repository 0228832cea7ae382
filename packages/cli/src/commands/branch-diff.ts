/** `lakebase branch diff <base> [<compare>]`: the schema difference between two branches; exits like `diff`. */
import { currentBranchId, diffBranches } from '@lakebase-kit/client/toolkit';
import type { Command } from 'commander';
import { commandEnv, stderrLogger } from '../context.js';
import { diffMarkdown, diffText } from '../diff-output.js';
import { printError, printJson } from '../output.js';

interface DiffFlags {
  json?: boolean;
  markdown?: boolean;
  data?: boolean;
  schema?: string[];
}

/** Exit codes, as `diff` has them: 0 the same, 1 different, 2 trouble (the error is printed with its code). */
export const DIFF_EXIT = { same: 0, different: 1, error: 2 } as const;

export function registerBranchDiffCommand(branch: Command): void {
  branch
    .command('diff')
    .argument('<base>', 'branch id to compare against, e.g. production')
    .argument('[compare]', 'branch id to compare (default: the current branch, LAKEBASE_BRANCH or the endpoint)')
    .description(
      'Show what <compare> changed relative to <base>: tables, columns (type, default, nullability), indexes, ' +
        'constraints, views, functions, triggers, sequences, types, RLS policies, grants, schemas and extensions. ' +
        'Exit status 0: the same; 1: different; 2: an error.',
    )
    .option('--json', 'print the diff as one JSON line')
    .option('--markdown', 'print a Markdown pull-request comment (with the marker <!-- lakebase-schema-diff -->)')
    .option('--data', 'compare row counts per table too (counts every table: for small databases and CI)')
    .option('--schema <name...>', 'only these schemas (default: all but PostgreSQL’s own)')
    .addHelpText(
      'after',
      `
Examples:
  $ lakebase branch diff production              # what the current branch changed
  $ lakebase branch diff production dev-alice --json
  $ lakebase branch diff production pr-42 --markdown > comment.md
  $ lakebase branch diff production dev-alice --data --schema public`,
    )
    .action(async (base: string, compare: string | undefined, flags: DiffFlags) => {
      try {
        const env = await commandEnv();
        const diff = await diffBranches(base, compare ?? currentBranchId({ env }), {
          env,
          logger: stderrLogger,
          ...(flags.data ? { rowCounts: true } : {}),
          ...(flags.schema ? { schemas: flags.schema } : {}),
        });
        if (flags.json) printJson(diff);
        else if (flags.markdown) process.stdout.write(diffMarkdown(diff));
        else process.stdout.write(diffText(diff, colourAllowed(env)));
        process.exitCode = diff.equal ? DIFF_EXIT.same : DIFF_EXIT.different;
      } catch (error) {
        printError(error);
        process.exitCode = DIFF_EXIT.error;
      }
    });
}

/** Colour on a terminal, unless NO_COLOR is set (https://no-color.org). */
function colourAllowed(env: Record<string, string | undefined>): boolean {
  return Boolean(process.stdout.isTTY) && !env.NO_COLOR;
}
