/**
 * The shapes of configuration: the explicit options `resolveConfig` accepts and the resolved config it returns.
 */

import type { ReadScalingOptions, ReadScalingSettings } from './read-scaling.js';

/** Which kind of Lakebase (or plain PostgreSQL) the config points at. */
export type LakebaseMode = 'provisioned' | 'autoscaling' | 'static';

/** libpq `sslmode` values, plus pg's `no-verify` (encrypted, certificate not checked). */
export type SslMode = 'disable' | 'allow' | 'prefer' | 'require' | 'verify-ca' | 'verify-full' | 'no-verify';
export const SSL_MODES: readonly SslMode[] = [
  'disable',
  'allow',
  'prefer',
  'require',
  'verify-ca',
  'verify-full',
  'no-verify',
];

/** Workspace auth providers we implement, by their Databricks `auth_type` names. */
export type AuthType = 'pat' | 'oauth-m2m' | 'databricks-cli' | 'metadata-service';
export const AUTH_TYPES: readonly AuthType[] = ['pat', 'oauth-m2m', 'databricks-cli', 'metadata-service'];

/** Explicit options. Every field is optional; each overrides the environment variable(s) named in its doc. */
export interface LakebaseOptions extends ReadScalingOptions {
  /** Static PostgreSQL URL (`LAKEBASE_PG_URL`): `postgresql://user:password@host:5432/db?sslmode=…`. */
  url?: string;
  /** Provisioned instance name (`LAKEBASE_INSTANCE_NAME`). */
  instanceName?: string;
  /** Autoscaling endpoint path `projects/p/branches/b/endpoints/e` (`LAKEBASE_ENDPOINT`). */
  endpoint?: string;
  /**
   * Branch of the endpoint's project to use instead (`LAKEBASE_BRANCH`): the endpoint becomes that branch's read-write
   * endpoint and the host follows it.
   */
  branch?: string;
  /** Database host (`LAKEBASE_HOST`, `PGHOST`); looked up from the instance/endpoint when unset. */
  host?: string;
  /** Port (`LAKEBASE_PORT`, `PGPORT`), default 5432. */
  port?: number;
  /** Database (`LAKEBASE_DATABASE_NAME`, `LAKEBASE_DATABASE`, `PGDATABASE`), default `databricks_postgres`. */
  database?: string;
  /** PostgreSQL role (`LAKEBASE_USERNAME`, `PGUSER`); default: the token's `sub`, else SCIM `Me` userName. */
  user?: string;
  /** TLS mode (`PGSSLMODE`), default `require`. See the README for what each mode means for Lakebase. */
  sslMode?: SslMode;
  /** PEM file with the CA(s) to trust (`PGSSLROOTCERT`). */
  sslRootCert?: string;
  /** `application_name` reported to the server (`PGAPPNAME`). */
  applicationName?: string;
  /** Steady pool size (`DB_POOL_SIZE`, default 5). */
  poolSize?: number;
  /** Extra connections allowed above `poolSize` (`DB_MAX_OVERFLOW`, default 10). */
  maxOverflow?: number;
  /** Connection max lifetime in seconds, jittered (`DB_POOL_RECYCLE_INTERVAL`, default 3600; 0 or -1 = off). */
  recycleIntervalSeconds?: number;
  /** Close idle connections above `poolSize` after this many ms (default 10000). */
  idleTimeoutMillis?: number;
  /** Connect timeout in ms (`PGCONNECT_TIMEOUT` in seconds), default 30000. */
  connectionTimeoutMillis?: number;
  /** Fall back to direct DNS queries when the system resolver fails (`LAKEBASE_DNS_FALLBACK`, default true). */
  dnsFallback?: boolean;
  /** Refresh the database token this long before expiry at most (`LAKEBASE_TOKEN_REFRESH_MARGIN_SECONDS`, 300). */
  tokenRefreshMarginSeconds?: number;
  /** Workspace URL (`DATABRICKS_HOST`). */
  databricksHost?: string;
  /** Personal access token (`DATABRICKS_TOKEN`). */
  token?: string;
  /** OAuth M2M client id (`DATABRICKS_CLIENT_ID`). */
  clientId?: string;
  /** OAuth M2M client secret (`DATABRICKS_CLIENT_SECRET`). */
  clientSecret?: string;
  /** `~/.databrickscfg` profile (`DATABRICKS_CONFIG_PROFILE`). */
  profile?: string;
  /** Config file path (`DATABRICKS_CONFIG_FILE`), default `~/.databrickscfg`. */
  configFile?: string;
  /** Force one auth provider (`DATABRICKS_AUTH_TYPE`). */
  authType?: AuthType;
  /** Path of the `databricks` CLI (`DATABRICKS_CLI_PATH`), default: found on `PATH`. */
  cliPath?: string;
  /** Metadata service URL (`DATABRICKS_METADATA_SERVICE_URL`). */
  metadataServiceUrl?: string;
  /** Workspace id, sent as `X-Databricks-Workspace-Id` (`DATABRICKS_WORKSPACE_ID`). */
  workspaceId?: string;
}

/** Where workspace auth comes from. Secret fields are non-enumerable: they never show in logs or JSON. */
export interface WorkspaceConfig {
  host: string | undefined;
  token?: string;
  clientId: string | undefined;
  clientSecret?: string;
  profile: string | undefined;
  configFile: string;
  /** True when the config file path was given explicitly (a missing file is then an error). */
  configFileExplicit: boolean;
  authType: AuthType | undefined;
  cliPath: string | undefined;
  metadataServiceUrl: string | undefined;
  workspaceId: string | undefined;
  /** Directories searched for the `databricks` executable (from `PATH`). */
  searchPath: string[];
}

export interface PoolSettings {
  size: number;
  maxOverflow: number;
  /** `size + maxOverflow`: the pg `max`. */
  max: number;
  /** 0 = no recycling. */
  recycleIntervalSeconds: number;
  idleTimeoutMillis: number;
  connectionTimeoutMillis: number;
}

/** The resolved configuration. `password` (static mode) is non-enumerable. */
export interface LakebaseConfig {
  mode: LakebaseMode;
  instanceName: string | undefined;
  endpoint: string | undefined;
  /** Set when a branch was selected (`LAKEBASE_BRANCH`): the connector resolves that branch's read-write endpoint. */
  branch?: string;
  host: string | undefined;
  port: number;
  database: string;
  user: string | undefined;
  password?: string;
  sslMode: SslMode;
  sslRootCert: string | undefined;
  applicationName: string | undefined;
  pool: PoolSettings;
  dnsFallback: boolean;
  tokenRefreshMarginMs: number;
  workspace: WorkspaceConfig;
  /** The read pool's host and fallback, and the pooled host (config/read-scaling.ts). */
  readScaling: ReadScalingSettings;
  /** Which option or variable each target field came from, e.g. `{ host: 'PGHOST' }`. For diagnostics. */
  sources: Record<string, string>;
}
