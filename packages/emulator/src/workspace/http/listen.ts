import type { FastifyInstance } from 'fastify';
import { EmulatorError } from '../../errors.js';

/** The port the HTTPS workspace API takes when asked for the port clients that force `https://<host>` reach. */
export const HTTPS_PORT = 443;

/**
 * Listens and returns the bound port. A refused bind becomes an EmulatorError with a fix: EACCES (a port below 1024
 * without the privilege, typically 443) and EADDRINUSE (the port is taken).
 */
export async function listenApi(app: FastifyInstance, host: string, port: number, what: string): Promise<number> {
  try {
    await app.listen({ host, port });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EACCES') {
      throw new EmulatorError(
        'EMULATOR_PORT_NOT_PERMITTED',
        `Binding ${what} port ${port} was refused (EACCES): ports below 1024 need a privilege this process lacks.`,
        port === HTTPS_PORT
          ? 'Run as root, or let node bind low ports once: sudo setcap cap_net_bind_service=+ep "$(command -v node)" ' +
              '(Linux; or sudo sysctl net.ipv4.ip_unprivileged_port_start=443). Clients that keep the port can use ' +
              'the TLS API on any port instead: --api-tls-port 8766 with DATABRICKS_HOST=https://localhost:8766.'
          : 'Pick a port of 1024 or above, or 0 for a free one.',
        { cause: error },
      );
    }
    if (code === 'EADDRINUSE') {
      throw new EmulatorError(
        'EMULATOR_PORT_IN_USE',
        `The ${what} port ${port} is already in use on ${host}.`,
        'Stop what holds it (is another emulator running?), or pick another port (0 picks a free one).',
        { cause: error },
      );
    }
    throw error;
  }
  const address = app.server.address();
  if (address && typeof address === 'object') return address.port;
  throw new Error('server is not listening on a TCP port');
}
