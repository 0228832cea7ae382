/**
 * Ownership and grants against the emulator on a real PostgreSQL (each session logs in as the Databricks role
 * itself): tables created by the developer are owned by the developer, so the app's service principal (OAuth M2M)
 * gets "permission denied"; `doctor` names the owner and the grant command; after `grantAccess` it works, also for
 * tables created later; running it again changes nothing.
 */
import type { Emulator } from '@lakebase-kit/emulator';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkTableAccess, createLakebasePool, diagnose, grantAccess, type LakebasePool } from '../src/index.js';
import { quoteIdent } from '../src/sql/quote.js';
import { startWarmEmulator } from './helpers/emulator.js';

const ADMIN = 'postgresql://postgres@127.0.0.1:5432/test';
const database = `lakebase_grants_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
let emu: Emulator;
const pools: LakebasePool[] = [];

/** The developer (PAT) or the app's service principal (M2M: client id and secret, as Databricks Apps inject). */
function envFor(who: 'developer' | 'app'): Record<string, string> {
  const env = emu.env('provisioned');
  if (who === 'developer') return env;
  const { DATABRICKS_TOKEN: _pat, ...rest } = env;
  return { ...rest, DATABRICKS_CLIENT_ID: emu.clientId, DATABRICKS_CLIENT_SECRET: emu.clientSecret };
}

function poolFor(who: 'developer' | 'app'): LakebasePool {
  const pool = createLakebasePool({ env: envFor(who), logger: { warn: () => {} } });
  pools.push(pool);
  return pool;
}

beforeAll(async () => {
  const admin = new pg.Client(ADMIN);
  await admin.connect();
  await admin.query(`create database ${database}`);
  await admin.end();
  emu = await startWarmEmulator({ upstream: `postgresql://postgres@127.0.0.1:5432/${database}` });
});
afterAll(async () => {
  await Promise.all(pools.map((p) => p.end()));
  await emu?.stop();
  const admin = new pg.Client(ADMIN);
  await admin.connect();
  await admin.query(`drop database if exists ${database} with (force)`);
  await admin.end();
});

describe('grants for the app role (emulator on real PostgreSQL)', () => {
  it('reproduces permission denied, doctor names the owner and the command, grant fixes it, twice is fine', async () => {
    const dev = poolFor('developer');
    const app = poolFor('app');
    await dev.query('create table items (id serial primary key, name text)');
    expect((await app.query<{ u: string }>('select current_user as u')).rows[0]?.u).toBe(emu.clientId);

    // The failure users hit after deploying: the service principal cannot touch the developer's table.
    await expect(app.query('select * from items')).rejects.toMatchObject({ code: '42501' });
    await expect(app.query("insert into items (name) values ('x')")).rejects.toMatchObject({ code: '42501' });

    const before = await diagnose({ env: envFor('app') });
    const step = before.steps.at(-1);
    expect(step).toMatchObject({ name: 'privileges', ok: false, code: 'LAKEBASE_TABLE_ACCESS_DENIED' });
    expect(step?.detail).toContain(`items (owner ${emu.user}; no SELECT, INSERT, UPDATE, DELETE)`);
    expect(step?.suggestion).toContain(`As ${emu.user} (the owner), run \`lakebase grant --to ${emu.clientId}\``);

    const first = await grantAccess(dev, { to: emu.clientId });
    const r = quoteIdent(emu.clientId);
    const owner = quoteIdent(emu.user);
    expect(first).toMatchObject({ role: emu.clientId, schema: 'public', grantor: emu.user, notGranted: [] });
    expect(first.statements).toEqual([
      `GRANT USAGE ON SCHEMA "public" TO ${r}`,
      `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "public" TO ${r}`,
      `GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA "public" TO ${r}`,
      `ALTER DEFAULT PRIVILEGES FOR ROLE ${owner} IN SCHEMA "public" GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ${r}`,
      `ALTER DEFAULT PRIVILEGES FOR ROLE ${owner} IN SCHEMA "public" GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO ${r}`,
    ]);
    // The serial column needs the sequence grant too.
    await app.query("insert into items (name) values ('from the app')");
    expect((await app.query('select name from items')).rows).toEqual([{ name: 'from the app' }]);

    const second = await grantAccess(dev, { to: emu.clientId });
    expect(second.statements).toEqual(first.statements);
    expect(second.notGranted).toEqual([]);

    // Default privileges: a table the developer creates later is usable at once.
    await dev.query('create table later (id bigserial primary key, note text)');
    await app.query("insert into later (note) values ('ok')");
    expect((await app.query('select count(*)::int as n from later')).rows[0]).toEqual({ n: 1 });

    const after = await diagnose({ env: envFor('app') });
    expect(after.ok).toBe(true);
    expect(after.steps.at(-1)).toMatchObject({ name: 'privileges', ok: true });
    expect(after.steps.at(-1)?.detail).toContain(`${emu.clientId} can read and write all 2 tables in schema public`);
  });

  it('a schema of its own: no USAGE is named with the --schema command, and granting fixes it', async () => {
    const dev = poolFor('developer');
    const app = poolFor('app');
    await dev.query('create schema "app-data"; create table "app-data".things (id int)');
    const before = await diagnose({ env: envFor('app'), schema: 'app-data' });
    expect(before.steps.at(-1)).toMatchObject({ name: 'privileges', ok: false, code: 'LAKEBASE_TABLE_ACCESS_DENIED' });
    expect(before.steps.at(-1)?.detail).toBe(`${emu.clientId} has no USAGE on schema app-data.`);
    expect(before.steps.at(-1)?.suggestion).toContain(`lakebase grant --to ${emu.clientId} --schema app-data`);
    await expect(app.query('select * from "app-data".things')).rejects.toMatchObject({ code: '42501' });

    const result = await grantAccess(dev, { to: emu.clientId, schema: 'app-data' });
    expect(result.statements[0]).toBe(`GRANT USAGE ON SCHEMA "app-data" TO "${emu.clientId}"`);
    expect((await app.query('select count(*)::int as n from "app-data".things')).rows[0]).toEqual({ n: 0 });
    expect((await diagnose({ env: envFor('app'), schema: 'app-data' })).ok).toBe(true);
  });

  it('--read-only grants SELECT only; an unknown role and schema are clear errors', async () => {
    const dev = poolFor('developer');
    const reader = emu.workspace.addUser('reader@example.com');
    const readerPool = createLakebasePool({
      env: { ...emu.env('provisioned'), DATABRICKS_TOKEN: reader.pat },
      logger: { warn: () => {} },
    });
    pools.push(readerPool);
    await readerPool.query('select 1'); // the role exists once the identity has logged in (as on attach)
    await dev.query('create table if not exists items (id serial primary key, name text)');
    const result = await grantAccess(dev, { to: reader.userName, readOnly: true });
    expect(result.statements[1]).toBe(`GRANT SELECT ON ALL TABLES IN SCHEMA "public" TO "reader@example.com"`);
    await readerPool.query('select * from items');
    await expect(readerPool.query("insert into items (name) values ('no')")).rejects.toMatchObject({ code: '42501' });
    const report = await checkTableAccess(readerPool);
    expect(report.missing.find((m) => m.table === 'items')?.missing).toEqual(['INSERT', 'UPDATE', 'DELETE']);

    await expect(grantAccess(dev, { to: 'ghost@example.com' })).rejects.toMatchObject({
      code: 'LAKEBASE_ROLE_NOT_FOUND',
    });
    await expect(grantAccess(dev, { to: reader.userName, schema: 'nope' })).rejects.toMatchObject({
      code: 'LAKEBASE_CONFIG_INVALID',
    });
  });
});
