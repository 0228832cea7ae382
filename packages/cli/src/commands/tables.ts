import { withClient } from '@lakebase-kit/client';
import type { Command } from 'commander';
import { commandOptions } from '../context.js';
import { printJson } from '../output.js';
import { listTables } from '../table-list.js';

export function registerTablesCommand(program: Command): void {
  program
    .command('tables')
    .description('List the tables and views in the configured database, with estimated rows and size.')
    .option('--schema <name>', 'only this schema (default: all but the system schemas)')
    .option('--json', 'print the list as one JSON line')
    .option('--branch <name>', 'use this branch of the project (as LAKEBASE_BRANCH does)')
    .addHelpText(
      'after',
      `
Examples:
  $ lakebase tables
  $ lakebase tables --schema public --json`,
    )
    .action(async (flags: { schema?: string; json?: boolean }) => {
      await withClient(await commandOptions(), async (client) => {
        const tables = await listTables(client, flags.schema ? { schema: flags.schema } : {});
        if (flags.json) return printJson(tables);
        if (tables.length === 0) {
          process.stdout.write(
            `No tables${flags.schema ? ` in schema ${flags.schema}` : ''}. Run \`lakebase migrate up\`?\n`,
          );
          return;
        }
        const names = tables.map((t) => `${t.schema}.${t.name}`);
        const width = Math.max(...names.map((n) => n.length));
        process.stdout.write('Database tables:\n');
        tables.forEach((t, i) => {
          const rows = t.estimatedRows === null ? '' : `~${t.estimatedRows} rows, `;
          process.stdout.write(`  ${(names[i] as string).padEnd(width)}  ${t.type} (${rows}${formatBytes(t.bytes)})\n`);
        });
      });
    });
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}
