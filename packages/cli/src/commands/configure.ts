import path from 'node:path';
import { createInterface } from 'node:readline/promises';
import { diagnose, isLakebaseError, LakebaseBranches, LakebaseError, resolveConfig } from '@lakebase-kit/client';
import {
  ambiguous,
  branchReadWriteEndpoint,
  describeResource,
  ensureGitignored,
  envReader,
  type LakebaseResource,
  listWorkspaceResources,
  parseBranchId,
  parseNumber,
  readBundleResources,
  resolveBundleResources,
  updateEnvFile,
  validateEndpointPath,
  validateInstanceName,
  waitUntilReady,
} from '@lakebase-kit/client/toolkit';
import type { Command } from 'commander';
import { commandEnv, type Env, progress, workspaceApi } from '../context.js';
import { integerIn } from '../options.js';
import { printJson } from '../output.js';
import { printSteps, stepFailure } from './doctor.js';

interface ConfigureFlags {
  instance?: string;
  endpoint?: string;
  target?: string;
  database?: string;
  port?: number;
  yes?: boolean;
  checkOnly?: boolean;
  wait: number;
  json?: boolean;
  branch?: string;
  create?: boolean;
}

/** Keys `configure` owns in `.env.local`; `undefined` removes a key that would contradict the new target. */
type EnvValues = Record<string, string | undefined>;

export function registerConfigureCommand(program: Command): void {
  program
    .command('configure')
    .description(
      'Find your Lakebase instance or endpoint, check that a login works, and write the connection settings to ' +
        '.env.local (never a token).',
    )
    .option('--instance <name>', 'Provisioned database instance name')
    .option('--endpoint <path>', 'Autoscaling endpoint: projects/<p>/branches/<b>/endpoints/<e>')
    .option('--target <name>', 'databricks.yml target to read (default: the one marked default)')
    .option('--database <name>', 'PostgreSQL database (default: from databricks.yml, else databricks_postgres)')
    .option('--port <n>', 'port to write (default: LAKEBASE_PORT / PGPORT, else 5432)', integerIn(1, 65535))
    .option('-y, --yes', 'do not ask for confirmation')
    .option('--check-only', 'report what is configured and whether it works; write nothing')
    .option('--wait <seconds>', 'how long to wait for a starting instance', integerIn(0, 3600), 600)
    .option('--json', 'print the result as one JSON line')
    .option('--branch <name>', "use this branch of the endpoint's project (e.g. dev-$USER)")
    .option('--create', 'with --branch: create the branch from the default branch if it does not exist')
    .addHelpText(
      'after',
      `
Finds the resource from the flags; else from LAKEBASE_INSTANCE_NAME / LAKEBASE_ENDPOINT in the environment or
.env.local (as \`lakebase emulator\` prints them; not with --target); else from databricks.yml (database_instances /
postgres resources of the target); else lists the workspace's instances and projects (asks on a terminal; fails naming
the choices otherwise). With --check-only, --instance / --endpoint check that resource instead of the configured one.

Examples:
  $ lakebase configure                                  # from databricks.yml or the workspace
  $ lakebase configure --instance my-app-lakebase-dev --database app_database
  $ lakebase configure --endpoint projects/my-app/branches/production/endpoints/primary --yes
  $ lakebase configure --check-only                     # exit 1 when nothing is configured or it does not work
  $ lakebase configure --check-only --instance my-app-lakebase-dev   # check that one, write nothing
  $ lakebase configure --branch dev-$USER --create      # your own branch of the project, made if missing`,
    )
    .action(async (flags: ConfigureFlags) => {
      const env = await commandEnv();
      if (flags.checkOnly) return checkOnly(env, flags);
      return configure(env, flags);
    });
}

async function checkOnly(configured: Env, flags: ConfigureFlags): Promise<void> {
  const env = withValues(configured, chosenTarget(flags));
  const config = resolveConfig({}, env); // throws LAKEBASE_NOT_CONFIGURED when nothing is set
  const report = await diagnose({ config, env });
  const failed = report.steps.find((s) => !s.ok);
  const target =
    config.mode === 'autoscaling'
      ? `endpoint ${config.endpoint}`
      : config.mode === 'static'
        ? 'static URL (LAKEBASE_PG_URL)'
        : `instance ${config.instanceName ?? `with host ${config.host}`}`;
  if (flags.json) {
    printJson({
      configured: true,
      works: report.ok,
      mode: config.mode,
      instanceName: config.instanceName,
      endpoint: config.endpoint,
      host: config.host,
      port: config.port,
      database: config.database,
      sources: config.sources,
      failedStep: failed?.name,
      code: failed?.code,
    });
  } else {
    process.stdout.write(`Configured: ${config.mode} ${target}, database ${config.database}\n`);
    for (const [field, source] of Object.entries(config.sources)) process.stdout.write(`  ${field} from ${source}\n`);
    printSteps(report);
  }
  if (failed) throw stepFailure(failed);
}

/**
 * What `--instance` / `--endpoint` (and `--database`, `--port`) put in place of the configured target for
 * `--check-only`: the named resource, its host looked up rather than taken from an older setting. Nothing when
 * neither flag is given. Bad names fail before any request, with the likely intended name.
 */
function chosenTarget(flags: ConfigureFlags): EnvValues {
  checkTargetFlags(flags);
  if (!flags.instance && !flags.endpoint) return {};
  return {
    LAKEBASE_INSTANCE_NAME: flags.instance,
    LAKEBASE_ENDPOINT: flags.endpoint,
    LAKEBASE_PG_URL: undefined,
    LAKEBASE_HOST: undefined,
    PGHOST: undefined,
    ...(flags.database ? { LAKEBASE_DATABASE: flags.database } : {}),
    ...(flags.port ? { LAKEBASE_PORT: String(flags.port) } : {}),
  };
}

/** `--instance` and `--endpoint` exclude each other, and a malformed name fails before any request. */
function checkTargetFlags(flags: ConfigureFlags): void {
  if (flags.instance && flags.endpoint) {
    throw new LakebaseError('LAKEBASE_CONFIG_INVALID', '--instance and --endpoint are both given.', {
      suggestion: 'Pass --instance for a Provisioned instance or --endpoint for an Autoscaling endpoint, not both.',
    });
  }
  if (flags.instance) validateInstanceName(flags.instance);
  if (flags.endpoint) validateEndpointPath(flags.endpoint);
  if (flags.branch !== undefined) parseBranchId(flags.branch, '--branch');
}

async function configure(env: Env, flags: ConfigureFlags): Promise<void> {
  checkTargetFlags(flags);
  const api = workspaceApi(env);
  let resource = await findResource(api, flags, env);
  if (flags.branch) resource = await onBranch(env, resource, flags.branch, flags.create === true);
  else if (flags.create) {
    throw new LakebaseError('LAKEBASE_USAGE_ERROR', '--create needs --branch.', {
      suggestion: 'For example: lakebase configure --branch dev-$USER --create',
    });
  }

  progress(`Using ${describeResource(resource)}; checking that it is running...`);
  const ready = await waitUntilReady(api, resource, {
    timeoutMs: flags.wait * 1000,
    onWaiting: (state, ms) => progress(`  ${state}, waiting (${Math.round(ms / 1000)} s)...`),
  });
  const database = flags.database ?? resource.database ?? 'databricks_postgres';
  const read = envReader(env);
  const port = String(flags.port ?? read.number('LAKEBASE_PORT', PORTS) ?? read.number('PGPORT', PORTS) ?? 5432);
  const values: EnvValues = {
    PGHOST: ready.host,
    LAKEBASE_HOST: ready.host,
    LAKEBASE_PORT: port,
    LAKEBASE_DATABASE: database,
    LAKEBASE_INSTANCE_NAME: ready.tier === 'provisioned' ? ready.instanceName : undefined,
    LAKEBASE_ENDPOINT: ready.tier === 'autoscaling' ? ready.endpoint : undefined,
    LAKEBASE_PG_URL: undefined,
    // The endpoint written is the branch's own; a branch selection left from before would move it elsewhere.
    LAKEBASE_BRANCH: undefined,
  };

  progress('Verifying a login...');
  const report = await diagnose({ env: withValues(env, values) });
  const failed = report.steps.find((s) => !s.ok);
  if (failed) {
    if (!flags.json) printSteps(report);
    throw stepFailure(failed, 'nothing was written');
  }

  const file = path.resolve('.env.local');
  if (!(await confirm(flags, `Write ${Object.keys(written(values)).length} settings to ${file}?`))) {
    throw new LakebaseError('LAKEBASE_CONFIG_INVALID', 'Cancelled; nothing was written.', {
      suggestion: 'Run again and answer y, or pass --yes.',
    });
  }
  const { created } = await updateEnvFile(file, values, '# Lakebase (written by `lakebase configure`)');
  const gitignoreUpdated = await ensureGitignored(path.dirname(file));
  if (flags.json) {
    printJson({ file, created, gitignoreUpdated, tier: ready.tier, source: ready.source, settings: written(values) });
    return;
  }
  const lines = [
    `${created ? 'Created' : 'Updated'} ${file} for ${describeResource(ready)}:`,
    ...Object.entries(written(values)).map(([key, value]) => `  ${key}=${value}`),
    ...(gitignoreUpdated ? ['Added .env.local to .gitignore.'] : []),
    'Login verified. Next: `lakebase migrate up`, `lakebase psql`, `lakebase doctor`.',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

/**
 * The read-write endpoint of `branch` in the project of `resource` (an Autoscaling endpoint); with `create`, the
 * branch is created from the project's default branch when it does not exist (and its endpoint waited for).
 */
async function onBranch(
  env: Env,
  resource: LakebaseResource,
  branch: string,
  create: boolean,
): Promise<LakebaseResource> {
  if (resource.tier !== 'autoscaling') {
    throw new LakebaseError(
      'LAKEBASE_CONFIG_INVALID',
      `--branch needs an Autoscaling project, but ${describeResource(resource)} is a Provisioned instance.`,
      {
        suggestion:
          'Pass --endpoint projects/<project>/branches/production/endpoints/primary (or set LAKEBASE_ENDPOINT) with --branch.',
      },
    );
  }
  const branches = new LakebaseBranches({
    env: {
      ...withValues(env, { LAKEBASE_INSTANCE_NAME: undefined, LAKEBASE_PG_URL: undefined }),
      LAKEBASE_ENDPOINT: resource.endpoint,
    },
  });
  let endpoint: string | undefined;
  if (create) {
    try {
      await branches.get(branch);
    } catch (error) {
      if (!isLakebaseError(error, 'LAKEBASE_RESOURCE_NOT_FOUND')) throw error;
      progress(`Creating branch ${branch} from the default branch...`);
      const created = await branches.create(branch, {
        wait: { onProgress: ({ elapsedMs }) => progress(`  waiting (${Math.round(elapsedMs / 1000)} s)...`) },
      });
      endpoint = created.endpoint;
    }
  }
  endpoint ??= await branchReadWriteEndpoint(branches.api, branches.name(branch, '--branch'));
  return { tier: 'autoscaling', endpoint, database: resource.database, source: `--branch ${branch}` };
}

/**
 * Flags first; then LAKEBASE_INSTANCE_NAME / LAKEBASE_ENDPOINT from the environment or .env.local (as the emulator
 * prints them, or a previous configure wrote them), unless `--target` asks for databricks.yml; then databricks.yml;
 * then the workspace's list. Several candidates: ask, or fail naming them.
 */
async function findResource(
  api: ReturnType<typeof workspaceApi>,
  flags: ConfigureFlags,
  env: Env,
): Promise<LakebaseResource> {
  if (flags.instance) {
    return { tier: 'provisioned', instanceName: flags.instance, database: flags.database, source: '--instance' };
  }
  if (flags.endpoint) {
    return { tier: 'autoscaling', endpoint: flags.endpoint, database: flags.database, source: '--endpoint' };
  }
  const known = flags.target ? undefined : resourceFromEnv(env, flags.database);
  if (known) return known;
  const bundle = await readBundleResources(process.cwd(), flags.target);
  if (bundle && bundle.resources.length > 0) {
    for (const found of bundle.resources) {
      if (found.tier === 'provisioned') validateInstanceName(found.instanceName, path.basename(bundle.file));
    }
    return choose(await resolveBundleResources(api, bundle.resources), path.basename(bundle.file));
  }
  if (bundle?.unresolved.length) {
    progress(`${path.basename(bundle.file)} uses ${bundle.unresolved.join(', ')}, which cannot be resolved locally.`);
  }
  progress(`Listing the Lakebase resources of ${api.host}...`);
  const listed = await listWorkspaceResources(api);
  if (listed.length === 0) {
    throw new LakebaseError('LAKEBASE_RESOURCE_NOT_FOUND', `No Lakebase instance or project exists in ${api.host}.`, {
      suggestion: 'Deploy your bundle first (`databricks bundle deploy --target dev`), or check DATABRICKS_HOST.',
    });
  }
  return choose(listed, 'the workspace');
}

/** The resource LAKEBASE_INSTANCE_NAME or LAKEBASE_ENDPOINT names, validated; undefined when neither is set. */
function resourceFromEnv(env: Env, database: string | undefined): LakebaseResource | undefined {
  const read = envReader(env);
  const instanceName = read.text('LAKEBASE_INSTANCE_NAME');
  const endpoint = read.text('LAKEBASE_ENDPOINT');
  if (instanceName && endpoint) {
    throw new LakebaseError('LAKEBASE_CONFIG_INVALID', 'LAKEBASE_INSTANCE_NAME and LAKEBASE_ENDPOINT are both set.', {
      suggestion: 'Keep one of them (environment or .env.local), or choose with --instance / --endpoint.',
    });
  }
  const configuredDatabase = database ?? read.text('LAKEBASE_DATABASE');
  if (instanceName) {
    validateInstanceName(instanceName, 'LAKEBASE_INSTANCE_NAME');
    return { tier: 'provisioned', instanceName, database: configuredDatabase, source: 'LAKEBASE_INSTANCE_NAME' };
  }
  if (endpoint) {
    validateEndpointPath(endpoint, 'LAKEBASE_ENDPOINT');
    return { tier: 'autoscaling', endpoint, database: configuredDatabase, source: 'LAKEBASE_ENDPOINT' };
  }
  return undefined;
}

/** A PostgreSQL port; 0 is no port to connect to. */
const PORTS = { min: 1, max: 65535 };

async function choose(choices: LakebaseResource[], where: string): Promise<LakebaseResource> {
  if (choices.length === 1) return choices[0] as LakebaseResource;
  if (!process.stdin.isTTY || !process.stdout.isTTY) throw ambiguous(choices, where);
  const lines = choices.map((c, i) => `  ${i + 1}) ${describeResource(c)}`);
  process.stdout.write(`Lakebase resources in ${where}:\n${lines.join('\n')}\n`);
  const answer = await ask(`Which one? [1-${choices.length}] `);
  // The one number parser: `0x1`, `1e0` or ` +1` is not item 1, and anything outside 1..n is no choice.
  const picked = menuChoice(answer, choices.length);
  if (picked === undefined) throw ambiguous(choices, where);
  return choices[picked - 1] as LakebaseResource;
}

/** The item number typed at a menu of `count`, or undefined for anything that is not one of 1..count. */
export function menuChoice(answer: string, count: number): number | undefined {
  try {
    return parseNumber(answer, 'the answer', { min: 1, max: count });
  } catch (error) {
    if (isLakebaseError(error, 'LAKEBASE_CONFIG_INVALID')) return undefined;
    throw error;
  }
}

async function confirm(flags: ConfigureFlags, question: string): Promise<boolean> {
  if (flags.yes || !process.stdin.isTTY || !process.stdout.isTTY) return true;
  return /^(y|yes|)$/i.test(await ask(`${question} [Y/n] `));
}

async function ask(question: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    return (await rl.question(question)).trim();
  } finally {
    rl.close();
  }
}

/** The environment with the new settings in place of any old target (so the login check tests what is written). */
function withValues(env: Env, values: EnvValues): Env {
  const out: Env = { ...env };
  for (const [key, value] of Object.entries(values)) {
    if (value === undefined) delete out[key];
    else out[key] = value;
  }
  return out;
}

function written(values: EnvValues): Record<string, string> {
  return Object.fromEntries(
    Object.entries(values).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
}
