import path from 'node:path';
import type { Duplex } from 'node:stream';
import type { PostgresBinaries } from './embedded-binaries.js';
import { removeExternalCluster } from './embedded-cluster-home.js';
import { EMBEDDED_SUPERUSER, EmbeddedPostgresServer } from './embedded-server.js';
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
 * The default storage: a real PostgreSQL started from the data dir, reached through the same relay as `--upstream`.
 * Each client session is its own backend logged in as its role (non-superuser); the emulator's superuser is only used
 * to make roles and databases and is refused as a login role.
 */
export class EmbeddedPostgresStorage implements SessionStorage {
  readonly description: string;

  private constructor(
    private readonly server: EmbeddedPostgresServer,
    private readonly relay: UpstreamStorage,
    private readonly roles: string[],
    private readonly removeOnClose: string | undefined,
  ) {
    this.description = `embedded PostgreSQL ${server.port}`;
  }

  static async start(options: EmbeddedStorageOptions): Promise<EmbeddedPostgresStorage> {
    const server = await EmbeddedPostgresServer.start({
      dataDir: options.dataDir,
      binaries: options.binaries,
      database: options.defaultDatabase,
    });
    const relay = new UpstreamStorage({
      url: server.adminUrl,
      defaultDatabase: options.defaultDatabase,
      logger: options.logger ?? silentLogger,
      ownsServer: true,
    });
    const root = path.join(options.dataDir, 'postgres');
    return new EmbeddedPostgresStorage(server, relay, options.roles, options.temporary ? root : undefined);
  }

  async prepare(database: string): Promise<void> {
    await this.relay.prepare(database);
    for (const role of this.roles) await this.relay.provision(role, database);
  }

  openSession(request: SessionRequest, client: Duplex): Promise<StorageSession> {
    if (request.role === EMBEDDED_SUPERUSER) {
      return Promise.reject(new StorageError('28000', `role "${request.role}" is reserved by the emulator`));
    }
    return this.relay.openSession(request, client);
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

  createRole(role: string, database: string, login: boolean): Promise<void> {
    return this.relay.createRole(role, database, login);
  }

  roleExists(role: string): Promise<boolean> {
    return this.relay.roleExists(role);
  }

  addSuperuser(role: string, database: string): Promise<void> {
    return this.relay.addSuperuser(role, database);
  }

  async close(): Promise<void> {
    await this.relay.close();
    await this.server.stop();
    if (this.removeOnClose) await removeExternalCluster(this.removeOnClose);
  }
}
