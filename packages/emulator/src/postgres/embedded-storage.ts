import path from 'node:path';
import type { Duplex } from 'node:stream';
import type { CreatedDatabaseLookup } from '../contracts.js';
import type { CreatedDatabaseName } from '../database-names.js';
import type { PostgresBinaries } from './embedded-binaries.js';
import { removeExternalCluster } from './embedded-cluster-home.js';
import { EMBEDDED_SUPERUSER, EmbeddedPostgresServer } from './embedded-server.js';
import { EmbeddedStandby } from './embedded-standby.js';
import {
  type Logger,
  type SessionRequest,
  type SessionStorage,
  StorageError,
  type StorageSession,
  silentLogger,
} from './storage.js';
import { UpstreamStorage } from './upstream-storage.js';

/** Options of {@link EmbeddedPostgresStorage.start}. */
export interface EmbeddedStorageOptions {
  dataDir: string;
  binaries: PostgresBinaries;
  /** Lakebase's database name (`databricks_postgres`): the cluster's database of that name. */
  defaultDatabase: string;
  /** Roles made up front (the workspace identities), so grants to them work before their first login. */
  roles: string[];
  /**
   * The data dir is removed after `close()` (the emulator's temporary one): a cluster kept outside it (as root, see
   * `clusterHome`) is then removed by `close()` too.
   */
  temporary?: boolean;
  logger?: Logger;
}

/**
 * The default storage: a real PostgreSQL started from the data dir, reached through the same relay as `--upstream`
 * over its private socket. Each client session is its own backend logged in as its role (non-superuser); the
 * emulator's superuser is only used to make roles and databases and is refused as a login role. Sessions of
 * read-only hosts run on a hot standby of it, started when the first one logs in (embedded-standby.ts).
 */
export class EmbeddedPostgresStorage implements SessionStorage {
  readonly description: string;
  private standby: Promise<EmbeddedStandby> | undefined;
  private closing = false;

  private constructor(
    private readonly server: EmbeddedPostgresServer,
    private readonly relay: UpstreamStorage,
    private readonly roles: string[],
    private readonly removeOnClose: string | undefined,
    private readonly logger: Logger,
  ) {
    this.description = `embedded PostgreSQL ${server.cluster.listener.socketDir ?? `127.0.0.1:${server.port}`}`;
  }

  static async start(options: EmbeddedStorageOptions): Promise<EmbeddedPostgresStorage> {
    const server = await EmbeddedPostgresServer.start({
      dataDir: options.dataDir,
      binaries: options.binaries,
      database: options.defaultDatabase,
    });
    try {
      await EmbeddedStandby.removeLeftover(server);
    } catch (error) {
      await server.stop();
      throw error;
    }
    const relay = new UpstreamStorage({
      url: server.adminUrl,
      defaultDatabase: options.defaultDatabase,
      logger: options.logger ?? silentLogger,
      ownsServer: true,
      connectTimeoutMs: 10_000,
    });
    const root = path.join(options.dataDir, 'postgres');
    const logger = options.logger ?? silentLogger;
    return new EmbeddedPostgresStorage(server, relay, options.roles, options.temporary ? root : undefined, logger);
  }

  async prepare(database: string): Promise<void> {
    await this.relay.prepare(database);
    for (const role of this.roles) await this.relay.provision(role, database);
  }

  async openSession(request: SessionRequest, client: Duplex): Promise<StorageSession> {
    if (request.role === EMBEDDED_SUPERUSER) {
      throw new StorageError('28000', `role "${request.role}" is reserved by the emulator`);
    }
    if (!request.readOnly) return this.relay.openSession(request, client);
    const standby = await this.liveStandby();
    try {
      return await this.openOnStandby(standby, request, client);
    } catch (error) {
      // Refused because the standby just died (its exit not yet seen): one more try on a new one. Nothing has been
      // written to the client yet.
      if (!(await standby.exitsWithin(1_000))) throw error;
      return this.openOnStandby(await this.liveStandby(), request, client);
    }
  }

  private openOnStandby(standby: EmbeddedStandby, request: SessionRequest, client: Duplex): Promise<StorageSession> {
    return this.relay.openSession(request, client, {
      target: standby.target,
      // The role and database were just made on the primary: the standby must have them before the login.
      ready: async () => {
        await standby.catchUp();
      },
    });
  }

  /**
   * The standby, started once by the first read-only login; a failed start is retried by the next one, and one that
   * has exited since (killed, out of disk) is replaced, once, by whichever login finds it dead first.
   */
  private async liveStandby(): Promise<EmbeddedStandby> {
    if (this.closing) throw new StorageError('57P01', 'terminating connection due to administrator command');
    let pending = this.standby;
    if (!pending) pending = this.startStandby(async () => {});
    let standby = await this.reachable(pending);
    if (!standby.running) {
      if (this.standby === pending) {
        this.logger.warn('the read-only standby exited; making a new one');
        this.startStandby(() => standby.stop());
      }
      standby = await this.reachable(this.standby ?? pending);
    }
    return standby;
  }

  private startStandby(before: () => Promise<void>): Promise<EmbeddedStandby> {
    const started = before().then(() => EmbeddedStandby.start(this.server, this.logger));
    this.standby = started;
    started.catch((error) => {
      if (this.standby === started) this.standby = undefined;
      this.logger.error('the read-only standby did not start', { error: String(error) });
    });
    return started;
  }

  private reachable(pending: Promise<EmbeddedStandby>): Promise<EmbeddedStandby> {
    return pending.catch((error) => {
      throw new StorageError('57P03', 'the read-only host is not available: its standby did not start', {
        cause: error,
      });
    });
  }

  cancel(processId: number, secretKey: number): void {
    this.relay.cancel(processId, secretKey);
  }

  async copyDatabase(source: string, target: string): Promise<void> {
    await this.relay.copyDatabase(source, target);
    // Roles exist cluster-wide; database-level grants are not part of a template copy.
    for (const role of this.roles) await this.relay.provision(role, target);
  }

  dropDatabase(name: string): Promise<void> {
    return this.relay.dropDatabase(name);
  }

  createdDatabase(name: CreatedDatabaseName, branchKey: string | undefined): Promise<CreatedDatabaseLookup> {
    return this.relay.createdDatabase(name, branchKey);
  }

  dropCreatedDatabases(branchKey: string): Promise<void> {
    return this.relay.dropCreatedDatabases(branchKey);
  }

  createRole(role: string, database: string, login: boolean, adminRole?: string): Promise<void> {
    return this.relay.createRole(role, database, login, adminRole);
  }

  addSuperuserMember(role: string): Promise<void> {
    return this.relay.addSuperuserMember(role);
  }

  roleVerifier(role: string): Promise<string | undefined> {
    return this.relay.roleVerifier(role);
  }

  roleExists(role: string): Promise<boolean> {
    return this.relay.roleExists(role);
  }

  addSuperuser(role: string, database: string): Promise<void> {
    return this.relay.addSuperuser(role, database);
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.relay.close();
    const standby = await this.standby?.catch(() => undefined);
    await standby?.stop();
    await this.server.stop();
    if (this.removeOnClose) await removeExternalCluster(this.removeOnClose);
  }
}
