/**
 * Parse a static PostgreSQL URL (`LAKEBASE_PG_URL`) into connection fields. We parse it ourselves rather than hand
 * pg a `connectionString`, because pg lets URL `sslmode` parameters replace the `ssl` object we build (libpq
 * semantics for `sslmode` are applied in one place: tls.ts).
 */

import { LakebaseError } from '../errors.js';
import { SSL_MODES, type SslMode } from './types.js';

export interface StaticUrlParts {
  host: string | undefined;
  port: number | undefined;
  database: string | undefined;
  user: string | undefined;
  password: string | undefined;
  sslMode: SslMode | undefined;
  sslRootCert: string | undefined;
  applicationName: string | undefined;
}

/** @throws LakebaseError `LAKEBASE_CONFIG_INVALID` when the URL is not a `postgres(ql)://` URL. */
export function parseStaticUrl(text: string): StaticUrlParts {
  const fail = (why: string, cause?: unknown) =>
    new LakebaseError('LAKEBASE_CONFIG_INVALID', `Malformed LAKEBASE_PG_URL: ${why}.`, {
      suggestion: 'Use postgresql://user:password@host:5432/database (percent-encode special characters).',
      cause,
    });
  if (!/^postgres(ql)?:\/\//i.test(text)) throw fail('it must start with postgresql:// or postgres://');
  let url: URL;
  try {
    url = new URL(text);
  } catch (cause) {
    throw fail('it is not a valid URL', cause);
  }
  const decode = (value: string) => {
    try {
      return decodeURIComponent(value);
    } catch (cause) {
      throw fail('it has an invalid percent-encoding', cause);
    }
  };
  const params = url.searchParams;
  let port: number | undefined;
  if (url.port) {
    port = Number(url.port);
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw fail(`port '${url.port}' is not valid`);
  }
  const sslModeText = params.get('sslmode') ?? undefined;
  if (sslModeText !== undefined && !(SSL_MODES as readonly string[]).includes(sslModeText)) {
    throw fail(`sslmode '${sslModeText}' is unknown`);
  }
  const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const path = url.pathname.replace(/^\//, '');
  return {
    host: params.get('host') ?? (hostname ? decode(hostname) : undefined),
    port,
    database: path ? decode(path) : undefined,
    user: url.username ? decode(url.username) : undefined,
    password: url.password ? decode(url.password) : undefined,
    sslMode: sslModeText as StaticUrlParts['sslMode'],
    sslRootCert: params.get('sslrootcert') ?? undefined,
    applicationName: params.get('application_name') ?? undefined,
  };
}
