import type { Duplex } from 'node:stream';
import { quoteIdent } from '@lakebase-kit/client/toolkit';
import type { CreatedDatabaseLookup } from '../contracts.js';
import type { CreatedDatabaseName } from '../database-names.js';

/** What the front door hands to storage once a login has been authorized. */
export interface SessionRequest {
  /** The PostgreSQL role the session runs as (the Databricks identity: an email or a service principal UUID). */
  role: string;
  /** The Lakebase database name the client asked for (e.g. `databricks_postgres`). */
  database: string;
  /** The client's StartupMessage parameters (application_name, client_encoding, options, ...), user/database included. */
  params: Record<string, string>;
  /** A read-only host's session: on the embedded storage it runs on a hot standby (embedded-standby.ts); others refuse it. */
  readOnly?: boolean;
  /** Bytes the client sent after its password message, if any; storage must treat them as the first input. */
  pending?: Buffer;
  /**
   * A native password role's own password, already checked against its verifier: the session logs in with it and
   * the role is not provisioned (it is the owner's to manage). Never log it.
   */
  password?: string;
  /**
   * A table-scoped token's tables (`schema.table`): the session runs as a derived role that may only SELECT these
   * (role-scoped.ts), not as `role` itself.
   */
  tables?: string[];
  /** The branch the session is on (its storage key); undefined for default branches and instances. */
  branchKey?: string;
  /** `database` was made by a client with CREATE DATABASE: storage never creates it or grants on it. */
  created?: boolean;
}

/** A session storage has taken over. */
export interface StorageSession {
  /** The process id sent to the client in BackendKeyData (what a CancelRequest names). */
  readonly processId: number;
  /** Ends the session and its client socket. */
  close(): void;
}

/**
 * Where sessions run once the front door has authenticated them. `openSession` owns the client stream from then on:
 * it sends AuthenticationOk, ParameterStatus, BackendKeyData and ReadyForQuery and relays the session until either
 * side closes. If the session cannot be opened it rejects with a {@link StorageError} before writing anything, and
 * the front door reports it to the client as a FATAL error.
 */
export interface SessionStorage {
  /** Short description for logs, e.g. `pglite:/data/pglite` or `postgresql://127.0.0.1:5432/test`. */
  readonly description: string;
  /**
   * Opens (or reaches) the storage of `database` up front, so a damaged data dir or an unreachable upstream is
   * reported when the emulator starts, not as a vague refusal at the first login.
   */
  prepare(database: string): Promise<void>;
  openSession(request: SessionRequest, client: Duplex): Promise<StorageSession>;
  /** Handles a CancelRequest (best effort, like PostgreSQL: no answer is ever sent). */
  cancel(processId: number, secretKey: number): void;
  /** Ends all sessions and releases storage (flushes PGlite to disk, closes upstream pools). */
  close(): Promise<void>;
  /** Branch copies (see {@link BranchDataStorage}). */
  copyDatabase(source: string, target: string): Promise<void>;
  dropDatabase(name: string): Promise<void>;
  /**
   * Makes a role (LOGIN, or NOLOGIN for a group or NO_LOGIN role) with an app role's grants on `database`, before any
   * login; `adminRole` gets ADMIN OPTION on it (the owner, for a native password role it sets the password of).
   */
  createRole?(role: string, database: string, login: boolean, adminRole?: string): Promise<void>;
  /** Makes an existing role a member of `databricks_superuser` (and nothing more). */
  addSuperuserMember?(role: string): Promise<void>;
  /** The role's password verifier from the catalog (`SCRAM-SHA-256$...`), undefined when it has none. */
  roleVerifier?(role: string): Promise<string | undefined>;
  /** Whether the role exists in storage (one made in SQL with `databricks_create_role`). */
  roleExists?(role: string): Promise<boolean>;
  /** Makes `role` (the owner) exist and be a member of `databricks_superuser`, who alone may create roles. */
  addSuperuser?(role: string, database: string): Promise<void>;
  /** A database a client made with CREATE DATABASE on the branch `branchKey` (see CreatedDatabaseCatalog). */
  createdDatabase(name: CreatedDatabaseName, branchKey: string | undefined): Promise<CreatedDatabaseLookup>;
  /** Drops the databases clients made on a deleted branch. */
  dropCreatedDatabases?(branchKey: string): Promise<void>;
}

/** A session could not be opened; `sqlstate`/`message` go to the client in a FATAL ErrorResponse. */
export class StorageError extends Error {
  constructor(
    readonly sqlstate: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StorageError';
  }
}

/**
 * The grants a Lakebase app role gets on its database: it may connect and create schemas, and use and create in
 * schema public. It is deliberately not a superuser, so ownership and "permission denied" behave as on Lakebase.
 * Run by a superuser connected to `database`.
 */
export function roleGrantsSql(role: string, database: string): string {
  const r = quoteIdent(role);
  return `GRANT CONNECT, CREATE ON DATABASE ${quoteIdent(database)} TO ${r}; GRANT USAGE, CREATE ON SCHEMA public TO ${r};`;
}

/** Minimal logger shape shared by the front door and storages. */
export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** A logger that drops everything. */
export const silentLogger: Logger = { info() {}, warn() {}, error() {} };

/** A FIFO async mutex: callers get the lock in arrival order. */
export class FifoLock {
  private held = false;
  private readonly waiters: ((acquired: boolean) => void)[] = [];

  /** Resolves true once the lock is held, or false if `timeoutMs` passed first (the caller then does not hold it). */
  acquire(timeoutMs?: number): Promise<boolean> {
    if (!this.held) {
      this.held = true;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const waiter = (acquired: boolean) => {
        clearTimeout(timer);
        resolve(acquired);
      };
      this.waiters.push(waiter);
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          const i = this.waiters.indexOf(waiter);
          if (i >= 0) this.waiters.splice(i, 1);
          resolve(false);
        }, timeoutMs);
        timer.unref();
      }
    });
  }

  release(): void {
    const next = this.waiters.shift();
    if (next) next(true);
    else this.held = false;
  }
}
