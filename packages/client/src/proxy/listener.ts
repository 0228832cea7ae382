/**
 * Where the proxy may listen and with what: loopback unless a local password guards it, no user pass-through with a
 * local password, and a coded error for a port that is taken.
 */
import type { Server as HttpServer } from 'node:http';
import net from 'node:net';
import { LakebaseError } from '../errors.js';

/** True for 127.0.0.0/8, ::1, an IPv4-mapped loopback and `localhost`. */
export function isLoopbackAddress(address: string): boolean {
  const a = address.toLowerCase().replace(/^\[|\]$/g, '');
  if (a === 'localhost' || a === '::1') return true;
  const v4 = a.startsWith('::ffff:') ? a.slice(7) : a;
  return net.isIPv4(v4) && v4.startsWith('127.');
}

/**
 * Refuses settings that would expose the database: a non-loopback address without a local password
 * (`LAKEBASE_PROXY_UNSAFE_ADDRESS`), or user pass-through with a local password (`LAKEBASE_PROXY_OPTION_CONFLICT`: a
 * client sends one password, which cannot be both the local password and the named user's own).
 */
export function assertSafeOptions(host: string, localPassword: string | undefined, allowUser: boolean): void {
  if (!isLoopbackAddress(host) && !localPassword) {
    throw new LakebaseError(
      'LAKEBASE_PROXY_UNSAFE_ADDRESS',
      `The proxy would listen on ${host}, which other machines can reach, with no local password.`,
      {
        suggestion:
          'Set --local-password (or LAKEBASE_PROXY_PASSWORD) so clients must log in, or listen on 127.0.0.1 (the default).',
        details: { address: host },
      },
    );
  }
  if (allowUser && localPassword) {
    throw new LakebaseError(
      'LAKEBASE_PROXY_OPTION_CONFLICT',
      "The proxy cannot both check a local password and pass users through: a client sends one password, which would have to be the local password and the named user's own token or password at once.",
      {
        suggestion: 'Drop --allow-user, or drop --local-password and keep the proxy on 127.0.0.1 (the default).',
        details: { allowUser: true, localPassword: true },
      },
    );
  }
}

/** Listens on `host:port`; a taken port (or an address not of this machine) is `LAKEBASE_PORT_IN_USE`. */
export function listen(server: net.Server | HttpServer, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EADDRINUSE' && error.code !== 'EACCES' && error.code !== 'EADDRNOTAVAIL') {
        reject(error);
        return;
      }
      const inUse = error.code === 'EADDRINUSE';
      reject(
        new LakebaseError(
          'LAKEBASE_PORT_IN_USE',
          inUse
            ? `Port ${port} on ${host} is in use (a local PostgreSQL, or another proxy).`
            : `Cannot listen on ${host}:${port} (${error.code}).`,
          {
            suggestion: inUse
              ? 'Pick another port with --port (e.g. --port 6543), or stop what listens there.'
              : 'Pick a port above 1023 and an address of this machine.',
            details: { host, port, reason: error.code },
            cause: error,
          },
        ),
      );
    });
    server.listen(port, host, () => resolve());
  });
}
