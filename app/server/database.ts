import type { UserPools, UserPoolsStats } from '@lakebase-kit/client';
import { withDeadline } from '@lakebase-kit/client/toolkit';
import type { FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type pg from 'pg';
import { type AppError, notConfiguredError, toAppError } from './errors.js';
import { attachUserPool, userQueryError } from './per-user.js';
import { PreferencesStore } from './preferences-store.js';

/** Non-secret facts about the database in use, for `/api/health`, `/api/me` and the UI. */
export interface DatabaseInfo {
  /** `provisioned` | `autoscaling` (Lakebase tiers) or `static` (a plain PostgreSQL URL). */
  tier: string;
  instanceName?: string | undefined;
  endpoint?: string | undefined;
  host?: string | undefined;
  database: string;
  /** The PostgreSQL role the server connects as (known once a token was minted, for Lakebase). */
  user?: string | undefined;
  /** True when this is the embedded local emulator, not a real Lakebase. */
  emulator?: boolean;
}

/** What the server was given: a pool plus its facts, or the reason there is none. */
export type AppDatabase =
  | {
      configured: true;
      pool: pg.Pool;
      info: DatabaseInfo | (() => DatabaseInfo);
      /** When the current database token expires; undefined for password-based (static) connections. */
      tokenExpiresAt?: () => Date | undefined;
      /** Per-user mode (`LAKEBASE_CONNECT_AS=user`): requests run on the user's own pool; `pool` stays the app's. */
      userPools?: UserPools;
      /** Embedded emulator only: a user token for a request that carries none (the emulator plays the Apps proxy). */
      devUserToken?: (email: string) => Promise<string>;
    }
  | { configured: false };

export interface PoolUsage {
  total: number;
  idle: number;
  waiting: number;
  max: number;
}

export interface DatabaseHealth {
  configured: boolean;
  reachable: boolean;
  latencyMs?: number;
  info?: DatabaseInfo;
  tokenExpiresAt?: string | undefined;
  pool?: PoolUsage;
  /** Per-user mode: the users' pools (see `UserPools.stats()`). */
  userPools?: UserPoolsStats;
  error?: { error_code: string; message: string; suggestion: string };
}

export interface DatabaseService {
  readonly configured: boolean;
  info(): DatabaseInfo | undefined;
  /** True when requests run as the signed-in user (per-user mode). */
  readonly perUser: boolean;
  /**
   * Makes the request's database handle: in per-user mode leases the user's pool (released when the response is
   * sent); otherwise nothing. A `preHandler` of the routes that use the database.
   */
  attach(request: FastifyRequest): Promise<void>;
  /**
   * The preferences store of this request: on the user's pool in per-user mode, on the app's pool otherwise; or the
   * `LAKEBASE_NOT_CONFIGURED` error when there is no database.
   */
  preferences(request?: FastifyRequest): PreferencesStore;
  /** The API error for a failure of a database call (in per-user mode, a user's missing privilege is their 403). */
  errorOf(error: unknown): AppError;
  /** Run `SELECT 1` (bounded by `timeoutMs`) and report pool and token state. Never throws. */
  health(timeoutMs?: number): Promise<DatabaseHealth>;
}

declare module 'fastify' {
  interface FastifyInstance {
    database: DatabaseService;
  }
}

export function createDatabaseService(database: AppDatabase): DatabaseService {
  if (!database.configured) {
    return {
      configured: false,
      perUser: false,
      attach: async () => {},
      errorOf: toAppError,
      info: () => undefined,
      preferences: () => {
        throw notConfiguredError();
      },
      health: async () => {
        const { detail } = notConfiguredError().toBody();
        return {
          configured: false,
          reachable: false,
          error: {
            error_code: detail.error_code,
            message: detail.message,
            suggestion: detail.technical_details.suggestion,
          },
        };
      },
    };
  }
  const { pool, userPools } = database;
  const store = new PreferencesStore(pool);
  // One store per user pool (its prepared statements are per connection anyway); dropped with the pool.
  const userStores = new WeakMap<pg.Pool, PreferencesStore>();
  const info = () => (typeof database.info === 'function' ? database.info() : database.info);
  return {
    configured: true,
    perUser: userPools !== undefined,
    errorOf: userPools ? userQueryError : toAppError,
    attach: async (request) => {
      if (userPools) await attachUserPool(request, userPools, database.devUserToken);
    },
    info,
    preferences: (request) => {
      if (!userPools) return store;
      const lease = request?.databaseLease;
      if (!lease) throw new Error('per-user mode: preferences(request) before attach(request)');
      let own = userStores.get(lease.pool);
      if (!own) {
        own = new PreferencesStore(lease.pool);
        userStores.set(lease.pool, own);
      }
      return own;
    },
    health: async (timeoutMs = 5000) => {
      const started = performance.now();
      const common = () => ({
        configured: true,
        info: info(),
        tokenExpiresAt: database.tokenExpiresAt?.()?.toISOString(),
        pool: { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount, max: pool.options.max ?? 10 },
        ...(userPools ? { userPools: userPools.stats() } : {}),
      });
      try {
        await withDeadline(pool.query('SELECT 1'), timeoutMs, healthTimeout);
        return { ...common(), reachable: true, latencyMs: Math.round(performance.now() - started) };
      } catch (error) {
        const { detail } = toAppError(error).toBody();
        return {
          ...common(),
          reachable: false,
          error: {
            error_code: detail.error_code,
            message: detail.message,
            suggestion: detail.technical_details.suggestion,
          },
        };
      }
    },
  };
}

/** Decorates `fastify.database`. The pool belongs to the caller, who ends it after `app.close()`. */
export const databasePlugin = fp<{ database: AppDatabase }>(
  async (fastify, options) => {
    fastify.decorate('database', createDatabaseService(options.database));
    fastify.decorateRequest('databaseLease', undefined);
    // Only per-user mode leases a connection per request; without it, no request pays for these hooks.
    if (fastify.database.perUser) {
      const release = async (request: FastifyRequest) => request.databaseLease?.release();
      fastify.addHook('onResponse', release);
      fastify.addHook('onRequestAbort', release);
    }
  },
  { name: 'lakebase-database', fastify: '5.x' },
);

/** The health check's own bound, shaped like a socket timeout so it reads as "unavailable". */
function healthTimeout(): Error {
  return Object.assign(new Error('connection timeout'), { code: 'ETIMEDOUT' });
}
