import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import path from 'node:path';
import { writeFileAtomicSync } from '@lakebase-kit/client/toolkit';
import { EmulatorError } from '../../errors.js';
import { readJsonFile } from './persistence.js';

/** A workspace identity. Users log in with a PAT; the service principal with OAuth M2M. */
export interface IdentityRecord {
  kind: 'user' | 'service_principal';
  /** SCIM id: a numeric string. */
  id: string;
  /** Email for users, application-id UUID for service principals; also the PostgreSQL role. */
  userName: string;
  displayName: string;
  pat?: string;
  clientSecret?: string;
}

/** A Provisioned database instance. State is derived from these fields and the clock, so no timers run. */
export interface InstanceRecord {
  name: string;
  uid: string;
  capacity: string;
  pgVersion: string;
  creator: string;
  creationTime: number;
  enablePgNativeLogin: boolean;
  enableReadableSecondaries: boolean;
  nodeCount: number;
  retentionWindowInDays: number;
  customTags?: Array<{ key: string; value: string }>;
  stopped: boolean;
  /** STARTING until then (set on create and restart). */
  availableAt: number;
  /** Forced STARTING that does not complete on its own (test knob). */
  pinnedStarting: boolean;
}

/** An Autoscaling project. */
export interface ProjectRecord {
  projectId: string;
  uid: string;
  createTime: number;
  updateTime: number;
  displayName: string;
  pgVersion: number;
  owner: string;
  historyRetentionDuration: string;
  enablePgNativeLogin: boolean;
  customTags?: Array<{ key: string; value: string }>;
  defaultEndpointSettings: { minCu: number; maxCu: number; suspendTimeoutDuration: string };
}

/** An Autoscaling branch. */
export interface BranchRecord {
  projectId: string;
  branchId: string;
  uid: string;
  createTime: number;
  updateTime: number;
  isDefault: boolean;
  isProtected: boolean;
  sourceBranch?: string;
  /** INIT until then. */
  readyAt: number;
  /** Expires (is deleted) at this time; undefined: never. */
  expireTime?: number;
  /** Storage copy of the parent's data: INIT while `copying`; undefined on records older than branch data. */
  dataState?: 'copying' | 'ready' | 'failed';
  dataError?: string;
  /** The branch being copied from, while copying (so a restart can finish the copy). */
  copyFrom?: { uid: string; isDefault: boolean };
}

/** An Autoscaling compute endpoint. */
export interface EndpointRecord {
  projectId: string;
  branchId: string;
  endpointId: string;
  uid: string;
  createTime: number;
  updateTime: number;
  endpointType: 'ENDPOINT_TYPE_READ_WRITE' | 'ENDPOINT_TYPE_READ_ONLY';
  minCu: number;
  maxCu: number;
  suspendTimeoutDuration: string;
  disabled: boolean;
  /** INIT until then. */
  readyAt: number;
  /** Forced INIT that does not complete on its own (test knob). */
  pinnedInit: boolean;
  /** Scale to zero off (`no_suspension`): never suspended for idleness. */
  noSuspension?: boolean;
  /** The last login that reached it (workspace clock, ms). */
  lastActiveAt?: number;
  /** Suspended (scaled to zero) since then, until a login wakes it. */
  suspendedAt?: number;
}

/** A long-running operation; its `response` is rendered from the resource when polled. */
export interface OperationRecord {
  name: string;
  kind: 'project' | 'branch' | 'endpoint';
  resourceName: string;
  doneAt: number;
  /** A delete: the response is `google.protobuf.Empty`. */
  deleted?: boolean;
}

/** Everything `workspace.json` holds. */
export interface StateDocument {
  version: 1;
  workspaceId: string;
  identities: IdentityRecord[];
  instances: InstanceRecord[];
  projects: ProjectRecord[];
  branches: BranchRecord[];
  endpoints: EndpointRecord[];
  operations: OperationRecord[];
  /** Storage databases of deleted branches not dropped yet (retried at start). */
  pendingDrops: string[];
}

const STATE_FILE = 'workspace.json';

/** Loads `<dataDir>/workspace.json`, or a fresh document with a new workspace id. */
export function loadState(dataDir: string): StateDocument {
  const file = path.join(dataDir, STATE_FILE);
  const fresh: StateDocument = {
    version: 1,
    workspaceId: newNumericId(),
    identities: [],
    instances: [],
    projects: [],
    branches: [],
    endpoints: [],
    operations: [],
    pendingDrops: [],
  };
  let stored: Partial<StateDocument> | undefined;
  try {
    stored = readJsonFile<Partial<StateDocument>>(file);
  } catch (error) {
    throw new EmulatorError(
      'EMULATOR_STATE_UNREADABLE',
      `Cannot read the emulator state in ${file}: ${(error as Error).message}`,
      'Fix or delete that file (deleting it resets identities, PATs and resources), or use another data dir.',
      { cause: error },
    );
  }
  if (stored === undefined) return fresh;
  if (stored.version !== 1 || typeof stored.workspaceId !== 'string') {
    throw new EmulatorError(
      'EMULATOR_STATE_UNREADABLE',
      `${file} is not an emulator state file this version understands.`,
      'Delete it to start afresh, or use another data dir.',
    );
  }
  // Fields added later default to empty, so an older file still loads.
  return { ...fresh, ...stored } as StateDocument;
}

/** Writes the document atomically with mode 0600 (it holds PATs and the client secret). */
export function saveState(dataDir: string, state: StateDocument): void {
  writeFileAtomicSync(path.join(dataDir, STATE_FILE), `${JSON.stringify(state, null, 2)}\n`);
}

/** A 16-digit numeric id, the shape of Databricks workspace and SCIM ids. */
export function newNumericId(): string {
  return `${randomInt(1, 10)}${Array.from({ length: 15 }, () => randomInt(0, 10)).join('')}`;
}

/** A personal access token: `dapi` + 32 hex digits. */
export function newPat(): string {
  return `dapi${randomBytes(16).toString('hex')}`;
}

/** An OAuth client secret, the shape Databricks issues (`dose` + hex). */
export function newClientSecret(): string {
  return `dose${randomBytes(20).toString('hex')}`;
}

export { randomUUID };
