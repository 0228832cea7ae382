/**
 * `startProxy` against the emulator over real sockets: the tools a team points at Lakebase (psql, pgbench, pg_dump,
 * node-postgres, node-pg-migrate) work through it with no token in hand, cancels reach the right backend, and a
 * session outlives its token.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runner } from 'node-pg-migrate';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { clockSkew, libpqEnv, tool, useProxies } from './helpers.js';

const { emulator, proxy } = useProxies({ localStorage: true });

function client(port: number, extra: pg.ClientConfig = {}): pg.Client {
  return new pg.Client({ host: '127.0.0.1', port, user: 'ignored', database: 'databricks_postgres', ...extra });
}

/** Polls (bounded) until `check` is true; a wait for a server state, not a sleep used as an assertion. */
async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('tools through the proxy, no token given to them', () => {
  it('psql logs in as the configured identity; database and application_name pass through', async () => {
    const p = await proxy();
    expect(p.user).toBe(emulator().user);
    const { stdout } = await tool(
      'psql',
      ['-AtX', '-c', "select current_user, current_database(), current_setting('application_name')"],
      libpqEnv(p, { PGAPPNAME: 'dbeaver-like' }),
    );
    // The emulator stores `databricks_postgres` in a scratch database of the local server: its name shows.
    expect(stdout.trim()).toBe(`${emulator().user}|lakebase_proxy_test_${process.pid}|dbeaver-like`);
    expect(p.stats()).toMatchObject({ sessions: 1, refused: 0 });
    // The database the client names reaches the server: a missing one is the server's own FATAL, passed on.
    const missing = tool('psql', ['-AtX', '-c', 'select 1'], libpqEnv(p, { PGDATABASE: 'no_such_db' }));
    await expect(missing).rejects.toThrow(/no_such_db/);
    expect(p.stats()).toMatchObject({ sessions: 1, refused: 1 });
  });

  it('pgbench -i and a pgbench run (TPC-B-like, 2 clients, 25 transactions each)', async () => {
    const p = await proxy();
    const env = libpqEnv(p);
    await tool('pgbench', ['-i', '-s', '1', '-q'], env);
    const { stdout } = await tool('pgbench', ['-c', '2', '-t', '25', '-n'], env);
    expect(stdout).toMatch(/number of transactions actually processed: 50\/50/);
    expect(stdout).toMatch(/number of failed transactions: 0/);
  });

  it('pg_dump dumps a table created through the proxy', async () => {
    const p = await proxy();
    const env = libpqEnv(p);
    await tool(
      'psql',
      [
        '-X',
        '-v',
        'ON_ERROR_STOP=1',
        '-c',
        'create table if not exists dumped (id int primary key, note text); insert into dumped values (1, $$through the proxy$$) on conflict do nothing',
      ],
      env,
    );
    const { stdout } = await tool('pg_dump', ['--no-owner', '-t', 'dumped'], env);
    expect(stdout).toMatch(/CREATE TABLE public\.dumped/);
    expect(stdout).toMatch(/through the proxy/);
  });

  it('node-postgres: extended protocol, a transaction, COPY out and LISTEN/NOTIFY on one session', async () => {
    const p = await proxy();
    const c = client(p.port, { password: 'anything at all' });
    await c.connect();
    try {
      const typed = await c.query('select $1::int + 1 as n, $2::text as t', [41, 'x']);
      expect(typed.rows).toEqual([{ n: 42, t: 'x' }]);
      await c.query('begin');
      await c.query('create temp table t (v int)');
      await c.query('insert into t select generate_series(1, 1000)');
      expect((await c.query('select sum(v)::int as s from t')).rows[0].s).toBe(500500);
      await c.query('commit');
      const notified = new Promise<pg.Notification>((resolve) => c.once('notification', resolve));
      await c.query('listen proxy_channel');
      const other = client(p.port);
      await other.connect();
      await other.query("notify proxy_channel, 'hello'");
      await other.end();
      expect((await notified).payload).toBe('hello');
    } finally {
      await c.end();
    }
    const { stdout } = await tool(
      'psql',
      ['-AtX', '-c', '\\copy (select g from generate_series(1,3) g) to stdout'],
      libpqEnv(p),
    );
    expect(stdout.trim().split('\n')).toEqual(['1', '2', '3']);
  });

  it("node-pg-migrate (the kit's migrate) applies a migration through the proxy", async () => {
    const p = await proxy();
    const dir = await mkdtemp(join(tmpdir(), 'proxy-migrate-'));
    try {
      await writeFile(
        join(dir, '1_proxy_table.sql'),
        '-- Up Migration\ncreate table proxy_migrated (id int);\n-- Down Migration\ndrop table proxy_migrated;\n',
      );
      const applied = await runner({
        databaseUrl: { host: '127.0.0.1', port: p.port, database: p.database, user: 'ignored' },
        dir,
        direction: 'up',
        migrationsTable: 'proxy_migrations',
        log: () => {},
      });
      expect(applied.map((m) => m.name)).toEqual(['1_proxy_table']);
      const { stdout } = await tool(
        'psql',
        ['-AtX', '-c', "select to_regclass('proxy_migrated') is not null"],
        libpqEnv(p),
      );
      expect(stdout.trim()).toBe('t');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('cancel', () => {
  it("pg_cancel_backend from another session cancels the backend of the proxy's client", async () => {
    const p = await proxy();
    const busy = client(p.port);
    const admin = client(p.port);
    await Promise.all([busy.connect(), admin.connect()]);
    try {
      const pid = (await busy.query('select pg_backend_pid() as pid')).rows[0].pid as number;
      const sleeping = busy.query('select pg_sleep(60)').then(
        () => undefined,
        (error: { code?: string }) => error.code,
      );
      await until(
        async () =>
          (await admin.query("select 1 from pg_stat_activity where pid = $1 and state = 'active'", [pid])).rowCount ===
          1,
        'the sleep to start',
      );
      await admin.query('select pg_cancel_backend($1)', [pid]);
      expect(await sleeping).toBe('57014');
    } finally {
      await Promise.all([busy.end(), admin.end()]);
    }
  });

  it('psql on SIGINT sends a CancelRequest with the key the proxy gave it; the proxy forwards it to the right backend', async () => {
    const p = await proxy();
    const admin = client(p.port);
    await admin.connect();
    try {
      const child = spawn('psql', ['-AtX', '-c', 'select pg_sleep(60) /* cancel-me */'], { env: libpqEnv(p) });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      await until(
        async () =>
          (
            await admin.query(
              "select 1 from pg_stat_activity where query like '%cancel-me%' and state = 'active' and pid <> pg_backend_pid()",
            )
          ).rowCount === 1,
        'psql to start sleeping',
      );
      child.kill('SIGINT');
      expect(await exited).not.toBe(0);
      expect(stderr).toMatch(/canceling statement due to user request/);
      expect(p.stats().cancels).toBe(1);
      // The admin session, whose key was not sent, is untouched.
      expect((await admin.query('select 1 as one')).rows[0].one).toBe(1);
    } finally {
      await admin.end();
    }
  });
});

describe('tokens', () => {
  it('a session open across its token expiry keeps working, and the next login gets a fresh token', async () => {
    const p = await proxy();
    const c = client(p.port);
    await c.connect();
    const requestsBefore = emulator().workspace.stats().credentialRequests.total;
    // A token minted now, as the proxy's was: after the jump the server refuses it.
    const res = await fetch(`${emulator().databricksHost}/api/2.0/database/credentials`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${emulator().databricksToken}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ request_id: crypto.randomUUID(), instance_names: [emulator().instanceName] }),
    });
    const witness = (await res.json()) as { token: string };
    clockSkew.ms = 2 * 3600_000;
    const direct = new pg.Client({
      host: emulator().pgHost,
      port: emulator().pgPort,
      user: emulator().user,
      database: emulator().database,
      password: witness.token,
      ssl: { rejectUnauthorized: false },
    });
    await expect(direct.connect()).rejects.toMatchObject({ code: '28P01' });
    try {
      expect((await c.query('select 2 as two')).rows[0].two).toBe(2);
    } finally {
      await c.end();
    }
    const next = client(p.port);
    await next.connect();
    expect((await next.query('select current_user as u')).rows[0].u).toBe(emulator().user);
    await next.end();
    expect(emulator().workspace.stats().credentialRequests.total).toBeGreaterThan(requestsBefore);
  });
});
