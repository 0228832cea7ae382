import type pg from 'pg';
import { expect, it } from 'vitest';
import type { Harness } from './helpers.js';
import { sqlstateOf } from './helpers.js';

/** Behaviour every storage must show through the front door; `h()` is the running harness, `id` a unique run id. */
export function sessionSuite(h: () => Harness, id: string, roles: string[]): void {
  const [owner, other] = roles as [string, string, ...string[]];

  it('runs parameterised queries (extended protocol) and returns typed values', async () => {
    const client = await h().connect(owner);
    const { rows } = await client.query('select $1::int + $2::int as sum, $3::text as t, $4::jsonb as j', [
      2,
      40,
      'héllo',
      { a: [1, 2] },
    ]);
    expect(rows[0]).toEqual({ sum: 42, t: 'héllo', j: { a: [1, 2] } });
    // Describe + error in the middle of an extended sequence, then the session carries on.
    expect(await sqlstateOf(client.query('select $1::int / 0', [1]))).toBe('22012');
    expect((await client.query('select $1::text as v', ['after'])).rows[0].v).toBe('after');
    await client.end();
  });

  it('relays messages larger than one TCP/TLS chunk both ways', async () => {
    const client = await h().connect(owner);
    const big = 'x'.repeat(3 * 1024 * 1024);
    const { rows } = await client.query('select length($1::text) as n, $1::text as echo', [big]);
    expect(rows[0].n).toBe(big.length);
    expect(rows[0].echo === big).toBe(true);
    await client.end();
  });

  it('keeps named prepared statements of different sessions apart', async () => {
    const a = await h().connect(owner);
    const b = await h().connect(owner);
    const query = (v: number) => ({ name: 'same_name', text: 'select $1::int * 2 as v', values: [v] });
    const results = await Promise.all([a.query(query(1)), b.query(query(2)), a.query(query(3)), b.query(query(4))]);
    expect(results.map((r) => r.rows[0].v)).toEqual([2, 4, 6, 8]);
    // A different statement under the same name in another session.
    const c = await h().connect(other);
    expect((await c.query({ name: 'same_name', text: "select 'c' as v" })).rows[0].v).toBe('c');
    await Promise.all([a.end(), b.end(), c.end()]);
  });

  it('serialises 24 concurrent sessions of several roles with transactions, rollbacks and errors', async () => {
    const table = `counter_${id}`;
    const admin = await h().connect(owner);
    await admin.query(`create table ${table} (id int primary key, n int not null)`);
    await admin.query(`insert into ${table} values (1, 0)`);
    // Log every role in once so it exists before the GRANT.
    for (const role of roles) await (await h().connect(role)).end();
    await admin.query(
      `grant select, update on ${table} to ${roles.map((r) => `"${r.replaceAll('"', '""')}"`).join(', ')}`,
    );

    const clients = 24;
    const iterations = 8;
    const run = async (i: number) => {
      const role = roles[i % roles.length] as string;
      const client: pg.Client = await h().connect(role);
      try {
        for (let k = 0; k < iterations; k++) {
          await client.query('begin');
          const who = await client.query('select current_user as u');
          expect(who.rows[0].u).toBe(role);
          const { rows } = await client.query(`select n from ${table} where id = 1 for update`);
          // Read-modify-write on the client: lost updates would show if transactions interleaved.
          await client.query(`update ${table} set n = $1 where id = 1`, [rows[0].n + 1]);
          await client.query('commit');
        }
        await client.query('begin');
        await client.query(`update ${table} set n = n + 1000 where id = 1`);
        await client.query('rollback');

        await client.query('begin');
        await client.query(`update ${table} set n = n + 1000000 where id = 1`);
        expect(await sqlstateOf(client.query('select 1 / 0'))).toBe('22012');
        expect(await sqlstateOf(client.query('select 1'))).toBe('25P02');
        await client.query('rollback');
      } finally {
        await client.end();
      }
    };
    await Promise.all(Array.from({ length: clients }, (_, i) => run(i)));
    const { rows } = await admin.query(`select n from ${table} where id = 1`);
    expect(rows[0].n).toBe(clients * iterations);
    await admin.query(`drop table ${table}`);
    await admin.end();
  });

  it('rolls back and frees the database when a client disconnects mid-transaction', async () => {
    const table = `dropped_${id}`;
    const a = await h().connect(owner);
    await a.query(`create table ${table} (v int)`);
    await a.query('begin');
    await a.query(`insert into ${table} values (1)`);
    // Kill the socket without a Terminate message.
    (a as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
    const b = await h().connect(owner);
    const deadline = Date.now() + 5_000;
    let count = -1;
    while (Date.now() < deadline) {
      count = (await b.query(`select count(*)::int as c from ${table}`)).rows[0].c;
      if (count === 0) break;
    }
    expect(count).toBe(0);
    await b.query(`drop table ${table}`);
    await b.end();
  });

  it('creates roles as non-superusers: another role cannot read a table it does not own', async () => {
    const table = `private_${id}`;
    const a = await h().connect(owner);
    await a.query(`create table ${table} (v int)`);
    const b = await h().connect(other);
    expect((await b.query("select current_setting('is_superuser') as su")).rows[0].su).toBe('off');
    expect(await sqlstateOf(b.query(`select * from ${table}`))).toBe('42501');
    await a.query(`drop table ${table}`);
    await a.end();
    await b.end();
  });
}
