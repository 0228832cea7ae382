/**
 * `sslmode` -> the pg `ssl` option, in one place.
 *
 * Lakebase (provisioned/autoscaling) always uses TLS and, by default, verifies the server certificate against the
 * system CAs (Lakebase presents publicly trusted certificates): `require` is treated like `verify-full`. This is
 * stricter than libpq, where `require` does not verify; opt out explicitly with `no-verify`. `allow`/`prefer` are
 * upgraded to `require`; `disable` is rejected by config.
 *
 * Static mode follows libpq: `disable` (default), `allow` and `prefer` connect without TLS (pg cannot fall back
 * between plain and TLS); `require` encrypts without verification unless `PGSSLROOTCERT` is set (then verify-ca, as
 * libpq does); `verify-ca` checks the chain; `verify-full` the chain and the host name.
 */
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import type { LakebaseConfig } from '../config/resolve.js';
import { LakebaseError } from '../errors.js';

/** What a config's TLS settings amount to. */
export type TlsPolicy = 'off' | 'encrypt-only' | 'verify-ca' | 'verify-full';

export function tlsPolicy(config: Pick<LakebaseConfig, 'mode' | 'sslMode' | 'sslRootCert'>): TlsPolicy {
  const { mode, sslMode } = config;
  if (sslMode === 'no-verify') return 'encrypt-only';
  if (sslMode === 'verify-ca') return 'verify-ca';
  if (sslMode === 'verify-full') return 'verify-full';
  if (mode !== 'static') return 'verify-full';
  if (sslMode === 'require') return config.sslRootCert ? 'verify-ca' : 'encrypt-only';
  return 'off';
}

/**
 * The pg `ssl` option for a config: `false` or `tls.ConnectionOptions`.
 * @throws LakebaseError `LAKEBASE_CONFIG_INVALID` when PGSSLROOTCERT cannot be read.
 */
export function buildSslOptions(
  config: Pick<LakebaseConfig, 'mode' | 'sslMode' | 'sslRootCert'>,
): false | ConnectionOptions {
  const policy = tlsPolicy(config);
  if (policy === 'off') return false;
  if (policy === 'encrypt-only') return { rejectUnauthorized: false };
  const options: ConnectionOptions = { rejectUnauthorized: true };
  if (config.sslRootCert) options.ca = readRootCert(config.sslRootCert);
  if (policy === 'verify-ca') options.checkServerIdentity = () => undefined;
  return options;
}

function readRootCert(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (cause) {
    throw new LakebaseError('LAKEBASE_CONFIG_INVALID', `Cannot read PGSSLROOTCERT file '${file}'.`, {
      suggestion:
        'Point PGSSLROOTCERT at a readable PEM file with the CA certificate(s), or unset it to use the system CAs.',
      cause,
    });
  }
}
