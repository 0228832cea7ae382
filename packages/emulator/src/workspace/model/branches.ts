/**
 * Branch data: every Autoscaling branch but a project's default one has its own copy of each Lakebase database in
 * storage, made when the branch is created (a real copy, not a view: writes never cross branches), dropped when it is
 * deleted or expires. The workspace only records state; the storage (embedded PostgreSQL, upstream, PGlite) copies.
 */
import { withDeadline } from '@lakebase-kit/client/toolkit';
import type { BranchDataStorage } from '../../contracts.js';
import { ApiError, invalidParameter } from './api-error.js';
import type { ModelContext } from './context.js';
import type { BranchRecord } from './state.js';

/** What names a branch's storage: its uid, and whether it is a default branch (stored under the plain name). */
export type DataKey = Pick<BranchRecord, 'uid' | 'isDefault'>;

/**
 * The key of a branch's storage: the first 8 characters of its uid, undefined for a default branch (plain names).
 * Branch copies are `<database>@<key>`; databases made in SQL on the branch carry the key in their mark.
 */
export function branchKey(branch: DataKey): string | undefined {
  return branch.isDefault ? undefined : branch.uid.slice(0, 8);
}

/** What a create or update may say about a branch's lifetime (reference 2.3: `ttl | expire_time | no_expiry`). */
export interface ExpirySpec {
  ttl?: string;
  expire_time?: string;
  no_expiry?: boolean;
}

const TTL = /^(\d+(?:\.\d+)?)s$/;
/** Lakebase's longest branch lifetime is 30 days; the emulator holds the same bound. */
const MAX_TTL_SECONDS = 30 * 24 * 3600;
/** How long storage may take to copy a branch before the operation fails (a 10,000-row copy takes well under 1 s). */
const COPY_TIMEOUT_MS = 120_000;

/**
 * The expiry time (ms) a spec asks for, undefined for none. A TTL counts from `now`; an explicit time must lie in the
 * future and within the 30-day bound.
 */
export function expiryFrom(spec: ExpirySpec, now: number): number | undefined {
  const given = [spec.ttl !== undefined, spec.expire_time !== undefined, spec.no_expiry === true].filter(Boolean);
  if (given.length > 1) throw invalidParameter('Only one of spec.ttl, spec.expire_time and spec.no_expiry may be set.');
  let at: number | undefined;
  if (spec.ttl !== undefined) {
    const match = TTL.exec(spec.ttl);
    if (!match) throw invalidParameter(`Invalid spec.ttl '${spec.ttl}': expected a duration such as "3600s".`);
    at = now + Number(match[1]) * 1000;
  } else if (spec.expire_time !== undefined) {
    at = Date.parse(spec.expire_time);
    if (!Number.isFinite(at)) {
      throw invalidParameter(`Invalid spec.expire_time '${spec.expire_time}': expected an RFC 3339 timestamp.`);
    }
  }
  if (at === undefined) return undefined;
  if (at <= now) throw invalidParameter('The branch expiration time must be in the future.');
  if (at > now + MAX_TTL_SECONDS * 1000) {
    throw invalidParameter(`The branch expiration time must be at most ${MAX_TTL_SECONDS}s (30 days) from now.`);
  }
  return at;
}

/**
 * Point-in-time and LSN branching need the parent's write-ahead history, which the emulator does not keep: it refuses
 * them the way Lakebase refuses a point outside the history retention window, and says so.
 */
export function refusePointInTime(spec: { source_branch_time?: string; source_branch_lsn?: string }): void {
  if (spec.source_branch_time === undefined && spec.source_branch_lsn === undefined) return;
  const what = spec.source_branch_lsn !== undefined ? `LSN ${spec.source_branch_lsn}` : spec.source_branch_time;
  throw new ApiError(
    400,
    'INVALID_PARAMETER_VALUE',
    `The requested point in time (${what}) is not available: it is outside the history retention window of the source branch. (The Lakebase emulator keeps no history: branch from the current state.)`,
  );
}

/** Copies and drops branch databases in storage and keeps each branch's data state in the state document. */
export class BranchData {
  private storage: BranchDataStorage | undefined;
  private storageAttached: Promise<void> | undefined;
  private attachStorage: (() => void) | undefined;
  private readonly copies = new Map<string, Promise<void>>();
  private readonly drops = new Set<Promise<void>>();

  constructor(private readonly ctx: ModelContext) {}

  /** The storage database behind a Lakebase database on `branch` (a default branch uses the plain name). */
  storageDatabase(branch: DataKey, database: string): string {
    const key = branchKey(branch);
    return key === undefined ? database : `${database}@${key}`;
  }

  /** Copies wait for {@link attach} from now on (the emulator calls this before it serves the API). */
  expectStorage(): void {
    this.storageAttached ??= new Promise((resolve) => {
      this.attachStorage = resolve;
    });
  }

  /** Connects storage; resumes copies and drops a restart interrupted. */
  attach(storage: BranchDataStorage): void {
    this.storage = storage;
    this.attachStorage?.();
    for (const name of [...this.ctx.state.pendingDrops]) this.dropStorage(name);
    for (const branch of this.ctx.state.branches) {
      if (branch.dataState === 'copying' && branch.copyFrom) this.copy(branch, branch.copyFrom);
    }
  }

  /** Whether the branch's data is still being copied (its endpoints show INIT and refuse logins meanwhile). */
  copying(branch: BranchRecord): boolean {
    return branch.dataState === 'copying';
  }

  /** Starts copying `source`'s databases into `branch`'s. */
  copy(branch: BranchRecord, source: DataKey): void {
    if (!this.storage && !this.storageAttached) {
      branch.dataState = 'ready'; // a workspace without storage (REST-only tests) has no data to copy
      return;
    }
    branch.dataState = 'copying';
    branch.copyFrom = { uid: source.uid, isDefault: source.isDefault };
    const pairs = this.ctx.settings.databases.map((db) => [
      this.storageDatabase(source, db),
      this.storageDatabase(branch, db),
    ]);
    const run = (async () => {
      await this.storageAttached;
      const storage = this.storage;
      if (storage) {
        for (const [from, to] of pairs) await withTimeout(storage.copyDatabase(from as string, to as string));
      }
    })();
    this.copies.set(branch.uid, run);
    run.then(
      () => this.finish(branch, undefined),
      (error: unknown) => this.finish(branch, error instanceof Error ? error.message : String(error)),
    );
  }

  /** Waits for running copies and drops (shutdown: storage closes after). */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.copies.values(), ...this.drops]);
  }

  /** Drops the branch's databases (after its records are gone). Recorded first, so a restart finishes the job. */
  drop(branch: BranchRecord): void {
    if (branch.isDefault) return;
    for (const db of this.ctx.settings.databases) {
      const name = this.storageDatabase(branch, db);
      if (!this.ctx.state.pendingDrops.includes(name)) this.ctx.state.pendingDrops.push(name);
      this.dropStorage(name);
    }
    // Databases made in SQL on the branch go too (best effort: one left by a stop is unreachable, not dropped later).
    const key = branchKey(branch);
    const storage = this.storage;
    if (key === undefined || !storage?.dropCreatedDatabases) return;
    const dropping = withTimeout(storage.dropCreatedDatabases(key))
      .catch(() => {})
      .finally(() => this.drops.delete(dropping));
    this.drops.add(dropping);
  }

  private dropStorage(name: string): void {
    const storage = this.storage;
    if (!storage) return;
    const copy = [...this.copies.values()];
    // A drop waits for a copy still writing the same database; failures stay pending and are retried at next start.
    const dropping = Promise.allSettled(copy)
      .then(() => withTimeout(storage.dropDatabase(name)))
      .then(
        () => {
          this.ctx.state.pendingDrops = this.ctx.state.pendingDrops.filter((n) => n !== name);
          this.ctx.persist();
        },
        () => {},
      )
      .finally(() => this.drops.delete(dropping));
    this.drops.add(dropping);
  }

  private finish(branch: BranchRecord, error: string | undefined): void {
    this.copies.delete(branch.uid);
    if (!this.ctx.state.branches.includes(branch)) return; // deleted meanwhile
    branch.dataState = error === undefined ? 'ready' : 'failed';
    if (error !== undefined) branch.dataError = error;
    delete branch.copyFrom;
    branch.updateTime = this.ctx.now();
    this.ctx.persist();
  }
}

/** `work`, or an error once the copy or drop has taken longer than COPY_TIMEOUT_MS (the work itself runs on). */
function withTimeout<T>(work: Promise<T>): Promise<T> {
  return withDeadline(work, COPY_TIMEOUT_MS, () => new Error(`storage did not finish within ${COPY_TIMEOUT_MS} ms`));
}
