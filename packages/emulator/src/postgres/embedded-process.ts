/**
 * One embedded PostgreSQL server process (the primary or its hot standby): how it is spawned behind a watchdog, where
 * it listens, how we wait for it to answer and how it is stopped. What each server is for lives in
 * embedded-server.ts and embedded-standby.ts.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { chmod, chown, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { settlesWithin } from '@lakebase-kit/client/toolkit';
import pg from 'pg';
import type { PostgresBinaries } from './embedded-binaries.js';
import type { Account } from './embedded-cluster-home.js';

/**
 * Where a server listens. On POSIX only a Unix socket in a private directory (mode 0700, the server account's): no TCP
 * listener, so nothing but this process (and root) can reach storage, whatever password a client sets with ALTER ROLE.
 * `port` then only names the socket (`.s.PGSQL.<port>`). Windows has no Unix sockets Node can reach, so there it is
 * TCP on 127.0.0.1 with a password (see the README).
 */
export interface Listener {
  /** The socket directory; undefined on Windows (TCP on loopback). */
  socketDir: string | undefined;
  port: number;
}

/** The socket name of the primary; the standby's is the next one. Only names a file in the private directory. */
export const PRIMARY_SOCKET_PORT = 5432;

/** A private socket directory for the cluster in `home`, owned by `account` (the server's, when we are root). */
export async function privateSocketDir(
  home: string,
  account: Account | undefined,
): Promise<{ dir: string; temporary: boolean }> {
  let dir = path.join(home, 'socket');
  let temporary = false;
  // A socket path has a limit of about 107 bytes (sun_path); a deep data dir gets a private dir in the temp dir.
  if (Buffer.byteLength(path.join(dir, '.s.PGSQL.65535.lock')) > 100) {
    dir = await mkdtemp(path.join(os.tmpdir(), 'lakebase-pg-'));
    temporary = true;
  } else await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  if (account) await chown(dir, account.uid, account.gid);
  return { dir, temporary };
}

/** The superuser's connection settings for a server at `listener`. */
export function superuserConfig(
  listener: Listener,
  user: string,
  database: string,
  password: string | undefined,
): pg.ClientConfig {
  return listener.socketDir
    ? { host: listener.socketDir, port: listener.port, user, database }
    : { host: '127.0.0.1', port: listener.port, user, database, password };
}

/** A server process behind the watchdog (see {@link spawnServer}). */
export class PostgresProcess {
  readonly exited: Promise<void>;

  constructor(
    private readonly child: ChildProcess,
    private readonly timeoutMs: number,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Connects until the server answers and `check` passes, bounded by `timeoutMs`. */
  async waitReady(config: pg.ClientConfig, check: (client: pg.Client) => Promise<void>): Promise<void> {
    const deadline = Date.now() + this.timeoutMs;
    for (;;) {
      const client = new pg.Client({ ...config, connectionTimeoutMillis: 2_000 });
      client.on('error', () => {});
      try {
        await client.connect();
        await check(client);
        return;
      } catch (error) {
        if (!this.running) throw new Error('the server exited during startup');
        if (Date.now() > deadline) throw error;
        await new Promise((r) => setTimeout(r, 50));
      } finally {
        await client.end().catch(() => {});
      }
    }
  }

  /** Fast shutdown (sessions are ended, data is on disk), bounded; then the server is killed. */
  async stop(): Promise<void> {
    if (!this.running) return;
    if (this.child.stdin) this.child.stdin.end();
    else this.child.kill('SIGINT'); // no watchdog (Windows): ask the server itself
    const stopped = await settlesWithin(this.exited, this.timeoutMs);
    if (!stopped) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }
}

/**
 * Starts `postgres -D data` listening at `listener`, with `settings` (name=value) on its command line. On POSIX a
 * small `sh` watchdog between us and the server stops it (fast shutdown) as soon as our end of its stdin pipe closes,
 * which the kernel does when this process dies in any way, SIGKILL included.
 */
export function spawnServer(options: {
  binaries: PostgresBinaries;
  data: string;
  listener: Listener;
  logFd: number;
  account: Account | undefined;
  settings: string[];
  timeoutMs: number;
}): PostgresProcess {
  const { binaries, data, listener, logFd, account } = options;
  const listen = listener.socketDir
    ? ['listen_addresses=', `unix_socket_directories=${listener.socketDir}`, 'unix_socket_permissions=0700']
    : ['listen_addresses=127.0.0.1', 'unix_socket_directories='];
  const settings = [
    ...listen,
    // Test data on a developer machine: durable across a killed emulator or server (the OS has the writes), not
    // across a power loss, and much faster on slow disks.
    'fsync=off',
    // Each front-door session is a backend: PostgreSQL's default of 100 is below what a pool with overflow can open.
    // A hot standby needs at least its primary's value.
    'max_connections=500',
    ...options.settings,
  ];
  const args = ['-D', data, '-p', String(listener.port), ...settings.flatMap((s) => ['-c', s])];
  const ids = account ? { uid: account.uid, gid: account.gid } : {};
  if (process.platform === 'win32') {
    const child = spawn(binaries.postgres, args, { cwd: data, env: childEnv(), stdio: ['ignore', logFd, logFd] });
    return new PostgresProcess(child, options.timeoutMs);
  }
  // The watchdog: the server's stdin is /dev/null; ours is read on fd 3 and EOF there means "stop".
  const script = 'exec 3<&0; "$@" </dev/null & pg=$!; { read -r _ <&3; kill -INT "$pg" 2>/dev/null; } & wait "$pg"';
  const child = spawn('/bin/sh', ['-c', script, 'sh', binaries.postgres, ...args], {
    ...ids,
    cwd: data,
    env: childEnv(),
    detached: true, // its own process group: a Ctrl-C in the terminal reaches us, and we stop the server in order
    stdio: ['pipe', logFd, logFd],
  });
  child.unref();
  (child.stdin as unknown as { unref?: () => void }).unref?.();
  return new PostgresProcess(child, options.timeoutMs);
}

export function childEnv(): Record<string, string> {
  // Nothing of ours (tokens, secrets in the environment) reaches the server; messages in English for the log.
  return { LC_ALL: 'C', LANG: 'C', PATH: '/usr/bin:/bin' };
}

/**
 * Stops a server left running in `data` by an emulator that died (we hold the data dir lock, so no live emulator
 * owns it): fast shutdown, bounded, then SIGKILL.
 */
export async function stopStaleServer(data: string, timeoutMs: number): Promise<void> {
  const pidFile = await readFile(path.join(data, 'postmaster.pid'), 'utf8').catch(() => undefined);
  const pid = Number.parseInt(pidFile ?? '', 10);
  if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) return;
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => 'postgres');
  if (!cmdline.includes('postgres')) return; // the pid was reused by something else
  process.kill(pid, 'SIGINT');
  const deadline = Date.now() + timeoutMs;
  while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (alive(pid)) process.kill(pid, 'SIGKILL');
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A port free on 127.0.0.1 right now (Windows, where the server listens on TCP). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

/** Removes a socket directory made in the temp dir (see {@link privateSocketDir}). */
export async function removeSocketDir(socket: { dir: string; temporary: boolean }): Promise<void> {
  if (socket.temporary) await rm(socket.dir, { recursive: true, force: true });
}
