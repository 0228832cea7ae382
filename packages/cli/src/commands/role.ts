import path from 'node:path';
import { type CreatedRole, LakebaseError, LakebaseRoles, type RoleIdentity, type RoleInfo } from '@lakebase-kit/client';
import { updateEnvFile } from '@lakebase-kit/client/toolkit';
import { type Command, Option } from 'commander';
import { commandOptions } from '../context.js';
import { printJson } from '../output.js';

interface CreateFlags {
  password?: boolean;
  login?: boolean;
  identity?: RoleIdentity;
  superuser?: boolean;
  writeEnv?: boolean;
  json?: boolean;
}

/** The targets a LAKEBASE_PG_URL written by --write-env replaces in .env.local (two targets would conflict). */
const REPLACED_TARGETS = ['LAKEBASE_ENDPOINT', 'LAKEBASE_INSTANCE_NAME', 'LAKEBASE_BRANCH'] as const;

export function registerRoleCommand(program: Command): void {
  const role = program
    .command('role')
    .description(
      "PostgreSQL roles of the configured endpoint's branch (Autoscaling): a workspace identity's (OAuth tokens), " +
        'a native password role (SCRAM), or a role that cannot log in.',
    )
    .addHelpText(
      'after',
      `
Examples:
  $ lakebase role list
  $ lakebase role create jane@example.com --identity user
  $ lakebase role create reporting --password --json
  $ lakebase role create legacy_app --password --write-env
  $ lakebase role create readers --no-login
  $ lakebase role delete reporting`,
    );

  role
    .command('list')
    .description('List the roles with their identity type and how they log in.')
    .option('--json', 'print [{role, identityType, authMethod, membershipRoles}] as one JSON line')
    .action(async (flags: { json?: boolean }) => {
      const roles = await (await open()).list();
      if (flags.json) return printJson(roles.map(summary));
      for (const r of roles) {
        process.stdout.write(`${r.role.padEnd(40)} ${r.identityType.padEnd(18)} ${r.authMethod}\n`);
      }
    });

  role
    .command('create')
    .argument('<name>', 'the PostgreSQL role name: an email, a service principal application id, a group, or any name')
    .description('Create a role. With --password the generated password is shown once (or written with --write-env).')
    .option('--password', 'a native password role (SCRAM-SHA-256): a password is generated and shown once')
    .option('--no-login', 'a role that cannot log in (grant it privileges, then grant it to others)')
    .addOption(
      new Option('--identity <type>', "a workspace identity's role, logging in with OAuth tokens").choices([
        'user',
        'group',
        'service-principal',
      ]),
    )
    .option('--superuser', 'also a member of databricks_superuser')
    .option('--write-env', 'with --password: write LAKEBASE_PG_URL for the role to .env.local (mode 0600), not stdout')
    .option('--json', 'print {"role", "authMethod", "password"?} as one JSON line')
    .action(async (name: string, flags: CreateFlags) => {
      const noLogin = flags.login === false;
      if (flags.password && (flags.identity || noLogin)) {
        throw usage('--password makes a native password role: it takes neither --identity nor --no-login.');
      }
      if (!flags.password && !flags.identity && !noLogin) {
        throw usage('Say which kind of role: --password, --no-login, or --identity user|group|service-principal.');
      }
      if (flags.writeEnv && !flags.password) throw usage('--write-env writes a password: it needs --password.');
      const created = await (await open()).create(name, {
        ...(flags.identity ? { identity: flags.identity } : {}),
        ...(noLogin ? { noLogin: true } : {}),
        ...(flags.superuser ? { superuser: true } : {}),
      });
      if (flags.writeEnv) await writeEnv(created, flags.json === true);
      if (flags.json) {
        return printJson({
          role: created.role.role,
          authMethod: created.authMethod,
          ...(created.password && !flags.writeEnv ? { password: created.password } : {}),
        });
      }
      process.stdout.write(`Created role ${created.role.role} (${created.authMethod}).\n`);
      if (created.password && !flags.writeEnv) {
        process.stdout.write(`password: ${created.password}\n(shown once: store it now)\nurl: ${created.url}\n`);
      }
    });

  role
    .command('delete')
    .argument('<name>', 'the PostgreSQL role name')
    .description('Delete a role: it can no longer log in.')
    .option('--json', 'print {deleted} as one JSON line')
    .action(async (name: string, flags: { json?: boolean }) => {
      await (await open()).delete(name);
      if (flags.json) printJson({ deleted: name });
      else process.stdout.write(`Deleted role ${name}.\n`);
    });
}

async function open(): Promise<LakebaseRoles> {
  return new LakebaseRoles(await commandOptions());
}

/** LAKEBASE_PG_URL for the new role in .env.local, replacing the target it was made through (kept in a comment). */
async function writeEnv(created: CreatedRole, quiet: boolean): Promise<void> {
  const file = path.join(process.cwd(), '.env.local');
  const values: Record<string, string | undefined> = { LAKEBASE_PG_URL: created.url as string };
  for (const key of REPLACED_TARGETS) values[key] = undefined;
  await updateEnvFile(
    file,
    values,
    `# Lakebase native password role ${created.role.role} (lakebase role create --write-env)`,
  );
  if (quiet) return; // --json: the one JSON line is the whole output
  process.stdout.write(
    `Wrote LAKEBASE_PG_URL for ${created.role.role} to .env.local (mode 0600); it replaces ${REPLACED_TARGETS.join(', ')} there. ` +
      'Run `lakebase configure` to go back to OAuth tokens.\n',
  );
}

function summary(r: RoleInfo) {
  return { role: r.role, identityType: r.identityType, authMethod: r.authMethod, membershipRoles: r.membershipRoles };
}

function usage(message: string): LakebaseError {
  return new LakebaseError('LAKEBASE_USAGE_ERROR', message, { suggestion: 'Run `lakebase role create --help`.' });
}
