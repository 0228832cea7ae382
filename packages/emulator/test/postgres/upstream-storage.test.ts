import { connect as netConnect } from 'node:net';
import { pgWire } from '@lakebase-kit/client/toolkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createUpstreamStorage } from '../../src/postgres/upstream-storage.js';
import { type Harness, runId, sqlstateOf, startHarness, UPSTREAM_URL } from './helpers.js';
import { sessionSuite } from './session-suite.js';

const { cancelRequest } = pgWire;

const ident = (s: string) => `"${s.replaceAll('"', '""')}"`;

describe('upstream PostgreSQL storage through the front door', () => {
  const id = runId();
  const roles = [`owner-${id}@example.com`, `0b7c4a52-${id}-4c1e-9f7e-2b6f0c7d9e11`, `o'brien"${id}@example.com`];
  const otherDb = `lakebase_other_${id}`;
  let harness: Harness;
  beforeAll(async () => {
    harness = await startHarness(() => createUpstreamStorage({ url: UPSTREAM_URL }));
  });
  afterAll(async () => {
    await harness?.close();
    // Leave the shared server as we found it.
    const admin = new pg.Client({ connectionString: UPSTREAM_URL });
    await admin.connect();
    await admin.query(`drop database if exists ${ident(otherDb)} with (force)`);
    for (const role of roles) {
      const exists = await admin.query('select 1 from pg_roles where rolname = $1', [role]);
      if (exists.rowCount) {
        await admin.query(`drop owned by ${ident(role)}`);
        await admin.query(`drop role ${ident(role)}`);
      }
    }
    await admin.end();
  });

  sessionSuite(() => harness, id, roles);

  it('logs in as the role itself, so it cannot reset its way to the admin', async () => {
    const client = await harness.connect(roles[1] as string);
    const { rows } = await client.query('select session_user, current_user, current_database() as db');
    expect(rows[0]).toEqual({
      session_user: roles[1],
      current_user: roles[1],
      db: new URL(UPSTREAM_URL).pathname.slice(1),
    });
    await client.query('reset session authorization');
    expect((await client.query('select current_user as u')).rows[0].u).toBe(roles[1]);
    await client.end();
  });

  it('maps other Lakebase database names to same-named upstream databases, created on first use', async () => {
    const client = await harness.connect(roles[0] as string, { database: otherDb });
    expect((await client.query('select current_database() as db')).rows[0].db).toBe(otherDb);
    await client.query('create table here (v int)');
    await client.end();
  });

  it('forwards a CancelRequest to the upstream backend', async () => {
    const client = await harness.connect(roles[0] as string);
    const sleeping = sqlstateOf(client.query('select pg_sleep(20)'));
    // Wait for the query to be running upstream (an event, not a guessed delay) before cancelling it.
    const admin = new pg.Client({ connectionString: UPSTREAM_URL });
    await admin.connect();
    try {
      await vi.waitFor(
        async () => {
          const { rows } = await admin.query(
            "select 1 from pg_stat_activity where state = 'active' and query = 'select pg_sleep(20)'",
          );
          expect(rows).toHaveLength(1);
        },
        { timeout: 10_000, interval: 20 },
      );
    } finally {
      await admin.end();
    }
    const { processID, secretKey } = client as unknown as { processID: number; secretKey: number };
    await new Promise<void>((resolve, reject) => {
      const socket = netConnect({ host: '127.0.0.1', port: harness.door.port }, () =>
        socket.end(cancelRequest(processID, secretKey)),
      );
      socket.on('error', reject);
      socket.on('close', () => resolve());
    });
    // 57014 (query_canceled): without the forwarded cancel the 20 s sleep would end normally, with no error at all.
    expect(await sleeping).toBe('57014');
    await client.end();
  });
});
