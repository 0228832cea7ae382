import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chown, mkdir, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { quoteIdent } from '@lakebase-kit/client/toolkit';
import type pg from 'pg';
import { EmulatorError } from '../errors.js';
import { type PostgresBinaries, reachableBinaries } from './embedded-binaries.js';
import { type Account, clusterHome, serverAccount } from './embedded-cluster-home.js';
import {
  childEnv,
  freePort,
  type Listener,
  type PostgresProcess,
  PRIMARY_SOCKET_PORT,
  privateSocketDir,
  removeSocketDir,
  spawnServer,
  stopStaleServer,
  superuserConfig,
} from './embedded-process.js';

const run = promisify(execFile);

/** The emulator's own superuser on its embedded server. Only the front door's provisioning uses it. */
export const EMBEDDED_SUPERUSER = 'lakebase_emulator_superuser';

/** Options of {@link EmbeddedPostgresServer.start}. */
export interface EmbeddedServerOptions {
  /**
   * The emulator's data dir; the cluster lives in `<dataDir>/postgres/data`, or, as root when the server's account
   * cannot reach the data dir, in a dir of its own under /var/lib/lakebase-emulator (see `clusterHome`).
   */
  dataDir: string;
  binaries: PostgresBinaries;
  /** The database that must exist (Lakebase's `databricks_postgres`). */
  database: string;
  /** Bound on initdb, on the server becoming ready, and on its shutdown. Default 30 000 ms. */
  timeoutMs?: number;
}

/** What the standby needs to know about its primary's cluster (see embedded-standby.ts). */
export interface ClusterContext {
  binaries: PostgresBinaries;
  /** The server's account when we are root. */
  account: Account | undefined;
  /** The dir that holds `data` (and the standby's copy next to it). */
  home: string;
  data: string;
  /** `<dataDir>/postgres`: the server log and the superuser password. */
  root: string;
  listener: Listener;
  password: string;
  timeoutMs: number;
}

/**
 * A real PostgreSQL run from the platform's build in the data dir: initialised once (initdb), started listening only
 * on a Unix socket in a private directory (see {@link Listener}), and stopped with the emulator. A server still
 * running from a crashed run (the watchdog killed too, or Windows) is found through `postmaster.pid` and stopped
 * before the new one starts.
 */
export class EmbeddedPostgresServer {
  private constructor(
    private readonly postgres: PostgresProcess,
    readonly cluster: ClusterContext,
    private readonly socket: { dir: string; temporary: boolean } | undefined,
    /** A connection string of the superuser for the Lakebase database (no password on POSIX: the socket is private). */
    readonly adminUrl: string,
  ) {}

  /** The number the server listens under: the socket's name on POSIX, the TCP port on Windows. */
  get port(): number {
    return this.cluster.listener.port;
  }

  /** The superuser's connection settings for `database`. */
  admin(database: string): pg.ClientConfig {
    return superuserConfig(this.cluster.listener, EMBEDDED_SUPERUSER, database, this.cluster.password);
  }

  static async start(options: EmbeddedServerOptions): Promise<EmbeddedPostgresServer> {
    const timeoutMs = options.timeoutMs ?? 30_000;
    const root = path.join(options.dataDir, 'postgres');
    const account = await serverAccount();
    await mkdir(root, { recursive: true, mode: 0o700 });
    const home = await clusterHome(options.dataDir, root, account);
    const data = path.join(home, 'data');
    const binaries = account ? await reachableBinaries(options.binaries, account) : options.binaries;
    const password = await adminPassword(root);
    await initialiseOnce(binaries, data, password, account, timeoutMs);
    await stopStaleServer(data, timeoutMs);
    await writeHba(data, account);
    const socket = process.platform === 'win32' ? undefined : await privateSocketDir(home, account);

    const log = await open(path.join(root, 'server.log'), 'a', 0o600);
    try {
      for (let attempt = 1; ; attempt++) {
        const listener = { socketDir: socket?.dir, port: socket ? PRIMARY_SOCKET_PORT : await freePort() };
        const cluster = { binaries, account, home, data, root, listener, password, timeoutMs };
        const child = spawnServer({ binaries, data, listener, logFd: log.fd, account, settings: [], timeoutMs });
        const adminUrl = socket
          ? `postgresql://${EMBEDDED_SUPERUSER}@localhost:${listener.port}/${encodeURIComponent(options.database)}?host=${encodeURIComponent(socket.dir)}`
          : `postgresql://${EMBEDDED_SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${listener.port}/${encodeURIComponent(options.database)}`;
        const server = new EmbeddedPostgresServer(child, cluster, socket, adminUrl);
        try {
          await child.waitReady(server.admin('postgres'), async (client) => {
            const found = await client.query('select 1 from pg_database where datname = $1', [options.database]);
            if (!found.rowCount) await client.query(`create database ${quoteIdent(options.database)}`);
          });
          return server;
        } catch (error) {
          await child.stop();
          // On TCP another process may have taken the free port between our probe and the server's bind: try again.
          if (attempt >= 3 || socket) {
            if (socket) await removeSocketDir(socket);
            const tail = (await readFile(path.join(root, 'server.log'), 'utf8').catch(() => '')).slice(-800);
            throw new EmulatorError(
              'EMULATOR_STORAGE_UNAVAILABLE',
              `The embedded PostgreSQL in ${data} did not start: ${(error as Error).message}\n${tail}`,
              `See ${path.join(root, 'server.log')}. Use --storage pglite (EmulatorOptions.storage: 'pglite') to run without it, or move ${root} aside to start from an empty database.`,
              { cause: error },
            );
          }
        }
      }
    } finally {
      await log.close(); // the child has its own copy of the descriptor
    }
  }

  /** Fast shutdown (sessions are ended, data is on disk), bounded; then the server is killed. */
  async stop(): Promise<void> {
    await this.postgres.stop();
    if (this.socket) await removeSocketDir(this.socket);
  }
}

/** The superuser's password: random, made once, kept next to the cluster (mode 0600). */
async function adminPassword(root: string): Promise<string> {
  const file = path.join(root, 'superuser-password');
  const existing = await readFile(file, 'utf8').catch(() => undefined);
  if (existing?.trim()) return existing.trim();
  const password = randomBytes(24).toString('base64url');
  await writeFile(file, `${password}\n`, { mode: 0o600 });
  return password;
}

/** Runs initdb unless the cluster exists (a half-made cluster from an interrupted initdb is made again). */
async function initialiseOnce(
  binaries: PostgresBinaries,
  data: string,
  password: string,
  account: Account | undefined,
  timeoutMs: number,
): Promise<void> {
  if (await stat(path.join(data, 'PG_VERSION')).catch(() => undefined)) return;
  await rm(data, { recursive: true, force: true });
  await mkdir(data, { mode: 0o700 });
  // Next to the cluster: the one place the server's account surely reaches (the data dir may be out of its reach).
  const pwfile = path.join(path.dirname(data), 'initdb-password');
  await writeFile(pwfile, `${password}\n`, { mode: 0o600 });
  if (account) {
    await chown(data, account.uid, account.gid);
    await chown(pwfile, account.uid, account.gid);
  }
  try {
    await run(
      binaries.initdb,
      [
        `--pgdata=${data}`,
        `--username=${EMBEDDED_SUPERUSER}`,
        `--pwfile=${pwfile}`,
        '--auth=scram-sha-256',
        '--encoding=UTF8',
        '--locale=C',
        '--no-sync', // the server runs with fsync off anyway (see spawnServer)
      ],
      { ...(account ? { uid: account.uid, gid: account.gid } : {}), cwd: data, env: childEnv(), timeout: timeoutMs },
    );
  } catch (error) {
    await rm(data, { recursive: true, force: true });
    throw new EmulatorError(
      'EMULATOR_STORAGE_UNAVAILABLE',
      `initdb failed in ${data}: ${((error as { stderr?: string }).stderr || (error as Error).message).trim()}`,
      'Check free disk space and permissions of the data dir, or use --storage pglite.',
      { cause: error },
    );
  } finally {
    await rm(pwfile, { force: true });
  }
}

/**
 * Who may log in, written at every start (a cluster made by an older emulator listened on TCP with passwords). On
 * POSIX: only over the private socket, where whoever reaches it is this process or root, so trust; this covers the
 * standby's replication connection too. A password a client sets with ALTER ROLE is never asked for. On Windows
 * (TCP on loopback): the superuser's password, and the relay's per-role passwords.
 */
async function writeHba(data: string, account: Account | undefined): Promise<void> {
  const rules =
    process.platform === 'win32'
      ? 'host all all 127.0.0.1/32 scram-sha-256\nhost replication all 127.0.0.1/32 scram-sha-256\n'
      : 'local all all trust\nlocal replication all trust\n';
  const file = path.join(data, 'pg_hba.conf');
  await writeFile(file, rules, { mode: 0o600 });
  if (account) await chown(file, account.uid, account.gid);
}
