/**
 * One connection outside a pool: `getConnectionConfig()` (a `pg.ClientConfig`) and `connect()` (one client), plus the
 * client class the pool creates its connections with. Both remember which token a refused login used, so the retry
 * knows whether it is stale, and take host and user from the connector's resolved target.
 */
import pg from 'pg';
import { type ConnectionTarget, type ConnectorOptions, LakebaseConnector } from './connector.js';
import { type ConnectRetryOptions, LOGIN_RETRY_EVENT, withLoginRetry } from './login-retry.js';

/** The password a refused connection used, by its error (a WeakMap: the token never sits on the error object). */
const refusedPasswords = new WeakMap<object, string>();

function rememberRefusedPassword(client: pg.Client, error: unknown): void {
  const password = (client as unknown as { password?: unknown }).password;
  if (error && typeof error === 'object' && typeof password === 'string') refusedPasswords.set(error, password);
}

/** A pg.Client that remembers which token a refused login used, so the retry knows whether it is stale. */
export class TokenTrackingClient extends pg.Client {
  override connect(): Promise<pg.Client>;
  override connect(callback: (err: Error) => void): void;
  override connect(callback?: (err: Error) => void): Promise<pg.Client> | undefined {
    if (callback) {
      super.connect((err: Error) => {
        rememberRefusedPassword(this, err);
        callback(err);
      });
      return undefined;
    }
    return super.connect().catch((err: unknown) => {
      rememberRefusedPassword(this, err);
      throw err;
    });
  }
}

/** The token a login refused with `error` used, if a {@link TokenTrackingClient} saw it. */
export function refusedPassword(error: unknown): string | undefined {
  return error !== null && typeof error === 'object' ? refusedPasswords.get(error) : undefined;
}

/**
 * The pool's client class: a {@link TokenTrackingClient} whose host and user are the connector's resolved target.
 * The pool creates connections only after the target is resolved; the config is layered (not copied) so the
 * non-enumerable password and the per-connection lifetime getter stay as they are.
 */
export function clientClassFor(connector: LakebaseConnector): typeof TokenTrackingClient {
  return class LakebaseClient extends TokenTrackingClient {
    constructor(config?: pg.ClientConfig) {
      const target = connector.resolvedTarget;
      super(target && config ? withTarget(config, target) : config);
    }
  };
}

function withTarget(config: pg.ClientConfig, target: ConnectionTarget): pg.ClientConfig {
  const layered: pg.ClientConfig = Object.create(config);
  layered.host = target.host;
  layered.user = target.user;
  return layered;
}

/**
 * A `pg.ClientConfig` for one client: host and user resolved, `password` a function that returns a valid token
 * (refreshed lazily on use, no background timer).
 */
export async function getConnectionConfig(options: ConnectorOptions = {}): Promise<pg.ClientConfig> {
  const connector = new LakebaseConnector(options, { backgroundRefresh: false });
  return connector.clientConfig();
}

/**
 * Open one connected `pg.Client` (for scripts). A login refused with 28P01 is retried once with a fresh token.
 */
export async function connect(
  options: ConnectorOptions & { connectRetry?: ConnectRetryOptions } = {},
): Promise<pg.Client> {
  const connector = new LakebaseConnector(options, { backgroundRefresh: false });
  const timeoutMs = connector.config.pool.connectionTimeoutMillis;
  const startedAt = performance.now();
  const config = await connector.beforeLogin(
    timeoutMs,
    () => performance.now() - startedAt,
    () => connector.clientConfig(),
  );
  return withLoginRetry(
    async () => {
      const client = new TokenTrackingClient(config);
      await client.connect();
      return client;
    },
    {
      timeoutMs,
      options: options.connectRetry ?? {},
      stopped: () => false,
      onTokenRefused: async (error) => {
        if (!connector.credentials) return false;
        await connector.credentials.forceRefresh(refusedPassword(error), { timeoutMs });
        return true;
      },
      onTransient: (error, attempt, delayMs) =>
        connector.log('info', 'login failed transiently (waking endpoint?); retrying', {
          event: LOGIN_RETRY_EVENT,
          error: (error as Error).message,
          code: (error as { code?: string }).code,
          attempt,
          delayMs,
        }),
    },
  );
}

/** Open one client with {@link connect}, run `work` with it, and end it (also when `work` throws). */
export async function withClient<T>(
  options: Parameters<typeof connect>[0],
  work: (client: pg.Client) => Promise<T>,
): Promise<T> {
  const client = await connect(options);
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => {});
  }
}
