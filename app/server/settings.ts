import path from 'node:path';
import { loadEnvFiles } from '@lakebase-kit/client';
import { envReader, settingValue } from '@lakebase-kit/client/toolkit';
import type { TelemetrySettings } from './telemetry.js';

/**
 * Server settings from the environment. This and the client's `resolveConfig` are the only readers of the environment
 * (the merged one of {@link serverEnvironment}); everything else gets plain values.
 */
export interface ServerSettings {
  /** `DATABRICKS_APP_PORT` (Databricks Apps), else `PORT`, else 8000; 0..65535, 0 picks a free port. */
  port: number;
  /**
   * 0.0.0.0 in Databricks Apps (the proxy connects from outside the process' loopback), else 127.0.0.1. Off loopback
   * the app requires the proxy's identity header whatever `production` says (identity.ts).
   */
  host: string;
  /** `NODE_ENV=production` or running in Databricks Apps (`DATABRICKS_APP_NAME`): identity required, no emulator. */
  production: boolean;
  /**
   * Running on Databricks Apps (`DATABRICKS_APP_NAME` or `DATABRICKS_APP_PORT` set), whose proxy is the only way in and
   * sets `X-Forwarded-Email` itself. Elsewhere, a server listening beyond loopback warns that it trusts that header.
   */
  databricksApps: boolean;
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

/**
 * The environment every setting of the server is read from, before any is read: locally, `.env` then `.env.local`
 * (what `lakebase configure` writes) from where npm was run (`INIT_CWD`), then `base` over both (the client's
 * `loadEnvFiles`, the CLI's order too). A deployed app (`NODE_ENV=production` or `DATABRICKS_APP_NAME` in `base`: the
 * platform's environment, nothing else, decides that) takes `base` only.
 */
export async function serverEnvironment(base: Env = process.env, cwd: string = process.cwd()): Promise<Env> {
  const deployed = settingValue(base.NODE_ENV) === 'production' || settingValue(base.DATABRICKS_APP_NAME) !== undefined;
  if (deployed) return base;
  const env = (await loadEnvFiles(settingValue(base.INIT_CWD) ?? cwd, base)).env;
  // Where the app runs is the platform's to say, not a file's: DATABRICKS_APP_PORT in .env.local would bind 0.0.0.0
  // and silence the warning about the identity header.
  for (const name of PLATFORM_VARIABLES) env[name] = base[name];
  return env;
}

/** Set by Databricks Apps itself; read from the process environment only. */
const PLATFORM_VARIABLES = ['DATABRICKS_APP_NAME', 'DATABRICKS_APP_PORT'] as const;

/**
 * The settings in `env`, which is {@link serverEnvironment}'s result (the env files already under it). An empty or
 * blank variable is unset. Explicit values (a caller's own settings object) go over what this returns.
 */
export function readServerSettings(env: Env = process.env, cwd: string = process.cwd()): ServerSettings {
  const read = envReader(env);
  const appPort = read.text('DATABRICKS_APP_PORT');
  const production = read.text('NODE_ENV') === 'production' || read.text('DATABRICKS_APP_NAME') !== undefined;
  // npm runs workspace scripts inside app/; INIT_CWD is where the user typed `npm start` (the repo root).
  const baseDir = read.text('INIT_CWD') ?? cwd;
  return {
    port: (appPort === undefined ? read.number('PORT', PORTS) : read.number('DATABRICKS_APP_PORT', PORTS)) ?? 8000,
    host: appPort !== undefined ? '0.0.0.0' : '127.0.0.1',
    production,
    databricksApps: appPort !== undefined || read.text('DATABRICKS_APP_NAME') !== undefined,
    devUser: read.text('DEV_USER_EMAIL') ?? 'dev@example.com',
    migrateOnStart: read.boolean('MIGRATE_ON_START') ?? false,
    connectAs: read.choice('LAKEBASE_CONNECT_AS', CONNECT_AS) ?? 'app',
    logLevel: read.text('LOG_LEVEL') ?? 'info',
    telemetry: {
      otlpEndpoint: read.text('OTEL_EXPORTER_OTLP_ENDPOINT'),
      serviceName: read.text('OTEL_SERVICE_NAME') ?? 'lakebase-app',
      metricIntervalMs: read.number('OTEL_METRIC_EXPORT_INTERVAL', METRIC_INTERVAL_MS) ?? 60_000,
    },
    emulator: {
      enabled: read.boolean('LAKEBASE_EMULATOR') ?? true,
      dataDir: path.resolve(baseDir, read.text('LAKEBASE_EMULATOR_DIR') ?? path.join('.lakebase', 'emulator')),
      tier: read.choice('LAKEBASE_EMULATOR_TIER', EMULATOR_TIERS) ?? 'autoscaling',
    },
  };
}

const CONNECT_AS = ['app', 'user'] as const;
const EMULATOR_TIERS = ['autoscaling', 'provisioned'] as const;

/** 0 picks a free port. */
const PORTS = { min: 0, max: 65535 };
/** OpenTelemetry's default is 60 s; under 1 s the export would be most of what the process does. */
const METRIC_INTERVAL_MS = { min: 1000, max: 300_000 };
