import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgliteStorage } from '../../src/postgres/pglite-storage.js';
import { type Harness, runId, sqlstateOf, startHarness } from './helpers.js';
import { sessionSuite } from './session-suite.js';

describe('PGlite storage through the front door', () => {
  const id = runId();
  const roles = [`owner-${id}@example.com`, `0b7c4a52-${id}-4c1e-9f7e-2b6f0c7d9e11`, `o'brien"${id}@example.com`];
  let harness: Harness;
  beforeAll(async () => {
    harness = await startHarness((dir) => createPgliteStorage({ dataDir: dir }));
  });
  afterAll(async () => {
    await harness?.close();
  });

  sessionSuite(() => harness, id, roles);

  it('keeps a session running while others wait for its transaction, then lets them in', async () => {
    const a = await harness.connect(roles[0] as string);
    const b = await harness.connect(roles[0] as string);
    await a.query('begin');
    await a.query('create temp table if not exists t_wait (v int)');
    let bDone = false;
    const bQuery = b.query('select 1').then(() => {
      bDone = true;
    });
    // a's next query, sent after b's, is answered while b's still waits for a's transaction.
    await a.query('select 1');
    expect(bDone).toBe(false);
    await a.query('commit');
    await bQuery;
    expect(bDone).toBe(true);
    await a.end();
    await b.end();
  });
});

describe('PGlite turn timeout', () => {
  it('fails a query with 55P03 instead of hanging when another session keeps a transaction open', async () => {
    const h = await startHarness(() => createPgliteStorage({ turnTimeoutMs: 300 }));
    try {
      const a = await h.connect('holder@example.com');
      const b = await h.connect('waiter@example.com');
      await a.query('begin');
      await a.query('select 1');
      expect(await sqlstateOf(b.query('select 1'))).toBe('55P03');
      expect(await sqlstateOf(b.query('select $1::int', [1]))).toBe('55P03');
      await a.query('commit');
      expect((await b.query('select current_user as u')).rows[0].u).toBe('waiter@example.com');
    } finally {
      await h.close();
    }
  });
});

describe('PGlite persistence', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'lakebase-pglite-persist-'));
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('keeps data across close and reopen of the storage', async () => {
    const user = 'persist@example.com';
    const first = await startHarness((dir) => createPgliteStorage({ dataDir: dir }), dataDir);
    const a = await first.connect(user);
    await a.query('create table kept (v text)');
    await a.query('insert into kept values ($1)', ['survives']);
    await first.close();

    const second = await startHarness((dir) => createPgliteStorage({ dataDir: dir }), dataDir);
    const b = await second.connect(user);
    expect((await b.query('select v, current_user as u from kept')).rows).toEqual([{ v: 'survives', u: user }]);
    // Another Lakebase database name is a separate PGlite.
    const c = await second.connect(user, { database: 'other_db' });
    expect((await c.query("select to_regclass('kept') is null as missing")).rows[0].missing).toBe(true);
    await second.close();
  });
});
