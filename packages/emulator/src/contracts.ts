/**
 * The seam between the emulator's two halves: the workspace (REST API, identities, tokens, resources) decides who may
 * log in; the PostgreSQL front door speaks the wire protocol and relays sessions to storage. Neither imports the
 * other; `startEmulator` wires them together.
 */

import type { CreatedDatabaseName } from './database-names.js';

/** A Lakebase resource a database token can be minted for. */
export type ResourceRef =
  | { kind: 'instance'; name: string } // Provisioned: database instance name
  | { kind: 'endpoint'; name: string }; // Autoscaling: projects/{p}/branches/{b}/endpoints/{e}

/** What the front door knows about a login attempt once the client has sent its password. */
export interface LoginRequest {
  /** TLS SNI server name the client sent, or undefined (clients send none when connecting to an IP address). */
  serverName: string | undefined;
  /** `user` from the startup message. */
  user: string;
  /** `database` from the startup message (defaults to the user name, as in PostgreSQL). */
  database: string;
  /** The cleartext password: must be a database token the emulator minted. Never log it. */
  password: string;
}

/**
 * The verdict on a login. A refusal carries the SQLSTATE and message a real server would send in its FATAL
 * ErrorResponse: 28P01 (bad password/token), 28000 (role does not exist), 3D000 (database does not exist),
 * 57P03 (instance or endpoint not available), and the transient refusals of a waking endpoint (XX000
 * `External authorization failed.`). With `disconnect`, the front door closes the connection without a reply instead.
 */
export type LoginDecision =
  | {
      ok: true;
      role: string;
      database: string;
      resource: ResourceRef;
      /** A read-only host: the session must refuse writes (SQLSTATE 25006). */
      readOnly?: boolean;
      /** A pooled host: the transaction-mode pooler's rules apply. */
      pooled?: boolean;
      /** A native password role: the session logs in to storage with the client's own password. */
      nativePassword?: boolean;
      /** A table-scoped token: the session may only read these tables (`schema.table`). */
      tables?: string[];
      /** The branch whose databases the session sees (its storage key); undefined for default branches and instances. */
      branchKey?: string;
      /** `database` is one a client made with CREATE DATABASE: storage uses it as it is and never creates it. */
      created?: boolean;
    }
  | { ok: false; sqlstate: string; message: string; disconnect?: boolean };

/** Implemented by the workspace; called by the front door once per login. */
export interface LoginAuthority {
  authorizeLogin(request: LoginRequest): Promise<LoginDecision>;
}

/**
 * Implemented by storage, used by the workspace for Autoscaling branches: a branch's databases are copies of its
 * parent's, named `<database>@<branch key>` in storage (a default branch keeps the plain name).
 */
export interface BranchDataStorage {
  /** Makes `target` a copy of `source` as it is now (creating `source` empty first if it never existed). */
  copyDatabase(source: string, target: string): Promise<void>;
  /** Drops `name` and ends its sessions; a missing database is fine. */
  dropDatabase(name: string): Promise<void>;
  /** Drops the databases clients made with CREATE DATABASE on the branch with storage key `branchKey`. */
  dropCreatedDatabases?(branchKey: string): Promise<void>;
}

/** What storage says about a database a client made: there for this branch, not there, or never served here. */
export type CreatedDatabaseLookup = 'found' | 'missing' | { unsupported: string };

/** Implemented by storage, used by the login verdict: the databases clients made with CREATE DATABASE. */
export interface CreatedDatabaseCatalog {
  /**
   * Whether `name` exists and was made on the branch `branchKey` (undefined: the default branches and instances,
   * which share one set of databases).
   */
  createdDatabase(name: CreatedDatabaseName, branchKey: string | undefined): Promise<CreatedDatabaseLookup>;
}
