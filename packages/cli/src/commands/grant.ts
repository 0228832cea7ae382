import { grantAccess, grantToGroup, withClient } from '@lakebase-kit/client';
import { parseRoleName } from '@lakebase-kit/client/toolkit';
import type { Command } from 'commander';
import { commandOptions } from '../context.js';
import { printJson } from '../output.js';

interface GrantFlags {
  to: string;
  schema: string;
  readOnly?: boolean;
  members?: string[];
  createRoles?: boolean;
  json?: boolean;
}

export function registerGrantCommand(program: Command): void {
  program
    .command('grant')
    .description(
      "Give a role (an app's service principal, a colleague, or per-user mode's group role) access to a schema's " +
        'tables and sequences, now and for tables you create later; with --members, make the role a group and add ' +
        'users to it. Idempotent; prints what it did.',
    )
    .requiredOption('--to <role>', "the PostgreSQL role: a user's email, a service principal's client id, or a group")
    .option('--schema <name>', 'the schema', 'public')
    .option('--read-only', 'only SELECT (default: SELECT, INSERT, UPDATE, DELETE and sequence USAGE/UPDATE)')
    .option(
      '--members <roles>',
      'comma-separated users to add to the group role --to (created NOLOGIN if missing)',
      (value: string) =>
        value
          .split(',')
          .map((member) => member.trim())
          .filter(Boolean),
    )
    .option('--create-roles', "with --members: create a missing member's role (databricks_create_role(..., 'USER'))")
    .option('--json', 'print the result as one JSON line')
    .addHelpText(
      'after',
      `
Run it as the owner of the tables (usually whoever ran the migrations). Tables owned by someone else are listed;
that owner runs the same command. \`lakebase doctor\` names the owner and this command when access is missing.

Per-user mode (the app connects as each user; row-level security keeps them to their rows): the users allowed in are
members of one group role that holds the table privileges.

Examples:
  $ lakebase grant --to 6f0c1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b     # the app's service principal
  $ lakebase grant --to jane@example.com --schema app --read-only
  $ lakebase grant --to lakebase_app_users --members ann@example.com,ben@example.com`,
    )
    .action(async (flags: GrantFlags) => {
      // Role names are checked before anything connects (grantAccess checks them again).
      parseRoleName(flags.to, '--to');
      for (const member of flags.members ?? []) parseRoleName(member, '--members');
      await withClient(await commandOptions(), async (client) => {
        if (flags.members) {
          const result = await grantToGroup(client, {
            group: flags.to,
            members: flags.members,
            createMemberRoles: flags.createRoles ?? false,
            schema: flags.schema,
            readOnly: flags.readOnly ?? false,
          });
          if (flags.json) return printJson(result);
          const lines = [
            `${result.createdGroup ? 'Created' : 'Kept'} group role ${result.group}; granted it ${result.grant.readOnly ? 'read-only' : 'read/write'} access on schema ${result.grant.schema} (as ${result.grant.grantor}).`,
            ...result.createdRoles.map((role) => `  created role ${role}`),
            ...result.added.map((member) => `  added ${member}`),
            ...result.alreadyMembers.map((member) => `  ${member} was a member already`),
            ...notGrantedLines(result.grant),
          ];
          process.stdout.write(`${lines.join('\n')}\n`);
          return;
        }
        const result = await grantAccess(client, { to: flags.to, schema: flags.schema, readOnly: flags.readOnly });
        if (flags.json) return printJson(result);
        const lines = [
          `Granted ${result.readOnly ? 'read-only' : 'read/write'} access on schema ${result.schema} to ${result.role} (as ${result.grantor}):`,
          ...result.statements.map((statement) => `  ${statement};`),
          ...notGrantedLines(result),
        ];
        process.stdout.write(`${lines.join('\n')}\n`);
      });
    });
}

function notGrantedLines(result: { role: string; schema: string; notGranted: { table: string; owner: string }[] }) {
  if (result.notGranted.length === 0) return [];
  return [
    `Still not accessible to ${result.role} (owned by another role; its owner must run this command too):`,
    ...result.notGranted.map((t) => `  ${result.schema}.${t.table} (owner ${t.owner})`),
  ];
}
