/** The pool and single-client helpers against the real PostgreSQL at 127.0.0.1:5432 (static URL mode). */
import pg from 'pg';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  connect,
  createLakebasePool,
  diagnose,
  getConnectionConfig,
  LakebaseError,
  type LakebaseLogger,
  type LakebasePool,
} from '../src/index.js';
import { ALL_STEPS } from './helpers/diagnose-steps.js';

const URL = 'postgresql://postgres@127.0.0.1:5432/test';
const pools: LakebasePool[] = [];

function pool(env: Record<string, string> = {}, extra: Parameters<typeof createLakebasePool>[0] = {}): LakebasePool {
  const p = createLakebasePool({ env: { LAKEBASE_PG_URL: URL, ...env }, ...extra });
  pools.push(p);
  return p;
}

function captureLogger(): LakebaseLogger & { lines: string[] } {
  const lines: string[] = [];
  const push = (message: string, fields?: Record<string, unknown>) =>
    lines.push(`${message} ${JSON.stringify(fields ?? {})}`);
  return { lines, debug: push, info: push, warn: push };
}

afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.end()));
});

describe('createLakebasePool (static mode, real PostgreSQL)', () => {
  it('returns a real pg.Pool that runs queries; max = DB_POOL_SIZE + DB_MAX_OVERFLOW; keep-alive on', async () => {
    const p = pool({ DB_POOL_SIZE: '2', DB_MAX_OVERFLOW: '3' });
    expect(p).toBeInstanceOf(pg.Pool);
    expect(p.options.max).toBe(5);
    expect(p.options.min).toBe(2);
    expect(p.options.keepAlive).toBe(true);
    const { rows } = await p.query<{ one: number }>('select 1 as one');
    expect(rows[0]?.one).toBe(1);
    expect(p.lakebase.mode).toBe('static');
  });

  it('runs 50 concurrent queries within max connections', async () => {
    const p = pool({ DB_POOL_SIZE: '2', DB_MAX_OVERFLOW: '2' });
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => p.query<{ n: number }>('select $1::int as n', [i])),
    );
    expect(results.map((r) => r.rows[0]?.n)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(p.totalCount).toBeLessThanOrEqual(4);
  });

  it('application_name comes from PGAPPNAME', async () => {
    const p = pool({ PGAPPNAME: 'lakebase-kit-pool-test' });
    const { rows } = await p.query<{ name: string }>("select current_setting('application_name') as name");
    expect(rows[0]?.name).toBe('lakebase-kit-pool-test');
  });

  it('max lifetime is jittered per connection, within [0.8, 1] x DB_POOL_RECYCLE_INTERVAL', () => {
    const p = pool({ DB_POOL_RECYCLE_INTERVAL: '100' });
    const samples = Array.from({ length: 200 }, () => p.options.maxLifetimeSeconds);
    expect(Math.min(...samples)).toBeGreaterThanOrEqual(80);
    expect(Math.max(...samples)).toBeLessThanOrEqual(100);
    expect(new Set(samples).size).toBeGreaterThan(100);
    expect(pool({ DB_POOL_RECYCLE_INTERVAL: '0' }).options.maxLifetimeSeconds).toBe(0);
  });

  it('connections are recycled after their lifetime', async () => {
    // pg-pool ends a connection with a timer set at connect: on fake timers, the lifetime passes when the test says.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const p = pool({ DB_POOL_RECYCLE_INTERVAL: '1', DB_POOL_SIZE: '1', DB_MAX_OVERFLOW: '0' });
      const first = (await p.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]?.pid;
      const again = (await p.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]?.pid;
      expect(again).toBe(first); // within its lifetime the connection is reused
      await vi.advanceTimersByTimeAsync(1000); // the lifetime is jittered within [0.8, 1] s
      const second = (await p.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]?.pid;
      expect(second).not.toBe(first);
      expect(p.expiredCount + p.totalCount).toBeGreaterThanOrEqual(1);
    } finally {
      vi.useRealTimers();
    }
  });

  it('an idle connection killed by the server is logged by the default error listener, not a crash', async () => {
    const logger = captureLogger();
    const p = pool({ DB_POOL_SIZE: '2' }, { logger });
    const pid = (await p.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]?.pid;
    expect(p.listenerCount('error')).toBe(1);
    const admin = new pg.Client({ connectionString: URL });
    await admin.connect();
    await admin.query('select pg_terminate_backend($1)', [pid]);
    await admin.end();
    // The pool hears of it when the server's FATAL arrives on the socket: wait for that event, bounded.
    await vi.waitFor(
      () => expect(logger.lines.some((l) => l.includes('idle PostgreSQL connection failed'))).toBe(true),
      {
        timeout: 5000,
      },
    );
    const { rows } = await p.query<{ ok: number }>('select 1 as ok');
    expect(rows[0]?.ok).toBe(1);
  });

  it('a checked-out connection killed between queries is logged and discarded, not a crash', async () => {
    // pg-pool removes its idle listener at checkout; without ours this FATAL would be an uncaught 'error' event.
    const logger = captureLogger();
    const p = pool({ DB_POOL_SIZE: '1', DB_MAX_OVERFLOW: '0' }, { logger });
    const held = await p.connect();
    const pid = (await held.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]?.pid;
    expect(held.listenerCount('error')).toBe(1); // ours: no query is running, nobody else listens
    const ended = new Promise((resolve) => held.once('end', resolve));
    const admin = new pg.Client({ connectionString: URL });
    await admin.connect();
    await admin.query('select pg_terminate_backend($1)', [pid]);
    await admin.end();
    await ended;
    expect(logger.lines.filter((l) => l.includes('checked-out PostgreSQL connection failed'))).toHaveLength(1);
    expect(logger.lines.join('\n')).toContain('57P01');
    await expect(held.query('select 1')).rejects.toThrow();
    held.release();
    expect(p.totalCount).toBe(0); // the dead client was discarded, not returned to the pool
    const { rows } = await p.query<{ ok: number }>('select 1 as ok');
    expect(rows[0]?.ok).toBe(1);
  });

  it('end() is idempotent (promise and callback forms); a query after end is rejected', async () => {
    const p = pool();
    await p.query('select 1');
    await p.end();
    await p.end();
    await new Promise<void>((resolve) => p.end(resolve));
    await expect(p.query('select 1')).rejects.toThrow(/after calling end/);
  });

  it('connect() callback form works like pg', async () => {
    const p = pool();
    const value = await new Promise<number>((resolve, reject) => {
      p.connect((err, client, done) => {
        if (err || !client) return reject(err);
        client.query<{ n: number }>('select 7 as n').then((r) => {
          done();
          resolve(r.rows[0]?.n ?? 0);
        }, reject);
      });
    });
    expect(value).toBe(7);
  });

  it('getConnectionConfig() and connect() build a single client from the same config', async () => {
    const config = await getConnectionConfig({ env: { LAKEBASE_PG_URL: URL, PGAPPNAME: 'one-client' } });
    expect(config).toMatchObject({ host: '127.0.0.1', port: 5432, database: 'test', user: 'postgres', ssl: false });
    const client = new pg.Client(config);
    await client.connect();
    expect((await client.query('select 1 as x')).rows[0].x).toBe(1);
    await client.end();
    const direct = await connect({ env: { LAKEBASE_PG_URL: URL } });
    expect((await direct.query("select current_setting('application_name') as a")).rows).toHaveLength(1);
    await direct.end();
  });

  it('configuration errors throw at pool creation, as LakebaseError', () => {
    expect(() => createLakebasePool({ env: {} })).toThrow(LakebaseError);
    expect(() => createLakebasePool({ env: { LAKEBASE_PG_URL: URL, DB_POOL_SIZE: 'lots' } })).toThrow(
      expect.objectContaining({ code: 'LAKEBASE_CONFIG_INVALID' }),
    );
  });
});

describe('diagnose (static mode, real PostgreSQL)', () => {
  it('a healthy static URL passes every step; TLS is reported off', async () => {
    const report = await diagnose({ env: { LAKEBASE_PG_URL: URL } });
    expect(report.ok).toBe(true);
    expect(report.mode).toBe('static');
    expect(report.steps.map((s) => s.name)).toEqual(ALL_STEPS);
    expect(report.steps.find((s) => s.name === 'tls')?.detail).toContain('TLS off');
    expect(report.steps.find((s) => s.name === 'identity')?.detail).toContain('static password (no token)');
  });

  it('a role that does not exist: the login step fails with LAKEBASE_ROLE_NOT_FOUND and how to create it', async () => {
    const report = await diagnose({ env: { LAKEBASE_PG_URL: 'postgresql://no_such_role_xyz@127.0.0.1:5432/test' } });
    expect(report.ok).toBe(false);
    expect(report.steps.at(-1)).toMatchObject({ name: 'login', ok: false, code: 'LAKEBASE_ROLE_NOT_FOUND' });
    expect(report.steps.at(-1)?.detail).toContain('role "no_such_role_xyz" does not exist');
    expect(report.steps.at(-1)?.suggestion).toContain('Create a PostgreSQL role');
  });

  it('a role without CONNECT on the database: the login step fails with LAKEBASE_PERMISSION_DENIED', async () => {
    const suffix = `${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
    const database = `lakebase_noconnect_${suffix}`;
    const role = `lakebase_noconnect_${suffix}`;
    const admin = new pg.Client(URL);
    await admin.connect();
    try {
      await admin.query(`create role ${role} login`);
      await admin.query(`create database ${database}`);
      await admin.query(`revoke connect on database ${database} from public`);
      const report = await diagnose({ env: { LAKEBASE_PG_URL: `postgresql://${role}@127.0.0.1:5432/${database}` } });
      expect(report.ok).toBe(false);
      expect(report.steps.at(-1)).toMatchObject({ name: 'login', ok: false, code: 'LAKEBASE_PERMISSION_DENIED' });
      expect(report.steps.at(-1)?.detail).toContain(`permission denied for database`);
      expect(report.steps.at(-1)?.suggestion).toContain('CONNECT');
    } finally {
      await admin.query(`drop database if exists ${database} with (force)`);
      await admin.query(`drop role if exists ${role}`);
      await admin.end();
    }
  });

  it('sslmode=require against a server without TLS: the TLS step fails', async () => {
    const report = await diagnose({ env: { LAKEBASE_PG_URL: `${URL}?sslmode=require` } });
    expect(report.ok).toBe(false);
    expect(report.steps.at(-1)).toMatchObject({ name: 'tls', ok: false, code: 'LAKEBASE_TLS_FAILED' });
  });
});

describe('DNS fallback (real PostgreSQL)', () => {
  const failingSystem = (_host: string, _opts: unknown, cb: (err: NodeJS.ErrnoException | null, a: never[]) => void) =>
    cb(Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' }), []);

  it('when the system lookup fails, the injected direct resolver answers and the pool connects', async () => {
    const asked: string[] = [];
    const resolver = {
      resolve4: async (host: string) => {
        asked.push(host);
        return ['127.0.0.1'];
      },
      resolve6: async () => [],
    };
    const p = pool(
      {
        LAKEBASE_PG_URL: 'postgresql://postgres@a-very-long-lakebase-instance-name.database.example.invalid:5432/test',
      },
      {
        dns: { resolver, systemLookup: failingSystem },
      },
    );
    expect((await p.query<{ ok: number }>('select 1 as ok')).rows[0]?.ok).toBe(1);
    expect(asked).toContain('a-very-long-lakebase-instance-name.database.example.invalid');
  });

  it('with the fallback off, the same host fails with the system error', async () => {
    const p = pool(
      {
        LAKEBASE_PG_URL: 'postgresql://postgres@nothing-here.example.invalid:5432/test',
        LAKEBASE_DNS_FALLBACK: 'false',
      },
      {
        pg: { connectionTimeoutMillis: 3000 },
      },
    );
    await expect(p.query('select 1')).rejects.toMatchObject({ code: 'ENOTFOUND' });
  });

  it('names under .localhost resolve to loopback when the system lookup fails (RFC 6761)', async () => {
    const p = pool({ LAKEBASE_PG_URL: 'postgresql://postgres@instance-1234.database.localhost:5432/test' });
    expect((await p.query<{ ok: number }>('select 1 as ok')).rows[0]?.ok).toBe(1);
  });
});
