/** What `migrate up`, `down` and `up --safe` share: the flags, the logger, and applying with a report. */
import {
  applyMigrations,
  type MigrationLogger,
  type MigrationOptions,
  migrationStatus,
  withClient,
} from '@lakebase-kit/client';
import { commandOptions, progress } from '../context.js';
import { printJson } from '../output.js';

export interface MigrateFlags {
  dir: string;
  schema?: string;
  json?: boolean;
  safe?: boolean;
  backupTtl?: string;
}

export const logger: MigrationLogger = {
  info: (message) => progress(`  ${message}`),
  warn: (message) => process.stderr.write(`warning: ${message}\n`),
};

export function optionsOf(flags: MigrateFlags): MigrationOptions {
  return { dir: flags.dir, ...(flags.schema ? { schema: flags.schema } : {}), logger };
}

/** Applies or reverts; `extra` joins the `--json` line (the `--safe` backup). */
export async function run(
  direction: 'up' | 'down',
  count: number | undefined,
  flags: MigrateFlags,
  extra: Record<string, unknown> = {},
): Promise<void> {
  await withClient(await commandOptions(), async (client) => {
    progress(direction === 'up' ? 'Applying migrations...' : 'Reverting migrations...');
    const ran = await applyMigrations(client, {
      ...optionsOf(flags),
      direction,
      ...(count === undefined ? {} : { count }),
    });
    const after = await migrationStatus(client, optionsOf(flags));
    if (flags.json) {
      printJson({
        direction,
        migrations: ran.map((m) => m.name),
        current: after.current ?? null,
        pending: after.pending,
        ...extra,
      });
      return;
    }
    const verb = direction === 'up' ? 'Applied' : 'Reverted';
    if (ran.length === 0) process.stdout.write(`Nothing to ${direction === 'up' ? 'apply' : 'revert'}.`);
    else
      process.stdout.write(
        `${verb} ${ran.length} migration${ran.length === 1 ? '' : 's'}: ${ran.map((m) => m.name).join(', ')}.`,
      );
    process.stdout.write(` Current: ${after.current ?? '(none)'}.\n`);
  });
}
