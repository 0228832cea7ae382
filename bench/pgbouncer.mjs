// PgBouncer as a side of benchmark 5: Debian's `pgbouncer` (apt-get install pgbouncer) in session mode, TLS on its
// client side with the emulator's own certificate (so clients verify it with the same CA, verify-full on
// `localhost`), in front of the same PostgreSQL as the emulator. Not run by CI.
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { chown, copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A free loopback port (bound, read back and released; PgBouncer then binds it). */
async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Resolves once something accepts TCP connections on the port, or throws after `timeoutMs`. */
async function waitForPort(port, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise((resolve) => {
      const socket = connect({ host: '127.0.0.1', port }, () => resolve(socket.end() && true));
      socket.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`pgbouncer did not listen on ${port} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Starts PgBouncer for `database` on the server at `upstream` (host, port, user; trust auth as on the bench server).
 * `tlsDir` holds the emulator's server.pem and server-key.pem. As root it runs as the `postgres` account (PgBouncer
 * refuses root). Returns its port, pid and stop().
 * Options for benchmark 7 (proxy): `clientTls: false` listens in plain text (a local hop, as `lakebase proxy`),
 * `server` = `{ password, caFile }` logs in to a TLS server (the emulator's front door) with verify-full and a password
 * (a database token).
 */
export async function startPgBouncer({ upstream, database, tlsDir, clientTls = true, server }) {
  const version = await run('pgbouncer', ['--version']).catch(() => undefined);
  if (!version) throw new Error('pgbouncer not found: apt-get update && apt-get install -y pgbouncer');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'lakebase-bench-pgbouncer-'));
  const port = await freePort();
  const cert = path.join(dir, 'server.pem');
  const key = path.join(dir, 'server-key.pem');
  await copyFile(path.join(tlsDir, 'server.pem'), cert);
  await copyFile(path.join(tlsDir, 'server-key.pem'), key);
  if (server) await copyFile(server.caFile, path.join(dir, 'ca.pem'));
  const config = path.join(dir, 'pgbouncer.ini');
  await writeFile(path.join(dir, 'users.txt'), `"${upstream.user}" ""\n`);
  await writeFile(
    config,
    [
      '[databases]',
      `${database} = host=${upstream.host} port=${upstream.port} dbname=${upstream.database ?? database} user=${upstream.user}${server ? ` password='${server.password}'` : ''}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = trust',
      `auth_file = ${path.join(dir, 'users.txt')}`,
      'pool_mode = session',
      'max_client_conn = 200',
      'default_pool_size = 50',
      ...(clientTls
        ? ['client_tls_sslmode = require', `client_tls_cert_file = ${cert}`, `client_tls_key_file = ${key}`]
        : []),
      ...(server ? ['server_tls_sslmode = verify-full', `server_tls_ca_file = ${path.join(dir, 'ca.pem')}`] : []),
      'ignore_startup_parameters = extra_float_digits,options',
      `logfile = ${path.join(dir, 'pgbouncer.log')}`,
      'log_connections = 0',
      'log_disconnections = 0',
      '',
    ].join('\n'),
  );
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const uid = Number(stdout.trim());
    for (const file of [
      dir,
      cert,
      key,
      config,
      path.join(dir, 'users.txt'),
      ...(server ? [path.join(dir, 'ca.pem')] : []),
    ])
      await chown(file, uid, uid);
  }
  const child = spawn('pgbouncer', ['-q', ...(asRoot ? ['-u', 'postgres'] : []), config], { stdio: 'inherit' });
  await waitForPort(port, 5000);
  return {
    port,
    pid: child.pid,
    async stop() {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
