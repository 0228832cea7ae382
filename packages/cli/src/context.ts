/**
 * What every database command shares: the environment (process env over `.env.local` over `.env`), a quiet logger,
 * progress lines that only appear on a terminal, and the connection settings a child process needs.
 */
import {
  type ConnectorOptions,
  LakebaseApi,
  LakebaseConnector,
  LakebaseError,
  type LakebaseLogger,
  loadEnvFiles,
  resolveWorkspaceConfig,
  WorkspaceAuth,
} from '@lakebase-kit/client';

export type Env = Record<string, string | undefined>;

/** The environment a command runs with; `.env.local` and `.env` never override variables already set. */
export async function commandEnv(cwd = process.cwd()): Promise<Env> {
  return (await loadEnvFiles(cwd, process.env)).env;
}

/** Library warnings (e.g. a failed token refresh) go to stderr as one line each. */
export const stderrLogger: LakebaseLogger = {
  warn: (message) => process.stderr.write(`warning: ${message}\n`),
};

/** CI runners set `CI` (some give jobs a terminal all the same). */
const inCi = Boolean(process.env.CI) && process.env.CI !== 'false';

/** Progress for long waits: shown on a terminal, silent in CI and pipes. */
export function progress(message: string): void {
  if (process.stderr.isTTY && !inCi) process.stderr.write(`${message}\n`);
}

/** A connector for one command: no background refresh (the process is short-lived), warnings on stderr. */
export function connectorFor(env: Env, options: ConnectorOptions = {}): LakebaseConnector {
  return new LakebaseConnector({ env, logger: stderrLogger, ...options }, { backgroundRefresh: false });
}

/** The Databricks REST client for the workspace in `env`, before any Lakebase resource is configured. */
export function workspaceApi(env: Env): LakebaseApi {
  const workspace = resolveWorkspaceConfig({}, env);
  const auth = new WorkspaceAuth(workspace);
  return new LakebaseApi(auth, { workspaceId: workspace.workspaceId });
}

/** libpq environment for a child process: PG* variables with a fresh password and a matching DATABASE_URL. */
export async function libpqEnv(connector: LakebaseConnector): Promise<Record<string, string>> {
  const target = await connector.target();
  const password = connector.credentials ? await connector.credentials.getToken() : connector.config.password;
  // libpq has no `no-verify`: it means "encrypted, not verified", which is libpq's `require`.
  const sslMode = connector.config.sslMode === 'no-verify' ? 'require' : connector.config.sslMode;
  const out: Record<string, string> = {
    PGHOST: target.host,
    PGPORT: String(target.port),
    PGUSER: target.user,
    PGDATABASE: target.database,
    PGSSLMODE: sslMode,
  };
  const query = new URLSearchParams({ sslmode: sslMode });
  if (connector.config.sslRootCert) {
    out.PGSSLROOTCERT = connector.config.sslRootCert;
    query.set('sslrootcert', connector.config.sslRootCert);
  }
  if (password) out.PGPASSWORD = password;
  const credentials = `${encodeURIComponent(target.user)}${password ? `:${encodeURIComponent(password)}` : ''}`;
  const host = target.host.includes(':') ? `[${target.host}]` : target.host;
  out.DATABASE_URL = `postgresql://${credentials}@${host}:${target.port}/${encodeURIComponent(target.database)}?${query}`;
  return out;
}

/** Fails with the step's code and fix when a command needs workspace credentials the config does not have. */
export function requireCredentials(connector: LakebaseConnector): NonNullable<LakebaseConnector['credentials']> {
  if (connector.credentials) return connector.credentials;
  throw new LakebaseError(
    'LAKEBASE_CONFIG_INVALID',
    'Static URL mode (LAKEBASE_PG_URL) has no database token: the password is in the URL.',
    { suggestion: 'Unset LAKEBASE_PG_URL and run `lakebase configure` to use a Lakebase instance or endpoint.' },
  );
}
