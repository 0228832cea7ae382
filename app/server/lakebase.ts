import {
  createLakebasePool,
  createUserPools,
  grantToGroup,
  isLakebaseError,
  type LakebaseConfig,
  type LakebaseLogger,
  type LakebasePool,
  resolveConfig,
} from '@lakebase-kit/client';
import type { AppDatabase, DatabaseInfo } from './database.js';
import type { ServerSettings } from './settings.js';

/** The database the server runs on, and how to let go of it. */
export interface DatabaseConnection {
  database: AppDatabase;
  /** The pool, when configured (for migrations). */
  pool: LakebasePool | undefined;
  /** Set when the embedded emulator was started for this process. */
  emulator: { dataDir: string; tier: string } | undefined;
  /** Ends the pool, then stops the emulator. */
  close(): Promise<void>;
}

interface EmulatorHandle {
  env(tier?: 'provisioned' | 'autoscaling'): Record<string, string>;
  stop(): Promise<void>;
  workspace: { issueUserToken(email: string): Promise<{ access_token: string }> };
}

/**
 * Connect the way production does: `resolveConfig` + `createLakebasePool` over the given environment. Outside
 * production with nothing configured, start the embedded emulator and connect to it through the same calls, using the
 * environment the emulator hands out. A configuration that is present but wrong fails here, at startup.
 */
export async function connectDatabase(
  settings: ServerSettings,
  env: Record<string, string | undefined>,
  logger: LakebaseLogger,
): Promise<DatabaseConnection> {
  let config: LakebaseConfig;
  let emulator: EmulatorHandle | undefined;
  try {
    config = resolveConfig({}, env);
  } catch (error) {
    if (!isLakebaseError(error, 'LAKEBASE_NOT_CONFIGURED')) throw error;
    if (settings.production || !settings.emulator.enabled) {
      return { database: { configured: false }, pool: undefined, emulator: undefined, close: async () => {} };
    }
    // Loaded only here (a dev dependency), so a deployed app never loads the emulator or needs it installed.
    const { startEmulator } = await import('@lakebase-kit/emulator').catch((importError: unknown) => {
      throw Object.assign(
        new Error('No Lakebase is configured and the local emulator (@lakebase-kit/emulator) is not installed.'),
        {
          cause: importError,
          suggestion:
            'Install dev dependencies (npm install), or configure Lakebase (PGHOST + LAKEBASE_DATABASE, ' +
            'LAKEBASE_INSTANCE_NAME, LAKEBASE_ENDPOINT or LAKEBASE_PG_URL), or set LAKEBASE_EMULATOR=off.',
        },
      );
    });
    emulator = await startEmulator({ dataDir: settings.emulator.dataDir, apiPort: 0, pgPort: 0 });
    try {
      config = resolveConfig({}, { ...howToConnect(env), ...emulator.env(settings.emulator.tier) });
    } catch (configError) {
      await emulator.stop();
      throw configError;
    }
  }

  const pool = createLakebasePool({ config, logger });
  // Per-user mode: pools made with each user's token; they close with `pool`. Bounds from LAKEBASE_USER_POOL*.
  const userPools = settings.connectAs === 'user' ? createUserPools(pool, { env }) : undefined;
  const running = emulator;
  const info = (): DatabaseInfo => ({
    tier: config.mode,
    instanceName: config.instanceName,
    endpoint: config.endpoint,
    // Host and user are looked up on the first connection when not configured; the connector knows them afterwards.
    host: pool.lakebase.resolvedTarget?.host ?? config.host,
    database: config.database,
    user: pool.lakebase.resolvedTarget?.user ?? config.user,
    emulator: running !== undefined,
  });
  return {
    database: {
      configured: true,
      pool,
      info,
      tokenExpiresAt: () => pool.lakebase.credentials?.status().expiresAt,
      ...(userPools ? { userPools } : {}),
      ...(userPools && running ? { devUserToken: devUserTokens(running, pool) } : {}),
    },
    pool,
    emulator: running ? { dataDir: settings.emulator.dataDir, tier: settings.emulator.tier } : undefined,
    close: async () => {
      await pool.end();
      await running?.stop();
    },
  };
}

/** Variables that say where or as whom to connect: on the embedded emulator, the emulator's own say that. */
const WHERE_AND_WHO = new Set([
  'PGHOST',
  'PGHOSTADDR',
  'PGPORT',
  'PGDATABASE',
  'PGUSER',
  'PGPASSWORD',
  'PGSSLMODE',
  'PGSSLROOTCERT',
  'LAKEBASE_PG_URL',
  'LAKEBASE_INSTANCE_NAME',
  'LAKEBASE_ENDPOINT',
  'LAKEBASE_BRANCH',
  'LAKEBASE_HOST',
  'LAKEBASE_PORT',
  'LAKEBASE_DATABASE',
  'LAKEBASE_DATABASE_NAME',
  'LAKEBASE_USERNAME',
  'LAKEBASE_READ_HOST',
  'LAKEBASE_POOLED_HOST',
]);

/**
 * The part of `env` that still applies on the embedded emulator: how to connect (DB_POOL_*, PGCONNECT_TIMEOUT,
 * LAKEBASE_READ_FALLBACK, ...), so a setting in `.env.local` or the shell counts there as it does on Lakebase.
 */
function howToConnect(env: Record<string, string | undefined>): Record<string, string | undefined> {
  return Object.fromEntries(
    Object.entries(env).filter(([name]) => !WHERE_AND_WHO.has(name) && !name.startsWith('DATABRICKS_')),
  );
}

/** The group role the migrations grant the tables to, in per-user mode. */
const USERS_GROUP = 'lakebase_app_users';

/**
 * Per-user mode on the embedded emulator: the emulator plays the Apps proxy (a user token for the caller's email, as
 * `X-Forwarded-Access-Token` would carry) and the admin (a role for the user, added to the group role), once per
 * email, so `LAKEBASE_CONNECT_AS=user npm start` works locally with no setup. Never used with a real Lakebase.
 */
function devUserTokens(emulator: EmulatorHandle, pool: LakebasePool): (email: string) => Promise<string> {
  const tokens = new Map<string, Promise<string>>();
  return (email) => {
    let token = tokens.get(email);
    if (!token) {
      token = (async () => {
        const { access_token: issued } = await emulator.workspace.issueUserToken(email);
        const client = await pool.connect();
        try {
          await grantToGroup(client, { group: USERS_GROUP, members: [email] });
        } finally {
          client.release();
        }
        return issued;
      })();
      token.catch(() => tokens.delete(email));
      tokens.set(email, token);
    }
    return token;
  };
}
