import { type CredentialScope, getDatabaseToken, parseDuration, parseTableName } from '@lakebase-kit/client/toolkit';
import type { Command } from 'commander';
import { commandOptions } from '../context.js';
import { printJson } from '../output.js';

export function registerTokenCommand(program: Command): void {
  program
    .command('token')
    .description('Print a fresh database token (the PostgreSQL password, valid about an hour) for scripts.')
    .option('--ttl <duration>', 'lifetime: 300s to 3600s (5m to 1h; Autoscaling), checked by the workspace')
    .option('--read-only', 'a read-only token: the session cannot write (claims READ_ONLY)')
    .option(
      '--table <schema.table>',
      'read only this table (repeat for more; implies --read-only)',
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .option('--json', 'print {"token", "expiresAt", "user", "host", "database", ...} as one JSON line')
    .addHelpText(
      'after',
      `
This is the only command that prints a secret. Prefer \`lakebase psql\` or \`lakebase exec\`, which pass it in the
environment instead of on a command line.

Examples:
  $ PGPASSWORD=$(lakebase token) pg_dump -Fc > backup.dump
  $ lakebase token --json | jq -r .expiresAt
  $ PGPASSWORD=$(lakebase token --read-only --ttl 10m) psql -c 'select count(*) from orders'
  $ lakebase token --table public.orders --table public.customers --ttl 15m --json`,
    )
    .action(async (flags: { ttl?: string; readOnly?: boolean; table?: string[]; json?: boolean }) => {
      const tables = (flags.table ?? []).map((t) => parseTableName(t, '--table'));
      const scope: CredentialScope = {
        ...(flags.ttl !== undefined ? { ttlSeconds: parseDuration(flags.ttl, '--ttl') } : {}),
        ...(flags.readOnly || tables.length > 0 ? { readOnly: true } : {}),
        ...(tables.length > 0 ? { tables } : {}),
      };
      const scoped = Object.keys(scope).length > 0;
      const { token, expiresAt, target } = await getDatabaseToken(await commandOptions(), scoped ? scope : undefined);
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
        ...(scope.readOnly ? { readOnly: true } : {}),
        ...(tables.length > 0 ? { tables } : {}),
      });
    });
}
