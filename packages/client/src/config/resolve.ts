/**
 * `resolveConfig(options, env)`: explicit options and environment variables in, one typed {@link LakebaseConfig} out.
 * This is the only module that reads environment variables; everything else receives the resolved config.
 * Precedence, per field: explicit option > LAKEBASE_* > PG* / DB_POOL_* > default.
 */
import { homedir } from 'node:os';
import path from 'node:path';
import { LakebaseError, registerSecret } from '../errors.js';
import { MAX_TIMER_DELAY_MS } from '../time.js';
import { selectBranch } from './branch.js';
import { normalizeDatabricksHost } from './databricks-host.js';
import { parseBoolean } from './env-reader.js';
import { invalid } from './invalid.js';
import { INSTANCE_NAME_PATTERN, validateEndpointPath, validateInstanceName } from './names.js';
import {
  settingValue as clean,
  MAX_POOL_CONNECTIONS,
  MAX_RECYCLE_INTERVAL_SECONDS,
  MAX_REFRESH_MARGIN_SECONDS,
  MAX_TIMER_DELAY_SECONDS,
  MIN_TIMEOUT_MS,
  type NumberRange,
  parseNumber,
} from './numbers.js';
import { resolveReadScaling } from './read-scaling.js';
import { parseStaticUrl } from './static-url.js';
import {
  AUTH_TYPES,
  type AuthType,
  type LakebaseConfig,
  type LakebaseOptions,
  type PoolSettings,
  SSL_MODES,
  type SslMode,
  type WorkspaceConfig,
} from './types.js';

export {
  AUTH_TYPES,
  type AuthType,
  type LakebaseConfig,
  type LakebaseMode,
  type LakebaseOptions,
  type PoolSettings,
  SSL_MODES,
  type SslMode,
  type WorkspaceConfig,
} from './types.js';

/** The exact suggestion of `LAKEBASE_NOT_CONFIGURED`. */
export const NOT_CONFIGURED_SUGGESTION =
  'Configure a Lakebase resource in databricks.yml, or set PGHOST and LAKEBASE_DATABASE / LAKEBASE_INSTANCE_NAME / ' +
  'LAKEBASE_ENDPOINT, or LAKEBASE_PG_URL';

export const DEFAULT_DATABASE = 'databricks_postgres';

type Env = Record<string, string | undefined>;

/** A value and the name of the option/variable it came from. */
interface Sourced<T> {
  value: T;
  source: string;
}

/**
 * Resolve explicit options and the environment into a {@link LakebaseConfig}.
 * @throws LakebaseError `LAKEBASE_NOT_CONFIGURED` when no target is set; `LAKEBASE_CONFIG_INVALID` for malformed or
 *   contradictory input.
 */
export function resolveConfig(options: LakebaseOptions = {}, env: Env = process.env): LakebaseConfig {
  const pick = picker(options, env);
  const target = resolveTarget(options, env);
  const sources: Record<string, string> = {};
  const note = <T>(field: string, found: Sourced<T> | undefined): T | undefined => {
    if (found) sources[field] = found.source;
    return found?.value;
  };

  const port = note('port', pick.number('port', ['LAKEBASE_PORT', 'PGPORT'], { min: 1, max: 65535 }));
  const sslMode = note('sslMode', pick.sslMode());
  const sslRootCert = note('sslRootCert', pick.string('sslRootCert', ['PGSSLROOTCERT']));
  const applicationName = note('applicationName', pick.string('applicationName', ['PGAPPNAME']));
  const workspace = resolveWorkspace(env, pick);
  const pool = resolvePool(pick, env);
  const dnsFallback = pick.boolean('dnsFallback', 'LAKEBASE_DNS_FALLBACK')?.value ?? true;
  const marginSeconds =
    pick.number('tokenRefreshMarginSeconds', ['LAKEBASE_TOKEN_REFRESH_MARGIN_SECONDS'], {
      min: 0,
      max: MAX_REFRESH_MARGIN_SECONDS,
    })?.value ?? 300;

  const base = {
    sslRootCert,
    applicationName,
    pool,
    dnsFallback,
    tokenRefreshMarginMs: marginSeconds * 1000,
    readScaling: resolveReadScaling(options, env),
    workspace,
    sources,
  };

  if (target.kind === 'static') {
    sources.url = target.source;
    const parsed = parseStaticUrl(target.value);
    const config: LakebaseConfig = {
      ...base,
      mode: 'static',
      instanceName: undefined,
      endpoint: undefined,
      host: options.host ?? parsed.host ?? 'localhost',
      port: options.port ?? parsed.port ?? 5432,
      database: options.database ?? parsed.database ?? DEFAULT_DATABASE,
      user: options.user ?? parsed.user,
      sslMode: options.sslMode ?? parsed.sslMode ?? sslMode ?? 'disable',
      sslRootCert: options.sslRootCert ?? parsed.sslRootCert ?? sslRootCert,
      applicationName: applicationName ?? parsed.applicationName,
    };
    if (options.sslMode !== undefined) validateSslMode(options.sslMode, 'sslMode');
    if (parsed.password !== undefined) defineSecret(config, 'password', parsed.password);
    return selectBranch(config, options, env, invalid);
  }

  const effectiveSsl = sslMode ?? 'require';
  if (effectiveSsl === 'disable') {
    throw invalid(
      `sslmode=disable (${sources.sslMode}) is not allowed for Lakebase: it only accepts TLS connections.`,
      'Remove PGSSLMODE=disable, or use LAKEBASE_PG_URL (static mode) for a local PostgreSQL without TLS.',
    );
  }
  const database = note(
    'database',
    pick.string('database', ['LAKEBASE_DATABASE_NAME', 'LAKEBASE_DATABASE', 'PGDATABASE']),
  );
  const config: LakebaseConfig = {
    ...base,
    mode: target.kind,
    instanceName: target.kind === 'provisioned' ? note('instanceName', target.instance) : undefined,
    endpoint: target.kind === 'autoscaling' ? note('endpoint', target.endpoint) : undefined,
    host: note('host', pick.string('host', ['LAKEBASE_HOST', 'PGHOST'])),
    port: port ?? 5432,
    database: database ?? DEFAULT_DATABASE,
    user: note('user', pick.string('user', ['LAKEBASE_USERNAME', 'PGUSER'])),
    // allow/prefer cannot be honoured (Lakebase always requires TLS) and are upgraded to require.
    sslMode: effectiveSsl === 'allow' || effectiveSsl === 'prefer' ? 'require' : effectiveSsl,
  };
  return selectBranch(config, options, env, invalid);
}

type Target =
  | { kind: 'static'; value: string; source: string }
  | { kind: 'provisioned'; instance: Sourced<string> | undefined }
  | { kind: 'autoscaling'; endpoint: Sourced<string> };

/** Decide the mode. Options are one precedence level and the environment another; two targets in one level is an error. */
function resolveTarget(options: LakebaseOptions, env: Env): Target {
  const fromOptions = targetsAt(
    { url: options.url, instance: options.instanceName, endpoint: options.endpoint },
    { url: 'option url', instance: 'option instanceName', endpoint: 'option endpoint' },
  );
  const fromEnv = targetsAt(
    {
      url: clean(env.LAKEBASE_PG_URL),
      instance: clean(env.LAKEBASE_INSTANCE_NAME),
      endpoint: clean(env.LAKEBASE_ENDPOINT),
    },
    { url: 'LAKEBASE_PG_URL', instance: 'LAKEBASE_INSTANCE_NAME', endpoint: 'LAKEBASE_ENDPOINT' },
  );
  const chosen = fromOptions.length > 0 ? fromOptions : fromEnv;
  if (chosen.length > 1) {
    throw invalid(
      `Contradictory Lakebase targets: ${chosen.map((t) => t.source).join(' and ')} are both set; set exactly one.`,
      'Keep LAKEBASE_PG_URL for a static database, LAKEBASE_INSTANCE_NAME for Provisioned, or LAKEBASE_ENDPOINT for ' +
        'Autoscaling, and unset the others.',
    );
  }
  const only = chosen[0];
  if (only?.key === 'url') return { kind: 'static', value: only.value, source: only.source };
  if (only?.key === 'instance') {
    if (!/^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(only.value)) {
      throw invalid(
        `Malformed instance name '${only.value}' (${only.source}).`,
        'Use the name shown by `databricks database list-database-instances`.',
      );
    }
    // Instance names are DNS labels (the host is instance-<uid>...): an '_' fails here, not in DNS later.
    if (!INSTANCE_NAME_PATTERN.test(only.value)) validateInstanceName(only.value, only.source);
    return { kind: 'provisioned', instance: { value: only.value, source: only.source } };
  }
  if (only?.key === 'endpoint') {
    validateEndpointPath(only.value, only.source);
    return { kind: 'autoscaling', endpoint: { value: only.value, source: only.source } };
  }
  // No explicit target: a host plus a database (the Databricks Apps Provisioned resource) finds the instance by host.
  const host = options.host ?? clean(env.LAKEBASE_HOST) ?? clean(env.PGHOST);
  const database =
    options.database ?? clean(env.LAKEBASE_DATABASE_NAME) ?? clean(env.LAKEBASE_DATABASE) ?? clean(env.PGDATABASE);
  if (host && database) return { kind: 'provisioned', instance: undefined };
  const missing = [
    'LAKEBASE_PG_URL',
    'LAKEBASE_INSTANCE_NAME',
    'LAKEBASE_ENDPOINT',
    host ? undefined : 'PGHOST (or LAKEBASE_HOST)',
    database ? undefined : 'LAKEBASE_DATABASE (or LAKEBASE_DATABASE_NAME / PGDATABASE)',
  ].filter((name): name is string => name !== undefined);
  throw new LakebaseError(
    'LAKEBASE_NOT_CONFIGURED',
    `Lakebase database is not configured: none of ${missing.join(', ')} is set.`,
    { suggestion: NOT_CONFIGURED_SUGGESTION, details: { missing: missing.join(', ') } },
  );
}

function targetsAt(
  values: { url: string | undefined; instance: string | undefined; endpoint: string | undefined },
  sources: { url: string; instance: string; endpoint: string },
): { key: 'url' | 'instance' | 'endpoint'; value: string; source: string }[] {
  const out: { key: 'url' | 'instance' | 'endpoint'; value: string; source: string }[] = [];
  for (const key of ['url', 'instance', 'endpoint'] as const) {
    const value = values[key]?.trim();
    if (value) out.push({ key, value, source: sources[key] });
  }
  return out;
}

/**
 * Resolve only the Databricks workspace settings (host and auth), for callers that have no Lakebase target yet, e.g.
 * `lakebase configure` listing the workspace's instances.
 * @throws LakebaseError `LAKEBASE_CONFIG_INVALID` for an unsupported `DATABRICKS_AUTH_TYPE`.
 */
export function resolveWorkspaceConfig(options: LakebaseOptions = {}, env: Env = process.env): WorkspaceConfig {
  return resolveWorkspace(env, picker(options, env));
}

/** The directories of `env.PATH`, in order: where executables (the databricks CLI, psql) are looked up. */
export function searchPathOf(env: Env = process.env): string[] {
  return (env.PATH ?? '').split(path.delimiter).filter(Boolean);
}

/**
 * `value` as an {@link AuthType}, from the option, DATABRICKS_AUTH_TYPE or a profile's `auth_type` (`source`).
 * @throws LakebaseError `LAKEBASE_CONFIG_INVALID` for any other value.
 */
export function checkAuthType(value: string, source: string): AuthType {
  if (AUTH_TYPES.includes(value as AuthType)) return value as AuthType;
  throw invalid(
    `Unsupported Databricks auth type '${value}' (${source}).`,
    `Use one of ${AUTH_TYPES.join(', ')}, or unset DATABRICKS_AUTH_TYPE to let the provider chain choose.`,
  );
}

function resolveWorkspace(env: Env, pick: Picker): WorkspaceConfig {
  const hostRaw = pick.string('databricksHost', ['DATABRICKS_HOST']);
  const authType = pick.string('authType', ['DATABRICKS_AUTH_TYPE']);
  const home = clean(env.HOME) ?? clean(env.USERPROFILE) ?? homedir();
  const configFile = pick.string('configFile', ['DATABRICKS_CONFIG_FILE']);
  const workspace: WorkspaceConfig = {
    host: hostRaw === undefined ? undefined : normalizeDatabricksHost(hostRaw.value, hostRaw.source),
    clientId: pick.string('clientId', ['DATABRICKS_CLIENT_ID'])?.value,
    profile: pick.string('profile', ['DATABRICKS_CONFIG_PROFILE'])?.value,
    configFile: expandHome(configFile?.value ?? path.join(home, '.databrickscfg'), home),
    configFileExplicit: configFile !== undefined,
    authType: authType && checkAuthType(authType.value, authType.source),
    cliPath: pick.string('cliPath', ['DATABRICKS_CLI_PATH'])?.value,
    metadataServiceUrl: pick.string('metadataServiceUrl', ['DATABRICKS_METADATA_SERVICE_URL'])?.value,
    workspaceId: pick.string('workspaceId', ['DATABRICKS_WORKSPACE_ID'])?.value,
    searchPath: searchPathOf(env),
  };
  const token = pick.string('token', ['DATABRICKS_TOKEN'])?.value;
  const clientSecret = pick.string('clientSecret', ['DATABRICKS_CLIENT_SECRET'])?.value;
  if (token !== undefined) defineSecret(workspace, 'token', token);
  if (clientSecret !== undefined) defineSecret(workspace, 'clientSecret', clientSecret);
  return workspace;
}

function resolvePool(pick: Picker, env: Env): PoolSettings {
  const size = pick.number('poolSize', ['DB_POOL_SIZE'], { min: 0, max: MAX_POOL_CONNECTIONS })?.value ?? 5;
  const maxOverflow =
    pick.number('maxOverflow', ['DB_MAX_OVERFLOW'], { min: 0, max: MAX_POOL_CONNECTIONS })?.value ?? 10;
  if (size + maxOverflow < 1) {
    throw invalid(
      'DB_POOL_SIZE + DB_MAX_OVERFLOW must allow at least one connection.',
      'Set DB_POOL_SIZE to 1 or more.',
    );
  }
  const recycle =
    pick.number('recycleIntervalSeconds', ['DB_POOL_RECYCLE_INTERVAL'], {
      min: -1,
      max: MAX_RECYCLE_INTERVAL_SECONDS,
    })?.value ?? 3600;
  // pg reads 0 as "no limit" for both: a wait without a bound, or idle connections never closed.
  const idle = pick.number('idleTimeoutMillis', [], { min: MIN_TIMEOUT_MS, max: MAX_TIMER_DELAY_MS })?.value ?? 10_000;
  const timeoutOption = pick.number('connectionTimeoutMillis', [], {
    min: MIN_TIMEOUT_MS,
    max: MAX_TIMER_DELAY_MS,
  })?.value;
  const timeoutEnv = clean(env.PGCONNECT_TIMEOUT);
  // libpq's connect_timeout is whole seconds, and its 0 means wait forever: here the least is 1 s.
  const timeoutSeconds =
    timeoutEnv === undefined
      ? undefined
      : parseNumber(timeoutEnv, 'PGCONNECT_TIMEOUT', { min: 1, max: MAX_TIMER_DELAY_SECONDS });
  return {
    size,
    maxOverflow,
    max: size + maxOverflow,
    recycleIntervalSeconds: Math.max(recycle, 0),
    idleTimeoutMillis: idle,
    connectionTimeoutMillis: timeoutOption ?? (timeoutSeconds === undefined ? 30_000 : timeoutSeconds * 1000),
  };
}

// ---------------------------------------------------------------------------------------------------------------------
// Helpers

interface Picker {
  string(option: keyof LakebaseOptions, envNames: string[]): Sourced<string> | undefined;
  number(option: keyof LakebaseOptions, envNames: string[], range: NumberRange): Sourced<number> | undefined;
  boolean(option: keyof LakebaseOptions, envName: string): Sourced<boolean> | undefined;
  sslMode(): Sourced<SslMode> | undefined;
}

/** Reads a field from the option first, then from the first set environment variable. */
function picker(options: LakebaseOptions, env: Env): Picker {
  const raw = (option: keyof LakebaseOptions, envNames: string[]): Sourced<unknown> | undefined => {
    const value = options[option];
    if (value !== undefined && value !== '') return { value, source: `option ${option}` };
    for (const name of envNames) {
      const fromEnv = clean(env[name]);
      if (fromEnv !== undefined) return { value: fromEnv, source: name };
    }
    return undefined;
  };
  return {
    string(option, envNames) {
      const found = raw(option, envNames);
      return found ? { value: String(found.value).trim(), source: found.source } : undefined;
    },
    number(option, envNames, range) {
      const found = raw(option, envNames);
      return found ? { value: parseNumber(found.value, found.source, range), source: found.source } : undefined;
    },
    boolean(option, envName) {
      const found = raw(option, [envName]);
      if (!found) return undefined;
      return { value: parseBoolean(found.value, found.source), source: found.source };
    },
    sslMode() {
      const found = raw('sslMode', ['PGSSLMODE']);
      return found ? { value: validateSslMode(String(found.value), found.source), source: found.source } : undefined;
    },
  };
}

function validateSslMode(value: string, source: string): SslMode {
  const mode = value.trim().toLowerCase() as SslMode;
  if (!SSL_MODES.includes(mode)) {
    throw invalid(`Unknown sslmode '${value}' (${source}).`, `Use one of ${SSL_MODES.join(', ')}.`);
  }
  return mode;
}

/** Store a secret as a non-enumerable property (so it never appears in JSON or `console.log`) and register it. */
export function defineSecret<T extends object>(target: T, key: string, value: string): void {
  registerSecret(value);
  Object.defineProperty(target, key, { value, enumerable: false, writable: false, configurable: true });
}

function expandHome(file: string, home: string): string {
  return file === '~' || file.startsWith('~/') ? path.join(home, file.slice(1)) : file;
}
