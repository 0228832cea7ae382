/**
 * "A read pool never writes", attacked while it falls back to the primary (no read host, LAKEBASE_READ_FALLBACK
 * =primary), against the emulator on embedded PostgreSQL: fallback sessions start read-only (a startup option, so
 * RESET and DISCARD keep it), a write fails with LAKEBASE_READ_POOL_WRITE as on the read host, a session that turns
 * read-only off is refused and never pooled again, and reused connections stay read-only. The limit of the promise
 * (a transaction that asks for READ WRITE itself) is pinned by the last test, as the README documents it.
 */
import type { Emulator } from '@lakebase-kit/emulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createLakebasePool,
  createReadPool,
  isLakebaseError,
  type LakebasePool,
  type LakebaseReadPool,
} from '../src/index.js';
import { startWarmEmulator } from './helpers/emulator.js';
import { FakeTime } from './helpers/fake-time.js';

let emu: Emulator;
const pools: LakebasePool[] = [];
const table = `fallback_${process.pid}_${Math.floor(Math.random() * 1e6)}`;
const quiet = { warn: () => {} };

function writePool(env: Record<string, string> = {}, time?: FakeTime): LakebasePool {
  const pool = createLakebasePool({
    env: { ...emu.env('autoscaling'), ...env },
    logger: quiet,
    ...(time ? { clock: time } : {}),
  });
  pools.push(pool);
  return pool;
}

/** A read pool that is falling back to the primary (the branch has no read-only endpoint). */
async function fallingBack(env: Record<string, string> = {}, time?: FakeTime): Promise<LakebaseReadPool> {
  const reads = createReadPool(writePool(env, time));
  await reads.query('select 1');
  expect(reads.fallingBack).toBe(true);
  return reads;
}

async function rowCount(): Promise<number> {
  const { rows } = await (pools[0] as LakebasePool).query<{ n: number }>(`select count(*)::int as n from ${table}`);
  return rows[0]?.n ?? -1;
}

function expectReadPoolWrite(error: unknown): void {
  expect(isLakebaseError(error, 'LAKEBASE_READ_POOL_WRITE'), String(error)).toBe(true);
}

beforeAll(async () => {
  emu = await startWarmEmulator({ onNotice: () => {} });
  const pool = writePool();
  await pool.query(`create table ${table} (id int primary key, note text)`);
  await pool.query(`create sequence ${table}_seq`);
  await pool.query(`insert into ${table} values (1, 'one')`);
});
afterAll(async () => {
  await Promise.all(pools.splice(0).map((p) => p.end()));
  await emu?.stop();
});

describe('a falling-back read pool refuses writes', () => {
  it.each([
    ['INSERT', `insert into ${table} values (100, 'x')`],
    ['UPDATE', `update ${table} set note = 'x'`],
    ['DELETE', `delete from ${table}`],
    ['CREATE TABLE', `create table ${table}_new (id int)`],
    ['TRUNCATE', `truncate ${table}`],
    ['SELECT FOR UPDATE', `select * from ${table} for update`],
    ['nextval', `select nextval('${table}_seq')`],
    ['BEGIN; INSERT; COMMIT in one string', `begin; insert into ${table} values (101, 'x'); commit`],
    ['RESET ALL; INSERT', `reset all; insert into ${table} values (102, 'x')`],
    ['a writing CTE', `with w as (insert into ${table} values (103, 'x') returning 1) select * from w`],
  ])('%s through pool.query fails with LAKEBASE_READ_POOL_WRITE (25006) and writes nothing', async (_name, sql) => {
    const reads = await fallingBack();
    const error = await reads.query(sql).catch((e: unknown) => e);
    expectReadPoolWrite(error);
    expect(((error as Error).cause as { code?: string }).code).toBe('25006');
    expect(await rowCount()).toBe(1);
  });

  it('a checked-out fallback client: BEGIN then INSERT, DISCARD ALL, RESET, and reuse after release all stay read-only', async () => {
    const reads = await fallingBack();
    const client = await reads.connect();
    const pid = (await client.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]?.pid;
    await client.query('begin');
    expectReadPoolWrite(await client.query(`insert into ${table} values (110, 'x')`).catch((e: unknown) => e));
    await client.query('rollback');
    for (const reset of [
      'discard all',
      'reset all',
      'reset default_transaction_read_only',
      'reset session authorization',
    ]) {
      await client.query(reset);
      expectReadPoolWrite(await client.query(`insert into ${table} values (111, 'x')`).catch((e: unknown) => e));
    }
    client.release();

    // The same session, pooled and handed out again: still read-only.
    const again = await reads.connect();
    try {
      expect((await again.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]?.pid).toBe(pid);
      const { rows } = await again.query<{ ro: string }>("select current_setting('transaction_read_only') as ro");
      expect(rows[0]?.ro).toBe('on');
      expectReadPoolWrite(await again.query(`delete from ${table}`).catch((e: unknown) => e));
    } finally {
      again.release();
    }
    expect(await rowCount()).toBe(1);
  });

  it.each([
    ['SET default_transaction_read_only = off'],
    ['SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE'],
    ["SELECT set_config('default_transaction_read_only', 'off', false)"],
  ])('after %s the session is refused every statement and never pooled again', async (leave) => {
    const reads = await fallingBack();
    const client = await reads.connect();
    const pid = (await client.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]?.pid;
    await client.query(leave);
    const refused = await client.query(`insert into ${table} values (120, 'x')`).catch((e: unknown) => e);
    expectReadPoolWrite(refused);
    expect((refused as { details: { reason?: string } }).details.reason).toBe('session_left_read_only');
    client.release();
    expect(await rowCount()).toBe(1);

    const next = await reads.connect();
    try {
      const { rows } = await next.query<{ pid: number; ro: string }>(
        "select pg_backend_pid() as pid, current_setting('default_transaction_read_only') as ro",
      );
      expect(rows[0]?.pid).not.toBe(pid);
      expect(rows[0]?.ro).toBe('on');
    } finally {
      next.release();
    }
  });

  it('user startup options are kept and cannot turn read-only off', async () => {
    const reads = createReadPool(writePool(), {
      pg: { options: '-c search_path=pg_catalog,public -c default_transaction_read_only=off' },
    });
    const { rows } = await reads.query<{ path: string; ro: string }>(
      "select current_setting('search_path') as path, current_setting('default_transaction_read_only') as ro",
    );
    expect(reads.fallingBack).toBe(true);
    expect(rows[0]).toEqual({ path: 'pg_catalog,public', ro: 'on' });
    expectReadPoolWrite(await reads.query(`insert into ${table} values (130, 'x')`).catch((e: unknown) => e));
  });

  it('falls back again after readRetrySeconds on the same read-only sessions; the write pool still writes', async () => {
    const time = new FakeTime(Date.now());
    const reads = await fallingBack({ LAKEBASE_READ_RETRY_SECONDS: '5' }, time);
    const events: unknown[] = [];
    reads.on('read-fallback', (event) => events.push(event));
    const pid = async () => (await reads.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]?.pid;
    const first = await pid();
    await time.advance(6000); // the read host is tried again, fails again
    expect(reads.fallingBack).toBe(false);
    expect(await pid()).toBe(first);
    expect(events).toHaveLength(1);
    expect(reads.fallingBack).toBe(true);
    expectReadPoolWrite(await reads.query(`insert into ${table} values (140, 'x')`).catch((e: unknown) => e));
    // Only the read pool's sessions are read-only: the write pool it falls back to is not.
    await reads.primary.query(`insert into ${table} values (141, 'y')`);
    await reads.primary.query(`delete from ${table} where id = 141`);
    expect(await rowCount()).toBe(1);
  });

  it('documented limit: a transaction that asks for READ WRITE itself can write through a fallback session', async () => {
    // The fallback logs in as the write pool's role, so PostgreSQL lets a transaction choose READ WRITE; the guard
    // is against mistakes, not a privilege boundary (the README says so; LAKEBASE_READ_FALLBACK=fail avoids it).
    const reads = await fallingBack();
    const client = await reads.connect();
    try {
      await client.query('begin read write');
      await client.query(`insert into ${table} values (150, 'x')`);
      await client.query('rollback');
    } finally {
      client.release();
    }
    expect(await rowCount()).toBe(1);
  });
});

describe('a pooled read pool falling back', () => {
  it('opens its read-only sessions on the direct primary host (a transaction pooler refuses startup options)', async () => {
    const reads = await fallingBack({ LAKEBASE_POOLED: 'true' });
    const { rows } = await reads.query<{ ro: string }>("select current_setting('default_transaction_read_only') as ro");
    expect(rows[0]?.ro).toBe('on');
    expectReadPoolWrite(await reads.query(`insert into ${table} values (160, 'x')`).catch((e: unknown) => e));
    expect(await rowCount()).toBe(1);
  });
});
