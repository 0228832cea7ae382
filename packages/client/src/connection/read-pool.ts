/**
 * The read pool: a second `pg.Pool` next to the write pool, to the read host (a read replica), sharing the write
 * pool's config and credential manager (one token request per rotation serves both). A write on it fails with
 * `LAKEBASE_READ_POOL_WRITE` (PostgreSQL's 25006 as the cause). When the read host is not configured or cannot be
 * reached, `readFallback` decides: `primary` (default) sends the checkout to a read-only session on the primary host
 * (read-fallback.ts: a write there fails the same way), logs a warning, emits `read-fallback` and counts
 * `lakebase.read_pool.fallbacks`, and tries the read host again after `readRetrySeconds`; `fail` throws
 * `LAKEBASE_READ_HOST_UNAVAILABLE`.
 */
import type pg from 'pg';
import { isLakebaseError, LakebaseError } from '../errors.js';
import { LakebasePool, type LakebasePoolOptions } from './pool.js';
import { enforceTransactionPooling } from './pooled-host.js';
import { hookPoolQueries } from './query-hooks.js';
import { createFallbackPool, fallbackCheckout, isReadOnlyRefusal, readPoolWrite } from './read-fallback.js';
import { routedConnector } from './routes.js';

/** Options of {@link createReadPool}: pool options for the read pool (Lakebase settings come from the write pool). */
export type ReadPoolOptions = Pick<
  LakebasePoolOptions,
  'pg' | 'lifetimeJitter' | 'random' | 'connectRetry' | 'telemetry'
>;

/** What `read-fallback` events carry. */
export interface ReadFallbackEvent {
  /** The failure of the read host, redacted. */
  error: LakebaseError;
  /** When the read host is tried again. */
  retryAt: Date;
}

type ConnectCallback = (
  err: Error | undefined,
  client: pg.PoolClient | undefined,
  done: (release?: unknown) => void,
) => void;

export interface LakebaseReadPool {
  on(event: 'read-fallback', listener: (event: ReadFallbackEvent) => void): this;
  on(event: 'error' | 'connect' | 'acquire' | 'release' | 'remove', listener: (...args: never[]) => void): this;
}

/** A pool to the read host that falls back to its write pool. Events: `read-fallback` ({@link ReadFallbackEvent}). */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: see the interface above
export class LakebaseReadPool extends LakebasePool {
  /** The write pool whose host this one falls back to (with read-only sessions of its own, not the write pool's). */
  declare readonly primary: LakebasePool;
  private fallbackUntil = 0;
  /** Read-only sessions on the primary host, opened on the first fallback; ended with this pool. */
  private fallback: LakebasePool | undefined;
  private readonly poolOptions: ReadPoolOptions;

  constructor(primary: LakebasePool, options: ReadPoolOptions = {}) {
    const settings = primary.lakebase.config.readScaling;
    super(routedConnector(primary.lakebase, 'read'), {
      ...options,
      pg: { connectionTimeoutMillis: settings.readConnectTimeoutMs, ...options.pg },
    });
    Object.defineProperty(this, 'primary', { value: primary, enumerable: false });
    this.poolOptions = options;
    primary.addCompanion(this);
    if (settings.pooled) enforceTransactionPooling(this);
    hookPoolQueries(this, (_statement, run, done) =>
      run((error, result) => done(isReadOnlyRefusal(error) ? readPoolWrite(error) : error, result)),
    );
  }

  /** True while reads go to the write pool because the read host failed. */
  get fallingBack(): boolean {
    return this.lakebase.clock.now() < this.fallbackUntil;
  }

  override connect(): Promise<pg.PoolClient>;
  override connect(callback: ConnectCallback): void;
  override connect(callback?: ConnectCallback): Promise<pg.PoolClient> | undefined {
    const result = this.checkout();
    if (!callback) return result;
    result.then(
      (client) =>
        callback(undefined, client, (release?: unknown) => client.release(release as boolean | Error | undefined)),
      (error: Error) => callback(error, undefined, () => {}),
    );
    return undefined;
  }

  private async checkout(): Promise<pg.PoolClient> {
    if (this.fallingBack) return fallbackCheckout(this.fallbackPool());
    try {
      return await super.connect();
    } catch (cause) {
      if (this.ending) throw cause;
      const error = readHostUnavailable(cause);
      if (this.lakebase.config.readScaling.readFallback === 'fail') throw error;
      this.fallBack(error);
      return fallbackCheckout(this.fallbackPool());
    }
  }

  private fallbackPool(): LakebasePool {
    if (!this.fallback) {
      this.fallback = createFallbackPool(this.primary, this.poolOptions);
      this.addCompanion(this.fallback);
    }
    return this.fallback;
  }

  private fallBack(error: LakebaseError): void {
    const retryMs = this.lakebase.config.readScaling.readRetryMs;
    this.fallbackUntil = this.lakebase.clock.now() + retryMs;
    const retryAt = new Date(this.fallbackUntil);
    this.lakebase.log('warn', 'read host failed; sending reads to the primary', {
      code: error.code,
      error: error.message,
      retryInSeconds: retryMs / 1000,
    });
    this.telemetry.readFallback(String(error.details.cause ?? error.code));
    this.emit('read-fallback', { error, retryAt } satisfies ReadFallbackEvent);
  }
}

function readHostUnavailable(cause: unknown): LakebaseError {
  if (isLakebaseError(cause, 'LAKEBASE_READ_HOST_UNAVAILABLE')) return cause;
  const code = (cause as { code?: unknown })?.code;
  return new LakebaseError(
    'LAKEBASE_READ_HOST_UNAVAILABLE',
    `The read host cannot be reached: ${(cause as Error)?.message ?? String(cause)}`,
    {
      suggestion:
        'Check the read-only endpoint (status.hosts.read_only_host) is running, or set LAKEBASE_READ_FALLBACK=primary.',
      cause,
      retryable: true,
      details: { cause: typeof code === 'string' ? code : 'connect' },
    },
  );
}

/**
 * A read pool next to `primary`, sharing its config and credential manager. Ending `primary` ends it too.
 * @example const pool = createLakebasePool(); const reads = createReadPool(pool);
 */
export function createReadPool(primary: LakebasePool, options: ReadPoolOptions = {}): LakebaseReadPool {
  return new LakebaseReadPool(primary, options);
}
