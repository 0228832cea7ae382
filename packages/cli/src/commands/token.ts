import { getDatabaseToken } from '@lakebase-kit/client/toolkit';
import type { Command } from 'commander';
import { commandOptions } from '../context.js';
import { printJson } from '../output.js';

export function registerTokenCommand(program: Command): void {
  program
    .command('token')
    .description('Print a fresh database token (the PostgreSQL password, valid about an hour) for scripts.')
    .option('--json', 'print {"token", "expiresAt", "user", "host", "database", ...} as one JSON line')
    .addHelpText(
      'after',
      `
This is the only command that prints a secret. Prefer \`lakebase psql\` or \`lakebase exec\`, which pass it in the
environment instead of on a command line.

Examples:
  $ PGPASSWORD=$(lakebase token) pg_dump -Fc > backup.dump
  $ lakebase token --json | jq -r .expiresAt`,
    )
    .action(async (flags: { json?: boolean }) => {
      const { token, expiresAt, target } = await getDatabaseToken(await commandOptions());
      if (!flags.json) {
        process.stdout.write(`${token}\n`);
        return;
      }
      printJson({
        token,
        expiresAt: expiresAt.toISOString(),
        user: target.user,
        host: target.host,
        port: target.port,
        database: target.database,
        ...(target.instanceName ? { instanceName: target.instanceName } : {}),
        ...(target.endpoint ? { endpoint: target.endpoint } : {}),
      });
    });
}
