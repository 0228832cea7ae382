import type { Command } from 'commander';
import { commandEnv, connectorFor, requireCredentials } from '../context.js';
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
      const connector = connectorFor(await commandEnv());
      try {
        const credentials = requireCredentials(connector);
        const target = await connector.target();
        const credential = await credentials.getCredential();
        if (!flags.json) {
          process.stdout.write(`${credential.token}\n`);
          return;
        }
        printJson({
          token: credential.token,
          expiresAt: credential.expiresAt.toISOString(),
          user: target.user,
          host: target.host,
          port: target.port,
          database: target.database,
          ...(target.instanceName ? { instanceName: target.instanceName } : {}),
          ...(target.endpoint ? { endpoint: target.endpoint } : {}),
        });
      } finally {
        await connector.close();
      }
    });
}
