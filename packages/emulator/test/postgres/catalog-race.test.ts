import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catalogStatement } from '../../src/postgres/catalog-race.js';
import { waitForLockWait } from '../lock-wait.js';

const UPSTREAM = 'postgresql://postgres@127.0.0.1:5432/test';

/**
 * Two emulators on one upstream server (test files in parallel) change the same role at the same moment. PostgreSQL
 * makes the loser fail with "tuple concurrently updated" (XX000) instead of waiting and re-reading; the race is made
 * certain here by holding the winner's transaction open until the loser is waiting on it.
 */
describe('catalogStatement: a concurrent change of the same catalog row', () => {
  const role = `lakebase_race_${randomBytes(4).toString('hex')}`;
  let admin: pg.Pool;

  beforeAll(async () => {
    admin = new pg.Pool({ connectionString: UPSTREAM, max: 2 });
    await admin.query(`CREATE ROLE ${role} NOLOGIN`);
  });
  afterAll(async () => {
    await admin.query(`DROP ROLE IF EXISTS ${role}`);
    await admin.end();
  });

  /** Starts `loser` while another session's uncommitted ALTER ROLE holds the row, then commits that one. */
  async function race(loser: (client: pg.Client) => Promise<unknown>): Promise<PromiseSettledResult<unknown>> {
    const winner = new pg.Client({ connectionString: UPSTREAM });
    const other = new pg.Client({ connectionString: UPSTREAM });
    await Promise.all([winner.connect(), other.connect()]);
    try {
      await winner.query('BEGIN');
      await winner.query(`ALTER ROLE ${role} CONNECTION LIMIT 5`);
      const pid = (await other.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;
      if (pid === undefined) throw new Error('the second session has no backend pid');
      const settled = Promise.allSettled([loser(other)]).then(([result]) => result as PromiseSettledResult<unknown>);
      await waitForLockWait(admin, pid); // the loser is blocked on the winner's transaction
      await winner.query('COMMIT');
      return await settled;
    } finally {
      await Promise.all([winner.end(), other.end()]);
    }
  }

  const connectionLimit = async () =>
    (await admin.query<{ limit: number }>('SELECT rolconnlimit AS limit FROM pg_roles WHERE rolname = $1', [role]))
      .rows[0]?.limit;

  it('fails a plain query with XX000 "tuple concurrently updated" (the race this guards against is real)', async () => {
    const result = await race((client) => client.query(`ALTER ROLE ${role} CONNECTION LIMIT 6`));
    expect(result.status).toBe('rejected');
    const error = (result as PromiseRejectedResult).reason as { code?: string; message?: string };
    expect(error.code).toBe('XX000');
    expect(error.message).toMatch(/tuple concurrently updated/);
    expect(await connectionLimit()).toBe(5);
  });

  it('runs the statement again after the winner commits, so both changes land in order', async () => {
    const result = await race((client) => catalogStatement(client, `ALTER ROLE ${role} CONNECTION LIMIT 7`));
    expect(result.status).toBe('fulfilled');
    expect(await connectionLimit()).toBe(7);
  });

  /** A pool whose every query fails with `error`, counting the attempts. */
  function failingPool(error: { code: string; message: string }) {
    const pool = { attempts: 0, query: async () => {} };
    pool.query = async () => {
      pool.attempts++;
      throw Object.assign(new Error(error.message), { code: error.code });
    };
    return pool as typeof pool & pg.Pool;
  }

  it('does not retry any other error', async () => {
    const missing = failingPool({ code: '42704', message: 'role "nobody" does not exist' });
    await expect(catalogStatement(missing, 'ALTER ROLE nobody LOGIN')).rejects.toMatchObject({ code: '42704' });
    expect(missing.attempts).toBe(1);
    // An XX000 that is not the race (an internal error) is not retried either.
    const internal = failingPool({ code: 'XX000', message: 'cache lookup failed for role 1' });
    await expect(catalogStatement(internal, 'ALTER ROLE x LOGIN')).rejects.toMatchObject({ code: 'XX000' });
    expect(internal.attempts).toBe(1);
  });

  it('gives up after a bounded number of attempts when the race never ends', async () => {
    const racing = failingPool({ code: 'XX000', message: 'tuple concurrently updated' });
    await expect(catalogStatement(racing, 'ALTER ROLE x LOGIN')).rejects.toThrow(/tuple concurrently updated/);
    expect(racing.attempts).toBe(5);
  });
});
