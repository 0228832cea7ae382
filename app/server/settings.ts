import path from 'node:path';
import type { TelemetrySettings } from './telemetry.js';

/**
 * Server settings from the environment. This and the client's `resolveConfig` are the only readers of
 * `process.env`; everything else gets plain values.
 */
export interface ServerSettings {
  /** `DATABRICKS_APP_PORT` (Databricks Apps), else `PORT`, else 8000. 0 picks a free port. */
  port: number;
  /**
   * 0.0.0.0 in Databricks Apps (the proxy connects from outside the process' loopback), else 127.0.0.1. Off loopback
   * the app requires the proxy's identity header whatever `production` says (identity.ts).
   */
  host: string;
  /** `NODE_ENV=production` or running in Databricks Apps (`DATABRICKS_APP_NAME`): identity required, no emulator. */
  production: boolean;
  /** `DEV_USER_EMAIL`: who you are locally when no `X-Forwarded-Email` is sent. Default dev@example.com. */
  devUser: string;
  /** `MIGRATE_ON_START=true`: apply `app/migrations` before listening (under the advisory lock). */
  migrateOnStart: boolean;
  /**
   * `LAKEBASE_CONNECT_AS`: `app` (default) runs every query as the app's service principal; `user` runs each
   * request as the signed-in user, with the token the Apps proxy forwards (needs `user_api_scopes: [postgres]`).
   */
  connectAs: 'app' | 'user';
  /** `LOG_LEVEL`, default info. */
  logLevel: string;
  /** OTLP export of the client's metrics and spans (telemetry.ts). */
  telemetry: TelemetrySettings;
  /** The embedded emulator used when no Lakebase is configured outside production. */
  emulator: {
    /** `LAKEBASE_EMULATOR=off` disables it (the app then answers 503 LAKEBASE_NOT_CONFIGURED, as deployed). */
    enabled: boolean;
    /** `LAKEBASE_EMULATOR_DIR`, default `.lakebase/emulator` under the directory `npm start` was run from. */
    dataDir: string;
    /** `LAKEBASE_EMULATOR_TIER`: `autoscaling` (default, like the deploy files) or `provisioned`. */
    tier: 'autoscaling' | 'provisioned';
  };
}

type Env = Record<string, string | undefined>;

export function readServerSettings(env: Env = process.env, cwd: string = process.cwd()): ServerSettings {
  const inApps = Boolean(env.DATABRICKS_APP_PORT);
  const production = env.NODE_ENV === 'production' || Boolean(env.DATABRICKS_APP_NAME);
  // npm runs workspace scripts inside app/; INIT_CWD is where the user typed `npm start` (the repo root).
  const baseDir = env.INIT_CWD || cwd;
  const tier = env.LAKEBASE_EMULATOR_TIER === 'provisioned' ? 'provisioned' : 'autoscaling';
  return {
    port: parsePort(env.DATABRICKS_APP_PORT ?? env.PORT ?? '8000'),
    host: inApps ? '0.0.0.0' : '127.0.0.1',
    production,
    devUser: env.DEV_USER_EMAIL?.trim() || 'dev@example.com',
    migrateOnStart: isTrue(env.MIGRATE_ON_START),
    connectAs: parseConnectAs(env.LAKEBASE_CONNECT_AS),
    logLevel: env.LOG_LEVEL?.trim() || 'info',
    telemetry: {
      otlpEndpoint: env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || undefined,
      serviceName: env.OTEL_SERVICE_NAME?.trim() || 'lakebase-app',
      metricIntervalMs: parseInterval(env.OTEL_METRIC_EXPORT_INTERVAL),
    },
    emulator: {
      enabled: !['off', 'false', '0', 'no'].includes((env.LAKEBASE_EMULATOR ?? '').trim().toLowerCase()),
      dataDir: path.resolve(baseDir, env.LAKEBASE_EMULATOR_DIR || path.join('.lakebase', 'emulator')),
      tier,
    },
  };
}

function parseConnectAs(value: string | undefined): 'app' | 'user' {
  const text = (value ?? '').trim().toLowerCase();
  if (text === '' || text === 'app') return 'app';
  if (text === 'user') return 'user';
  throw new Error(
    `Invalid LAKEBASE_CONNECT_AS '${value}': use 'app' (the service principal) or 'user' (each signed-in user).`,
  );
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`Invalid port '${value}' (DATABRICKS_APP_PORT / PORT): use an integer from 0 to 65535.`);
  }
  return port;
}

function parseInterval(value: string | undefined): number {
  if (value === undefined || value.trim() === '') return 60_000;
  const ms = Number(value);
  if (!Number.isInteger(ms) || ms < 1000 || ms > 300_000) {
    throw new Error(`Invalid OTEL_METRIC_EXPORT_INTERVAL '${value}': use milliseconds from 1000 to 300000.`);
  }
  return ms;
}

function isTrue(value: string | undefined): boolean {
  return ['true', '1', 'yes', 'on'].includes((value ?? '').trim().toLowerCase());
}
