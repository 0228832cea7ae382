/**
 * `diagnose()`: walk config -> workspace auth -> instance/endpoint state -> credential -> DNS -> TCP -> TLS -> login
 * -> `select 1`, time each step, and stop at the first failure with its cause and the fix. Tokens are redacted
 * everywhere (details pass through `redact`, and no step prints a token).
 */
import pg from 'pg';
import { type LakebaseConfig, resolveConfig } from '../config/resolve.js';
import { type ConnectorOptions, LakebaseConnector } from '../connection/connector.js';
import { databaseErrorCode } from '../connection/database-errors.js';
import { resolveHost } from '../connection/dns.js';
import { isLakebaseError, LakebaseError, type LakebaseErrorCode, redact } from '../errors.js';
import { checkTableAccess, grantCommand } from '../sql/grants.js';
import { monotonicClock } from '../time.js';
import { errorText } from '../workspace/http.js';
import { type LakebaseResource, notReady, readResourceState } from '../workspace/resources.js';
import { checkTcp, checkTls, describeAddress } from './network.js';
import { withStepTimeout } from './step-timeout.js';
import type { DiagnosisReport, DiagnosticStep, DiagnosticStepName } from './steps.js';

export type { DiagnosisReport, DiagnosticStep, DiagnosticStepName } from './steps.js';

export interface DiagnoseOptions extends ConnectorOptions {
  /**
   * Timeout of each step in ms (default 5000): a step still running then fails with `details.reason` timeout and a
   * code for its kind (`LAKEBASE_API_UNREACHABLE` for the workspace steps), and its REST requests are cancelled.
   */
  stepTimeoutMs?: number;
  /** Schema whose tables the connecting role must be able to read and write (default `public`). */
  schema?: string;
}

interface StepOutcome<T> {
  value: T;
  detail: string;
  warning?: { message: string; suggestion: string; code: LakebaseErrorCode };
}

/** The workspace identity, the token's role and the configured user, once known. */
interface Identity {
  workspaceUser: string | undefined;
  tokenRole: string | undefined;
  user: string;
  userSource: string | undefined;
}

class StepFailed extends Error {}

/** Run the checks and return a report; never throws for a broken setup. */
export async function diagnose(options: DiagnoseOptions = {}): Promise<DiagnosisReport> {
  const steps: DiagnosticStep[] = [];
  const timeoutMs = options.stepTimeoutMs ?? 5000;
  let identity: Identity | undefined;
  const step = async <T>(
    name: DiagnosticStepName,
    run: (signal: AbortSignal) => Promise<StepOutcome<T>>,
  ): Promise<T> => {
    const started = monotonicClock.now();
    try {
      const { value, detail, warning } = await withStepTimeout(name, timeoutMs, run);
      const done: DiagnosticStep = { name, ok: true, ms: elapsed(started), detail: redact(detail) };
      if (warning) {
        done.warning = redact(warning.message);
        done.suggestion = warning.suggestion;
        done.code = warning.code;
      }
      steps.push(done);
      return value;
    } catch (error) {
      const failure = classify(name, error, identity);
      steps.push({
        name,
        ok: false,
        ms: elapsed(started),
        detail: redact(failure.message),
        suggestion: failure.suggestion,
        code: failure.code,
      });
      throw new StepFailed();
    }
  };

  let connector: LakebaseConnector | undefined;
  let mode: LakebaseConfig['mode'] | undefined;
  try {
    const config = await step('config', async () => {
      const value = options.config ?? resolveConfig(options, options.env);
      return { value, detail: describeConfig(value) };
    });
    mode = config.mode;
    let workspaceUser: string | undefined;
    connector = await step('auth', async () => {
      const value = new LakebaseConnector({ ...options, config }, { backgroundRefresh: false, maxAttempts: 1 });
      if (!value.auth || !value.api) return { value, detail: 'static mode: no workspace auth needed' };
      const me = await value.api.me();
      workspaceUser = me.userName;
      return {
        value,
        detail: `authenticated to ${value.auth.host} as ${describeIdentity(me.userName)} (${value.auth.authType ?? 'auth'})`,
      };
    });
    const c = connector;
    await step('target', async () => ({ value: undefined, detail: await checkTargetState(c) }));
    const target = await step('credential', async () => {
      const value = await c.target();
      if (!c.credentials) return { value, detail: `static password for ${value.user}` };
      const credential = await c.credentials.getCredential();
      return { value, detail: `database token for ${value.user}, expires ${credential.expiresAt.toISOString()}` };
    });
    await step('identity', async () => {
      const credential = c.credentials ? await c.credentials.getCredential() : undefined;
      const found: Identity = {
        workspaceUser,
        tokenRole: credential?.role,
        user: target.user,
        userSource: c.config.sources.user,
      };
      identity = found;
      return { value: undefined, ...describeRoles(found) };
    });
    const addresses = await step('dns', async () => {
      const value = target.host.startsWith('/') ? [] : await resolveHost(target.host, options.dns);
      return {
        value,
        detail: value.length ? `${target.host} -> ${value.map(describeAddress).join(', ')}` : 'Unix socket',
      };
    });
    await step('tcp', async () => ({ value: undefined, detail: await checkTcp(target, addresses, timeoutMs) }));
    await step('tls', async () => ({
      value: undefined,
      detail: await checkTls(c.config, target, addresses, timeoutMs),
    }));
    const client = await step('login', async (signal) => {
      const config = await c.clientConfig();
      const value = new pg.Client({ ...config, password: config.password, connectionTimeoutMillis: timeoutMs });
      // A login that outlives its step is ended, not left connecting in the background.
      signal.addEventListener('abort', () => void value.end().catch(() => {}), { once: true });
      await value.connect();
      return { value, detail: `logged in as ${target.user} to database ${target.database}` };
    });
    try {
      await step('query', async () => {
        const result = await client.query<{ ok: number }>('select 1 as ok');
        return { value: undefined, detail: `select 1 returned ${result.rows[0]?.ok}` };
      });
      await step('privileges', async () => ({
        value: undefined,
        detail: await checkPrivileges(client, options.schema),
      }));
    } finally {
      await client.end().catch(() => {});
    }
  } catch (error) {
    if (!(error instanceof StepFailed)) throw error;
  } finally {
    await connector?.close();
  }
  return { ok: steps.every((s) => s.ok), mode, steps };
}

/** `jane@example.com (user)` or `<uuid> (service principal client id)`. */
function describeIdentity(userName: string): string {
  return userName.includes('@') ? `${userName} (user)` : `${userName} (service principal client id)`;
}

/** Which identity is in use and which role the token is for; a warning when the configured user is another one. */
function describeRoles(id: Identity): Omit<StepOutcome<undefined>, 'value'> {
  const parts = [
    id.workspaceUser ? `workspace identity ${describeIdentity(id.workspaceUser)}` : undefined,
    id.tokenRole ? `token is for PostgreSQL role ${id.tokenRole}` : 'static password (no token)',
    `connecting as ${id.user}${id.userSource ? ` (from ${id.userSource})` : ' (the token identity)'}`,
  ].filter(Boolean);
  const detail = parts.join('; ');
  if (!id.tokenRole || id.user === id.tokenRole) return { detail };
  const source = id.userSource ?? 'the configured user';
  return {
    detail,
    warning: {
      message:
        `${source}=${id.user} is not the identity the token is for (${id.tokenRole}): the login will fail with ` +
        `\`password authentication failed for user "${id.user}"\` or \`role "${id.user}" does not exist\``,
      suggestion: `Unset ${source} (check .env.local and app.yaml) so the token identity ${id.tokenRole} is used, or set ${source}=${id.tokenRole}.`,
      code: 'LAKEBASE_IDENTITY_MISMATCH',
    },
  };
}

/** The connecting role can read and write every table in the schema, or the step fails naming owners and the fix. */
async function checkPrivileges(client: pg.Client, schema: string | undefined): Promise<string> {
  const report = await checkTableAccess(client, schema === undefined ? {} : { schema });
  const fix = grantCommand(report.role, report.schema);
  if (!report.schemaExists) {
    throw new LakebaseError(
      'LAKEBASE_RESOURCE_NOT_FOUND',
      `Schema '${report.schema}' does not exist in this database.`,
      {
        suggestion: 'Check the schema name (--schema); `lakebase psql -- -c "\\dn"` lists the schemas.',
        details: { schema: report.schema },
      },
    );
  }
  if (!report.schemaUsage) {
    throw new LakebaseError('LAKEBASE_TABLE_ACCESS_DENIED', `${report.role} has no USAGE on schema ${report.schema}.`, {
      suggestion: `As the schema's owner, run \`${fix}\`.`,
    });
  }
  if (report.missing.length === 0) {
    return report.tables === 0
      ? `no tables in schema ${report.schema} yet`
      : `${report.role} can read and write all ${report.tables} tables in schema ${report.schema}`;
  }
  const owners = [...new Set(report.missing.map((m) => m.owner))];
  const list = report.missing
    .slice(0, 5)
    .map((m) => `${m.table} (owner ${m.owner}; no ${m.missing.join(', ')})`)
    .join(', ');
  const more = report.missing.length > 5 ? ` and ${report.missing.length - 5} more` : '';
  throw new LakebaseError(
    'LAKEBASE_TABLE_ACCESS_DENIED',
    `${report.role} cannot read and write ${report.missing.length} of ${report.tables} tables in schema ${report.schema}: ${list}${more}.`,
    {
      suggestion: `As ${owners.join(' or ')} (the owner${owners.length > 1 ? 's' : ''}), run \`${fix}\` (once per owner; safe to repeat).`,
    },
  );
}

function describeConfig(c: LakebaseConfig): string {
  const target =
    c.mode === 'static'
      ? `static URL (${c.sources.url})`
      : c.mode === 'autoscaling'
        ? `endpoint ${c.endpoint} (${c.sources.endpoint})`
        : c.instanceName
          ? `instance ${c.instanceName} (${c.sources.instanceName})`
          : `instance with host ${c.host} (${c.sources.host})`;
  return `${c.mode}: ${target}, database ${c.database}, sslmode ${c.sslMode}`;
}

async function checkTargetState(c: LakebaseConnector): Promise<string> {
  const api = c.api;
  if (!api) return 'static mode: no instance to check';
  const resource: LakebaseResource =
    c.config.mode === 'autoscaling'
      ? { tier: 'autoscaling', endpoint: c.config.endpoint as string, database: undefined, source: 'config' }
      : {
          tier: 'provisioned',
          instanceName: (c.config.instanceName ?? (await c.target()).instanceName) as string,
          database: undefined,
          source: 'config',
        };
  const { label, state, host, ready, blocked } = await readResourceState(api, resource);
  if (blocked) throw blocked;
  if (!ready) {
    throw notReady(
      `${label[0]?.toUpperCase()}${label.slice(1)} is ${state}.`,
      resource.tier === 'provisioned'
        ? 'Wait: a starting instance takes 2-3 minutes after deployment. Check with `databricks database get-database-instance`.'
        : 'Wait for the endpoint to become ACTIVE, then retry.',
    );
  }
  return `${label} is ${state}${state === 'IDLE' ? ' (scaled to zero; wakes on connect)' : ''}, host ${host ?? '?'}`;
}

/** Map a step's error to a code, message and suggestion (PostgreSQL SQLSTATEs included). */
function classify(
  name: DiagnosticStepName,
  error: unknown,
  identity?: Identity,
): { code: LakebaseErrorCode; message: string; suggestion: string } {
  const refusedAs = isLakebaseError(error) ? undefined : databaseErrorCode(error);
  if (
    name === 'login' &&
    (refusedAs === 'LAKEBASE_LOGIN_FAILED' || refusedAs === 'LAKEBASE_ROLE_NOT_FOUND') &&
    identity?.tokenRole &&
    identity.user !== identity.tokenRole
  ) {
    const source = identity.userSource ?? 'the configured user';
    return {
      code: 'LAKEBASE_IDENTITY_MISMATCH',
      message: `Login refused: ${errorText(error)}. ${source}=${identity.user}, but the token is for ${identity.tokenRole}.`,
      suggestion: `Unset ${source} (check .env.local and app.yaml) so the token identity ${identity.tokenRole} is used, or set ${source}=${identity.tokenRole}.`,
    };
  }
  if (isLakebaseError(error)) {
    const inner = error.code === 'LAKEBASE_CREDENTIAL_FAILED' && isLakebaseError(error.cause) ? error.cause : error;
    return { code: inner.code, message: error.message, suggestion: inner.suggestion ?? 'See the error message.' };
  }
  const message = errorText(error);
  const code = databaseErrorCode(error, name === 'query' ? 'query' : 'connect');
  switch (code) {
    case 'LAKEBASE_LOGIN_FAILED':
      return {
        code,
        message: `Login refused: ${message}`,
        suggestion:
          'The token was refused for this role. PGUSER/LAKEBASE_USERNAME must be the identity the token is minted for ' +
          '(your email, or the service principal client id); unset it to use the token identity. For an app, add the ' +
          'database resource so its service principal role exists.',
      };
    case 'LAKEBASE_ROLE_NOT_FOUND':
      return {
        code,
        message: `Role does not exist: ${message}`,
        suggestion:
          'Create a PostgreSQL role for this identity: add the Lakebase resource to the app (the platform creates the ' +
          'service principal role), or `databricks postgres create-role` / grant access in the Lakebase UI.',
      };
    case 'LAKEBASE_DATABASE_NOT_FOUND':
      return { code, message, suggestion: 'Check LAKEBASE_DATABASE / PGDATABASE (default databricks_postgres).' };
    case 'LAKEBASE_INSTANCE_NOT_READY':
      return { code, message, suggestion: 'The instance is starting or stopped; wait or start it, then retry.' };
    case 'LAKEBASE_PERMISSION_DENIED':
      return {
        code,
        message,
        suggestion: 'Grant the role the needed privileges (CONNECT/USAGE), or ask for CAN_USE.',
      };
    default:
      return {
        code,
        message: `${name} failed: ${message}`,
        suggestion: 'See the message; run with a smaller setup (psql) to compare.',
      };
  }
}

function elapsed(started: number): number {
  return Math.round((monotonicClock.now() - started) * 10) / 10;
}
