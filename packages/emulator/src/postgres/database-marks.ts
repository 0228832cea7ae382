/**
 * Which branch a database made with CREATE DATABASE belongs to. Branches share one PostgreSQL server, and a client's
 * `CREATE DATABASE shop` makes `shop` whatever branch the session is on, so the emulator records the branch itself:
 * the relay reports each CREATE DATABASE a session completes (session-splice.ts), and this class finds the new
 * database in the catalog and marks it, as the superuser, with a comment naming the session's branch
 * (`pg_shdescription`: kept with the database across restarts, gone with it when it is dropped). A login reaches a
 * created database only from the branch its mark names; a database with no mark, or another mark, is 3D000.
 *
 * Which new database is whose: every report is of a database already committed, so when the unmarked databases that
 * appeared equal in number the reports waiting, and those reports are all from one branch, they are that branch's.
 * More databases than reports: wait (bounded) for the reports still on their way. Reports from two branches at once,
 * or a database no report accounts for: the databases are left unmarked (never served) and a warning says so. A
 * guess never serves one branch's database to another.
 */
import { quoteIdent, quoteLiteral } from '@lakebase-kit/client/toolkit';
import type pg from 'pg';
import type { CreatedDatabaseLookup } from '../contracts.js';
import { type CreatedDatabaseName, parseCreatedDatabaseName } from '../database-names.js';
import { catalogStatement } from './catalog-race.js';
import type { Logger } from './storage.js';
import { dropByForce } from './upstream-branches.js';

/** How long new databases wait for the reports of the sessions that made them before they are given up on. */
const REPORT_WAIT_MS = 2_000;

const MARK_PREFIX = 'Lakebase emulator: created with CREATE DATABASE on ';

/** The comment that says a database was made on `branchKey` (undefined: the default branches and instances). */
export function databaseMark(branchKey: string | undefined): string {
  const where = branchKey === undefined ? 'a default branch' : `the branch with storage key ${branchKey}`;
  return `${MARK_PREFIX}${where} (do not change this comment)`;
}

/** Whether a database's comment is a mark: a client of this emulator made it. */
export function isDatabaseMark(comment: string | null | undefined): boolean {
  return comment?.startsWith(MARK_PREFIX) ?? false;
}

/** The comment of the database `name` (null: none), undefined when there is no such database (templates aside). */
export async function commentOf(admin: pg.Pool, name: string): Promise<string | null | undefined> {
  const found = await admin.query<{ mark: string | null }>(
    `SELECT shobj_description(oid, 'pg_database') AS mark FROM pg_database WHERE datname = $1 AND NOT datistemplate`,
    [name],
  );
  return found.rowCount ? (found.rows[0]?.mark ?? null) : undefined;
}

/** Unmarked databases a client may have made: not a template, not owned by the admin (the emulator's own). */
const UNMARKED = `SELECT d.oid::text AS oid, d.datname FROM pg_database d
  WHERE NOT d.datistemplate AND d.datdba <> (SELECT oid FROM pg_roles WHERE rolname = current_user)
    AND shobj_description(d.oid, 'pg_database') IS NULL`;

interface Report {
  branchKey: string | undefined;
  done(): void;
}

/** See the file comment. One per storage server. */
export class DatabaseMarks {
  /** Unmarked databases that are no client's of this emulator: there at start, or not attributable. */
  private readonly ignored = new Set<string>();
  private reports: Report[] = [];
  private busy = false;
  private again = false;
  private waitTimer: NodeJS.Timeout | undefined;
  private waitingSince: number | undefined;

  constructor(
    /** An admin (superuser) pool on a database that always exists. */
    private readonly admin: () => pg.Pool,
    /** The admin database: never served as a created one, whatever its name. */
    private readonly adminDatabase: string,
    private readonly adminConfig: () => pg.ClientConfig,
    private readonly logger: Logger,
  ) {}

  /** Takes the unmarked databases that exist now as not this emulator's clients' (made before, or by hand). */
  async baseline(): Promise<void> {
    for (const candidate of await this.unmarked()) this.ignored.add(candidate.oid);
  }

  async lookup(name: CreatedDatabaseName, branchKey: string | undefined): Promise<CreatedDatabaseLookup> {
    if (name === this.adminDatabase) return 'missing';
    return (await commentOf(this.admin(), name)) === databaseMark(branchKey) ? 'found' : 'missing';
  }

  /** A session on `branchKey` completed a CREATE DATABASE; resolves once the new database is marked (or given up). */
  report(branchKey: string | undefined): Promise<void> {
    return new Promise((done) => {
      this.reports.push({ branchKey, done });
      void this.resolve();
    });
  }

  /** Drops every database marked for `branchKey` (its branch was deleted). */
  async dropMarked(branchKey: string): Promise<void> {
    const marked = await this.admin().query<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE shobj_description(oid, 'pg_database') = $1`,
      [databaseMark(branchKey)],
    );
    for (const { datname } of marked.rows) await dropByForce(datname, this.adminConfig());
  }

  /** Stops waiting (storage is closing): reports still waiting are released unmarked. */
  close(): void {
    this.release();
  }

  private async resolve(): Promise<void> {
    if (this.busy) {
      this.again = true;
      return;
    }
    this.busy = true;
    try {
      do {
        this.again = false;
        await this.step();
      } while (this.again);
    } finally {
      this.busy = false;
    }
  }

  private async step(): Promise<void> {
    if (this.reports.length === 0) return;
    let found: { oid: string; datname: string }[];
    try {
      found = await this.unmarked();
    } catch (error) {
      this.logger.error('could not read the new databases', { error: String(error) });
      return this.release();
    }
    const reports = this.reports.slice(); // reports arriving from here on wait for the next step
    if (found.length > reports.length && !this.waitedEnough()) return this.waitForReports();
    const keys = new Set(reports.map((r) => r.branchKey));
    if (keys.size === 1 && found.length <= reports.length) {
      const mark = databaseMark(reports[0]?.branchKey);
      for (const { datname } of found) {
        await catalogStatement(
          this.admin(),
          `COMMENT ON DATABASE ${quoteIdent(datname)} IS ${quoteLiteral(mark)}`,
        ).catch((error) => this.logger.warn('could not mark a new database', { datname, error: String(error) }));
      }
    } else {
      for (const { oid } of found) this.ignored.add(oid);
      this.logger.warn(
        'databases made at the same moment on different branches (or by another client of the server) are not served: drop them and make them again',
        { databases: found.map((f) => f.datname) },
      );
    }
    this.release(reports.length);
  }

  /** Releases the first `count` reports (all by default) and ends any wait. */
  private release(count = this.reports.length): void {
    const released = this.reports.splice(0, count);
    clearTimeout(this.waitTimer);
    this.waitTimer = undefined;
    this.waitingSince = undefined;
    for (const report of released) report.done();
  }

  private waitedEnough(): boolean {
    return this.waitingSince !== undefined && Date.now() - this.waitingSince >= REPORT_WAIT_MS;
  }

  private waitForReports(): void {
    if (this.waitTimer) return;
    this.waitingSince = Date.now();
    this.waitTimer = setTimeout(() => void this.resolve(), REPORT_WAIT_MS);
    this.waitTimer.unref();
  }

  private async unmarked(): Promise<{ oid: string; datname: string }[]> {
    const found = await this.admin().query<{ oid: string; datname: string }>(UNMARKED);
    return found.rows.filter((row) => !this.ignored.has(row.oid) && parseCreatedDatabaseName(row.datname));
  }
}
