/** The pooled host (transaction pooling) against the emulator: routing, refusals, and migrations refused. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Emulator } from '@lakebase-kit/emulator';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyMigrations, createLakebasePool, type LakebasePool } from '../src/index.js';
import { startWarmEmulator } from './helpers/emulator.js';

let emu: Emulator;
let dir: string;
let pool: LakebasePool;

beforeAll(async () => {
  emu = await startWarmEmulator({ upstream: 'postgresql://postgres@127.0.0.1:5432/test' });
  dir = await mkdtemp(path.join(tmpdir(), 'pooled-migrations-'));
  await writeFile(path.join(dir, '001_never.sql'), 'create table never_created_on_pooled (id int);\n');
  pool = createLakebasePool({ env: { ...emu.env('autoscaling'), LAKEBASE_POOLED: 'true' }, logger: { warn() {} } });
});
afterAll(async () => {
  await pool?.end();
  await emu?.stop();
  await rm(dir, { recursive: true, force: true });
});

const refused = { code: 'LAKEBASE_POOLED_HOST_UNSUPPORTED' };

describe('pooled host (emulator)', () => {
  it('connects through status.hosts.read_write_pooled_host and runs transactions', async () => {
    const res = await fetch(`${emu.databricksHost}/api/2.0/postgres/${emu.endpoint}`, {
      headers: { Authorization: `Bearer ${emu.databricksToken}` },
    });
    const { status } = (await res.json()) as { status: { hosts: Record<string, string> } };
    expect((await pool.lakebase.target()).host).toBe(status.hosts.read_write_pooled_host);
    expect((await pool.query('select 1 as one')).rows).toEqual([{ one: 1 }]);
    const client = await pool.connect();
    try {
      await client.query('begin');
      await client.query("set local statement_timeout = '5s'");
      await client.query('select pg_advisory_xact_lock(42)');
      await client.query('commit');
    } finally {
      client.release();
    }
  });

  it.each([
    ['LISTEN', 'listen jobs'],
    ['session SET', 'set search_path = public'],
    ['session advisory lock', 'select pg_advisory_lock(42)'],
    ['PREPARE', 'prepare q as select 1'],
  ])('refuses %s with LAKEBASE_POOLED_HOST_UNSUPPORTED', async (_what, sql) => {
    await expect(pool.query(sql)).rejects.toMatchObject(refused);
  });

  it('refuses named prepared statements, on pool.query and on a checked-out client', async () => {
    await expect(pool.query({ name: 'q1', text: 'select 1' })).rejects.toMatchObject(refused);
    const client = await pool.connect();
    try {
      await expect(client.query({ name: 'q2', text: 'select 1' })).rejects.toMatchObject(refused);
      await expect(client.query('listen jobs')).rejects.toMatchObject(refused);
    } finally {
      client.release();
    }
  });

  it('migrations refuse the pooled host: the pool, its client, and a plain client to a pooled host name', async () => {
    await expect(applyMigrations(pool, { dir })).rejects.toMatchObject(refused);
    const client = await pool.connect();
    try {
      await expect(applyMigrations(client, { dir })).rejects.toMatchObject(refused);
    } finally {
      client.release();
    }
    const plain = new pg.Client({ host: 'ep-abc-pooler.database.localhost', port: 1 });
    await expect(applyMigrations(plain, { dir })).rejects.toMatchObject(refused);
    expect((await pool.query("select to_regclass('never_created_on_pooled') as t")).rows).toEqual([{ t: null }]);
  });
});
