import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chown, mkdir, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { EmulatorError } from '../errors.js';
import { type PostgresBinaries, reachableBinaries } from './embedded-binaries.js';
import { type Account, clusterHome, serverAccount } from './embedded-cluster-home.js';
import { quoteIdent } from './storage.js';

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

/**
 * A real PostgreSQL run from the platform's build in the data dir: initialised once (initdb), started on a free port
 * on 127.0.0.1 only (no Unix socket) with SCRAM passwords, and stopped with the emulator. On POSIX a small `sh`
 * watchdog between us and the server stops it (fast shutdown) as soon as our end of its stdin pipe closes, which the
 * kernel does when this process dies in any way, SIGKILL included. A server still running from a crashed run (the
 * watchdog killed too, or Windows) is found through `postmaster.pid` and stopped before the new one starts.
 */
export class EmbeddedPostgresServer {
  private exited: Promise<void>;

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    readonly adminUrl: string,
    private readonly timeoutMs: number,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
  }

  static async start(options: EmbeddedServerOptions): Promise<EmbeddedPostgresServer> {
    const timeoutMs = options.timeoutMs ?? 30_000;
    const root = path.join(options.dataDir, 'postgres');
    const account = await serverAccount();
    await mkdir(root, { recursive: true, mode: 0o700 });
    const data = path.join(await clusterHome(options.dataDir, root, account), 'data');
    const binaries = account ? await reachableBinaries(options.binaries, account) : options.binaries;
    const password = await adminPassword(root);
    await initialiseOnce(binaries, data, password, account, timeoutMs);
    await stopStaleServer(data, timeoutMs);

    const log = await open(path.join(root, 'server.log'), 'a', 0o600);
    try {
      for (let attempt = 1; ; attempt++) {
        const port = await freePort();
        const child = spawnServer(binaries, data, port, log.fd, account);
        const adminUrl = `postgresql://${EMBEDDED_SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${port}/`;
        const server = new EmbeddedPostgresServer(
          child,
          port,
          adminUrl + encodeURIComponent(options.database),
          timeoutMs,
        );
        try {
          await server.waitReady(adminUrl, options.database, timeoutMs);
          return server;
        } catch (error) {
          await server.stop();
          // Another process may have taken the free port between our probe and the server's bind: try a new one.
          if (attempt >= 3) {
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

  /** Connects as the superuser until the server answers (bounded), then creates the Lakebase database once. */
  private async waitReady(adminUrl: string, database: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let exited = false;
    void this.exited.then(() => {
      exited = true;
    });
    for (;;) {
      const client = new pg.Client({ connectionString: `${adminUrl}postgres`, connectionTimeoutMillis: 2_000 });
      try {
        await client.connect();
        const found = await client.query('select 1 from pg_database where datname = $1', [database]);
        if (!found.rowCount) await client.query(`create database ${quoteIdent(database)}`);
        return;
      } catch (error) {
        if (exited) throw new Error('the server exited during startup');
        if (Date.now() > deadline) throw error;
        await new Promise((r) => setTimeout(r, 50));
      } finally {
        await client.end().catch(() => {});
      }
    }
  }

  /** Fast shutdown (sessions are ended, data is on disk), bounded; then the server is killed. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    if (this.child.stdin) this.child.stdin.end();
    else this.child.kill('SIGINT'); // no watchdog (Windows): ask the server itself
    const stopped = await Promise.race([
      this.exited.then(() => true),
      new Promise<boolean>((r) => setTimeout(() => r(false), this.timeoutMs).unref()),
    ]);
    if (!stopped) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
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
  // Only TCP on loopback, only with a password: the front door is the one client.
  await writeFile(path.join(data, 'pg_hba.conf'), 'host all all 127.0.0.1/32 scram-sha-256\n');
}

/**
 * Stops a server left running in `data` by an emulator that died (we hold the data dir lock, so no live emulator
 * owns it): fast shutdown, bounded, then SIGKILL.
 */
async function stopStaleServer(data: string, timeoutMs: number): Promise<void> {
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

function childEnv(): Record<string, string> {
  // Nothing of ours (tokens, secrets in the environment) reaches the server; messages in English for the log.
  return { LC_ALL: 'C', LANG: 'C', PATH: '/usr/bin:/bin' };
}

function spawnServer(
  binaries: PostgresBinaries,
  data: string,
  port: number,
  logFd: number,
  account: Account | undefined,
): ChildProcess {
  const args = [
    '-D',
    data,
    '-p',
    String(port),
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    'unix_socket_directories=',
    // Test data on a developer machine: durable across a killed emulator or server (the OS has the writes), not
    // across a power loss, and much faster on slow disks.
    '-c',
    'fsync=off',
    // Each front-door session is a backend: PostgreSQL's default of 100 is below what a pool with overflow can open.
    '-c',
    'max_connections=500',
  ];
  const ids = account ? { uid: account.uid, gid: account.gid } : {};
  if (process.platform === 'win32') {
    return spawn(binaries.postgres, args, { cwd: data, env: childEnv(), stdio: ['ignore', logFd, logFd] });
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
  return child;
}

/** A port free on 127.0.0.1 right now. */
function freePort(): Promise<number> {
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
