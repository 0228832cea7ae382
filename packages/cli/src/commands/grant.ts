import { grantAccess, withClient } from '@lakebase-kit/client';
import type { Command } from 'commander';
import { commandOptions } from '../context.js';
import { printJson } from '../output.js';

interface GrantFlags {
  to: string;
  schema: string;
  readOnly?: boolean;
  json?: boolean;
}

export function registerGrantCommand(program: Command): void {
  program
    .command('grant')
    .description(
      "Give a role (an app's service principal, a colleague) access to a schema's tables and sequences, now and for " +
        'tables you create later. Idempotent; prints the statements it ran.',
    )
    .requiredOption('--to <role>', "the PostgreSQL role: a user's email or a service principal's client id (UUID)")
    .option('--schema <name>', 'the schema', 'public')
    .option('--read-only', 'only SELECT (default: SELECT, INSERT, UPDATE, DELETE and sequence USAGE/UPDATE)')
    .option('--json', 'print the result as one JSON line')
    .addHelpText(
      'after',
      `
Run it as the owner of the tables (usually whoever ran the migrations). Tables owned by someone else are listed;
that owner runs the same command. \`lakebase doctor\` names the owner and this command when access is missing.

Examples:
  $ lakebase grant --to 6f0c1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b     # the app's service principal
  $ lakebase grant --to jane@example.com --schema app --read-only`,
    )
    .action(async (flags: GrantFlags) => {
      await withClient(await commandOptions(), async (client) => {
        const result = await grantAccess(client, { to: flags.to, schema: flags.schema, readOnly: flags.readOnly });
        if (flags.json) return printJson(result);
        const lines = [
          `Granted ${result.readOnly ? 'read-only' : 'read/write'} access on schema ${result.schema} to ${result.role} (as ${result.grantor}):`,
          ...result.statements.map((statement) => `  ${statement};`),
          ...(result.notGranted.length > 0
            ? [
                `Still not accessible to ${result.role} (owned by another role; its owner must run this command too):`,
                ...result.notGranted.map((t) => `  ${result.schema}.${t.table} (owner ${t.owner})`),
              ]
            : []),
        ];
        process.stdout.write(`${lines.join('\n')}\n`);
      });
    });
}
