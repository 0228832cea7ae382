/**
 * The network probes of `diagnose()`: a bare TCP connect, and an SSLRequest followed by the TLS handshake the pool
 * would make, each turned into a LakebaseError that says what to check.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { LakebaseConfig } from '../config/resolve.js';
import type { ConnectionTarget } from '../connection/connector.js';
import type { ResolvedAddress } from '../connection/dns.js';
import { buildSslOptions, tlsPolicy } from '../connection/tls.js';
import { LakebaseError } from '../errors.js';
import { errorText } from '../workspace/http.js';

/** How an address was found, for the DNS step's detail. */
export function describeAddress(a: ResolvedAddress): string {
  return a.via === 'system'
    ? a.address
    : `${a.address} (${a.via === 'dns' ? 'direct DNS fallback' : 'RFC 6761 .localhost'})`;
}

export function checkTcp(target: ConnectionTarget, addresses: ResolvedAddress[], timeoutMs: number): Promise<string> {
  const address = addresses[0]?.address ?? target.host;
  return new Promise((resolve, reject) => {
    const socket = target.host.startsWith('/')
      ? net.connect(`${target.host}/.s.PGSQL.${target.port}`)
      : net.connect({ host: address, port: target.port });
    const timer = setTimeout(
      () => socket.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })),
      timeoutMs,
    );
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(`connected to ${address}:${target.port}`);
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(
        new LakebaseError(
          'LAKEBASE_CONNECT_FAILED',
          `Cannot connect to ${target.host} (${address}) port ${target.port}: ${errorText(error)}`,
          {
            suggestion:
              'Check the host and port (PGHOST, PGPORT), that the instance is running, and that no firewall/VPN blocks port 5432.',
            cause: error,
          },
        ),
      );
    });
  });
}

/** PostgreSQL SSLRequest, then a TLS handshake with the same options the pool uses. */
export function checkTls(
  config: LakebaseConfig,
  target: ConnectionTarget,
  addresses: ResolvedAddress[],
  timeoutMs: number,
): Promise<string> {
  const ssl = buildSslOptions(config);
  if (ssl === false) return Promise.resolve(`TLS off (sslmode ${config.sslMode})`);
  const address = addresses[0]?.address ?? target.host;
  return new Promise((resolve, reject) => {
    const raw = net.connect({ host: address, port: target.port });
    const fail = (error: Error) => {
      clearTimeout(timer);
      raw.destroy();
      reject(tlsError(error, target.host));
    };
    const timer = setTimeout(
      () => fail(Object.assign(new Error('TLS handshake timed out'), { code: 'ETIMEDOUT' })),
      timeoutMs,
    );
    raw.once('error', fail);
    raw.once('connect', () => {
      const request = Buffer.alloc(8);
      request.writeInt32BE(8, 0);
      request.writeInt32BE(80877103, 4);
      raw.write(request);
    });
    raw.once('data', (data) => {
      if (data.toString('utf8', 0, 1) !== 'S')
        return fail(new Error('the server does not accept TLS (answered SSLRequest with N)'));
      const secure = tls.connect({
        ...ssl,
        socket: raw,
        host: target.host,
        servername: net.isIP(target.host) ? undefined : target.host,
      });
      secure.once('error', fail);
      secure.once('secureConnect', () => {
        clearTimeout(timer);
        const cert = secure.getPeerCertificate();
        const policy = tlsPolicy(config);
        resolve(
          `${secure.getProtocol()} (${policy}), certificate CN=${cert?.subject?.CN ?? '?'} issued by ${cert?.issuer?.CN ?? '?'}`,
        );
        secure.destroy();
      });
    });
  });
}

function tlsError(error: Error, host: string): LakebaseError {
  const code = (error as { code?: string }).code ?? '';
  const suggestion = /ALTNAME|HOSTNAME/.test(code)
    ? `The certificate does not match '${host}': check PGHOST (use the instance's read_write_dns / the endpoint host, not an IP).`
    : /SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|CERT_UNTRUSTED/.test(code)
      ? 'The server certificate is not trusted: set PGSSLROOTCERT to the CA file, or PGSSLMODE=no-verify (not recommended).'
      : 'Check that the server speaks TLS on this port and PGSSLMODE.';
  return new LakebaseError('LAKEBASE_TLS_FAILED', `TLS to ${host} failed: ${errorText(error)}`, {
    suggestion,
    cause: error,
  });
}
