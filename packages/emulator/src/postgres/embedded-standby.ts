/**
 * The hot standby that serves read-only hosts on the embedded storage, as Lakebase serves them from hot standbys. A
 * session on it cannot write whatever SQL it sends: PostgreSQL itself answers 25006 (or 0A000 to `BEGIN READ WRITE`)
 * because the server is in recovery, not because anything reads the SQL.
 *
 * It is made when a read-only host is first used: a physical replication slot on the primary (so the WAL the copy
 * needs is kept), a base backup (embedded-base-backup.ts), then `standby.signal` and `primary_conninfo` over the
 * private socket. Replication is asynchronous, like Lakebase's read replicas; a read-only session waits at login
 * until the standby has replayed everything the primary had written when the login began (bounded; see
 * {@link EmbeddedStandby.catchUp}), so a write committed before a read-only login is visible to it. Branch copies are
 * databases of the primary (CREATE DATABASE ... TEMPLATE is WAL-logged), so they reach the standby the same way.
 */
import { open } from 'node:fs/promises';
import path from 'node:path';
import { settlesWithin } from '@lakebase-kit/client/toolkit';
import pg from 'pg';
import { baseBackup, removeCopy, writeOwned } from './embedded-base-backup.js';
import { freePort, type PostgresProcess, spawnServer, stopStaleServer, superuserConfig } from './embedded-process.js';
import { type ClusterContext, EMBEDDED_SUPERUSER, type EmbeddedPostgresServer } from './embedded-server.js';
import type { Logger } from './storage.js';
import type { UpstreamTarget } from './upstream-connect.js';

/** How long a read-only login waits for the standby to replay the primary's WAL before it goes ahead (and warns). */
export const CATCH_UP_TIMEOUT_MS = 10_000;

/** The physical replication slot on the primary that keeps the WAL the standby has not received yet. */
const STANDBY_SLOT = 'lakebase_standby';

/** The application_name the standby's WAL receiver uses (pg_stat_replication shows it). */
const STANDBY_NAME = 'lakebase_standby';

/** A running hot standby of the embedded primary. */
export class EmbeddedStandby {
  private constructor(
    private readonly postgres: PostgresProcess,
    private readonly primary: EmbeddedPostgresServer,
    private readonly dir: string,
    /** Where read-only sessions connect (the same private socket directory, the next socket name). */
    readonly target: UpstreamTarget,
    private readonly logger: Logger,
  ) {}

  /**
   * Stops and removes a standby left by an emulator that died, and drops its slot: a slot nobody uses keeps WAL on the
   * primary forever.
   */
  static async removeLeftover(primary: EmbeddedPostgresServer): Promise<void> {
    const dir = path.join(primary.cluster.home, 'standby');
    await stopStaleServer(dir, primary.cluster.timeoutMs);
    await dropSlot(primary);
    await removeCopy(dir);
  }

  /** Makes and starts the standby of `primary`; bounded by the primary's timeout at each step. */
  static async start(primary: EmbeddedPostgresServer, logger: Logger): Promise<EmbeddedStandby> {
    const cluster = primary.cluster;
    const dir = path.join(cluster.home, 'standby');
    await EmbeddedStandby.removeLeftover(primary);
    const admin = new pg.Client({ ...primary.admin('postgres'), connectionTimeoutMillis: cluster.timeoutMs });
    admin.on('error', () => {});
    await admin.connect();
    try {
      await admin.query(
        'SELECT pg_create_physical_replication_slot($1, true) WHERE NOT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = $1)',
        [STANDBY_SLOT],
      );
      await baseBackup(admin, cluster.data, dir, cluster.account);
    } finally {
      await admin.end().catch(() => {});
    }
    await writeOwned(path.join(dir, 'standby.signal'), '', cluster.account);

    const socketDir = cluster.listener.socketDir;
    const listener = { socketDir, port: socketDir ? cluster.listener.port + 1 : await freePort() };
    const log = await open(path.join(cluster.root, 'standby.log'), 'a', 0o600);
    let postgres: PostgresProcess;
    try {
      postgres = spawnServer({
        binaries: cluster.binaries,
        data: dir,
        listener,
        logFd: log.fd,
        account: cluster.account,
        settings: standbySettings(cluster),
        timeoutMs: cluster.timeoutMs,
      });
    } finally {
      await log.close();
    }
    const standby = new EmbeddedStandby(
      postgres,
      primary,
      dir,
      { host: listener.socketDir ?? '127.0.0.1', port: listener.port, ssl: false, connectTimeoutMs: 10_000 },
      logger,
    );
    try {
      // A hot standby takes connections once it has replayed up to a consistent point.
      await postgres.waitReady(
        superuserConfig(listener, EMBEDDED_SUPERUSER, 'postgres', cluster.password),
        async (c) => {
          await c.query('SELECT 1');
        },
      );
    } catch (error) {
      await standby.stop();
      throw error;
    }
    return standby;
  }

  /** False once the server has exited (crashed or killed): the storage then makes a new one. */
  get running(): boolean {
    return this.postgres.running;
  }

  /** Whether the server exits within `timeoutMs` (after a refused connection: was it dying?). */
  exitsWithin(timeoutMs: number): Promise<boolean> {
    return settlesWithin(this.postgres.exited, timeoutMs);
  }

  /**
   * Waits until the standby has replayed the primary's WAL as of now (bounded by `timeoutMs`). Resolves false if it
   * did not in time: the session then goes ahead and may read a moment-old state, as on a lagging replica.
   */
  async catchUp(timeoutMs = CATCH_UP_TIMEOUT_MS): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    const lsn = await queryOne(this.primary.admin('postgres'), 'SELECT pg_current_wal_lsn()::text AS v', []);
    const standby = new pg.Client({
      ...superuserConfig(
        { socketDir: this.target.host.startsWith('/') ? this.target.host : undefined, port: this.target.port },
        EMBEDDED_SUPERUSER,
        'postgres',
        this.primary.cluster.password,
      ),
      connectionTimeoutMillis: timeoutMs,
    });
    standby.on('error', () => {});
    try {
      await standby.connect();
      for (let attempt = 0; ; attempt++) {
        const { rows } = await standby.query('SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS done', [lsn]);
        if (rows[0]?.done) return true;
        if (Date.now() >= deadline || !this.postgres.running) break;
        await new Promise((r) => setTimeout(r, Math.min(50, 1 + attempt * 2)));
      }
    } catch (error) {
      this.logger.warn('standby catch-up check failed', { error: String(error) });
      return false;
    } finally {
      await standby.end().catch(() => {});
    }
    this.logger.warn('standby did not catch up with the primary in time', { timeoutMs });
    return false;
  }

  /** Stops the standby, drops its slot on the primary (it would keep WAL forever) and removes its copy. */
  async stop(): Promise<void> {
    await this.postgres.stop();
    await dropSlot(this.primary).catch((error) =>
      this.logger.warn('standby slot not dropped', { error: String(error) }),
    );
    await removeCopy(this.dir);
  }
}

function dropSlot(primary: EmbeddedPostgresServer): Promise<string> {
  return queryOne(
    primary.admin('postgres'),
    'SELECT count(pg_drop_replication_slot(slot_name))::text AS v FROM pg_replication_slots WHERE slot_name = $1 AND NOT active',
    [STANDBY_SLOT],
  );
}

function standbySettings(cluster: ClusterContext): string[] {
  const conninfo = cluster.listener.socketDir
    ? `host=${cluster.listener.socketDir} port=${cluster.listener.port}`
    : `host=127.0.0.1 port=${cluster.listener.port} password=${cluster.password}`;
  return [
    `primary_conninfo=${conninfo} user=${EMBEDDED_SUPERUSER} application_name=${STANDBY_NAME}`,
    `primary_slot_name=${STANDBY_SLOT}`,
    'hot_standby=on',
    // Vacuum on the primary does not cancel the standby's queries (Lakebase replicas do the same).
    'hot_standby_feedback=on',
  ];
}

async function queryOne(config: pg.ClientConfig, sql: string, params: unknown[]): Promise<string> {
  const client = new pg.Client({ ...config, connectionTimeoutMillis: 10_000 });
  client.on('error', () => {});
  await client.connect();
  try {
    const { rows } = await client.query<{ v: string }>(sql, params);
    return rows[0]?.v ?? '';
  } finally {
    await client.end().catch(() => {});
  }
}
