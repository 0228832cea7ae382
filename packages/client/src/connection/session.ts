/**
 * What a short-lived process (a CLI command, a script) needs from one connection without a pool: a fresh token with
 * its target, and the libpq environment for a child process (psql, pg_dump, an ORM's migration tool).
 */
import { LakebaseError } from '../errors.js';
import type { CredentialScope } from '../workspace/api.js';
import { type ConnectionTarget, type ConnectorOptions, LakebaseConnector } from './connector.js';

/** A fresh database token, when it expires, and the database it is for. */
export interface DatabaseToken {
  readonly token: string;
  readonly expiresAt: Date;
  readonly target: ConnectionTarget;
}

/**
 * Mint (or reuse) a database token for the configured target. No background refresh is left running. With `scope`
 * (a TTL, read-only, tables) a new token is minted with those limits (the credential request's `ttl` and `claims`),
 * which the server enforces at login.
 * @throws LakebaseError `LAKEBASE_CONFIG_INVALID` in static URL mode, which has no token.
 */
export async function getDatabaseToken(
  options: ConnectorOptions = {},
  scope?: CredentialScope,
): Promise<DatabaseToken> {
  return withConnector(options, async (connector) => {
    const credentials = connector.credentials;
    if (!credentials) {
      throw new LakebaseError(
        'LAKEBASE_CONFIG_INVALID',
        'Static URL mode (LAKEBASE_PG_URL) has no database token: the password is in the URL.',
        { suggestion: 'Unset LAKEBASE_PG_URL and run `lakebase configure` to use a Lakebase instance or endpoint.' },
      );
    }
    const target = await connector.target();
    const credential = scope ? await connector.scopedCredential(scope) : await credentials.getCredential();
    const token: DatabaseToken = { expiresAt: credential.expiresAt, target } as DatabaseToken;
    Object.defineProperty(token, 'token', { value: credential.token, enumerable: false });
    return token;
  });
}

/**
 * libpq environment for a child process: PGHOST, PGPORT, PGUSER, PGDATABASE, PGSSLMODE (and PGSSLROOTCERT), PGPASSWORD
 * (a fresh token, or the static password) and a matching DATABASE_URL.
 */
export async function getLibpqEnv(options: ConnectorOptions = {}): Promise<Record<string, string>> {
  return withConnector(options, async (connector) => {
    const target = await connector.target();
    const config = connector.config;
    const password = connector.credentials ? await connector.credentials.getToken() : config.password;
    // libpq has no `no-verify`: it means "encrypted, not verified", which is libpq's `require`.
    const sslMode = config.sslMode === 'no-verify' ? 'require' : config.sslMode;
    const out: Record<string, string> = {
      PGHOST: target.host,
      PGPORT: String(target.port),
      PGUSER: target.user,
      PGDATABASE: target.database,
      PGSSLMODE: sslMode,
    };
    // RFC 6761: *.localhost is loopback, but getaddrinfo often cannot resolve it; libpq then connects to PGHOSTADDR
    // and still uses PGHOST for TLS (SNI, certificate name) — how the emulator's branch hosts are reached.
    if (target.host.endsWith('.localhost')) out.PGHOSTADDR = '127.0.0.1';
    const query = new URLSearchParams({ sslmode: sslMode });
    if (config.sslRootCert) {
      out.PGSSLROOTCERT = config.sslRootCert;
      query.set('sslrootcert', config.sslRootCert);
    }
    if (password) out.PGPASSWORD = password;
    const credentials = `${encodeURIComponent(target.user)}${password ? `:${encodeURIComponent(password)}` : ''}`;
    const host = target.host.includes(':') ? `[${target.host}]` : target.host;
    out.DATABASE_URL = `postgresql://${credentials}@${host}:${target.port}/${encodeURIComponent(target.database)}?${query}`;
    return out;
  });
}

/** A connector without background refresh for the length of `work`, closed afterwards. */
async function withConnector<T>(
  options: ConnectorOptions,
  work: (connector: LakebaseConnector) => Promise<T>,
): Promise<T> {
  const connector = new LakebaseConnector(options, { backgroundRefresh: false });
  try {
    return await work(connector);
  } finally {
    await connector.close();
  }
}
