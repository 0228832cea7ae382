/**
 * Read-only hosts must be read-only by PostgreSQL's own mechanism (issue 22, finding 4): on the embedded storage they
 * are served by a hot standby, so no SQL a client sends can write, whatever the spelling. Each case below was either a
 * way around the old text filter or is another way to try to write; every one must fail with the standby's own error
 * and leave the primary's data as it was.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../src/index.js';
import { connectFrontDoor, finishOperation, frontDoorConfig, postgresApi } from './clients.js';

// biome-ignore lint/suspicious/noExplicitAny: REST JSON, checked by the assertions
type Json = Record<string, any>;

let emu: Emulator;
let token: string;
const table = `ro_attack_${process.pid}`;
const project = 'lakebase-emulator';

const api = (method: string, path: string, body?: unknown) => postgresApi(emu, method, path, body);

/** Polls an Operation until done (bounded). */
async function finish(operation: Json): Promise<Json> {
  const op = await finishOperation(emu, operation);
  expect(op.done).toBe(true);
  return op;
}

const client = (host: string, password = token) => connectFrontDoor(frontDoorConfig(emu, { password, host }));
const branchOf = (endpoint: string) => endpoint.replace(/\/endpoints\/[^/]+$/, '').replace(/^projects\/[^/]+\//, '');

let readOnlyHost: string;

/** What the primary holds: the rows and the sequence's position, which no attack may change. */
async function primaryState(): Promise<{ rows: number; seq: string }> {
  const primary = await client(emu.pgHost);
  try {
    const rows = (await primary.query(`select count(*)::int as n from ${table}`)).rows[0].n as number;
    const seq = (await primary.query(`select last_value::text as v from ${table}_id_seq`)).rows[0].v as string;
    return { rows, seq };
  } finally {
    await primary.end();
  }
}

beforeAll(async () => {
  emu = await startEmulator({ apiPort: 0, pgPort: 0 });
  expect(emu.storage).toBe('postgres');
  token = (await api('POST', 'credentials', { endpoint: emu.endpoint })).token;
  const primary = await client(emu.pgHost);
  await primary.query(`create table ${table} (id serial primary key, note text)`);
  await primary.query(`insert into ${table} (note) values ('one')`);
  // A procedure that commits and writes: made on the primary, so it exists on the standby too.
  await primary.query(`create procedure ${table}_sneak() language plpgsql as $$
    begin
      perform set_config('default_transaction_read_only', 'off', false);
      commit;
      insert into ${table} (note) values ('from a procedure');
    end $$`);
  await primary.end();
  await finish(
    await api('POST', `${branchOf(emu.endpoint)}/endpoints?endpoint_id=replica`.replace(/^/, `projects/${project}/`), {
      spec: { endpoint_type: 'ENDPOINT_TYPE_READ_ONLY' },
    }),
  );
  const replica = await api('GET', `projects/${project}/${branchOf(emu.endpoint)}/endpoints/replica`);
  readOnlyHost = replica.status.hosts.host;
});
afterAll(async () => {
  await emu?.stop();
});

const write = `insert into ${table} (note) values ('written')`;

describe('a read-only host cannot write, whatever SQL it is sent (embedded storage: a hot standby)', () => {
  it.each([
    ['a -- comment ended by a bare carriage return', `begin read --c\rwrite; ${write}; commit`],
    [
      'a setting name split across adjacent literals',
      `select set_config('default_transaction_'\n'read_only', 'off', false); ${write}`,
    ],
    [
      'a U& escaped setting name',
      `select set_config(U&'default\\005Ftransaction\\005Fread\\005Fonly', 'off', false); ${write}`,
    ],
    ['an E string setting name', `select set_config(E'default_transaction\\x5fread_only', 'off', false); ${write}`],
    ['a quoted "set_config"', `select "set_config"('default_transaction_read_only', 'off', false); ${write}`],
    [
      'a quoted and schema-qualified set_config',
      `select "pg_catalog"."set_config"('transaction_read_only', 'off', true); ${write}`,
    ],
    [
      'a DO block that flips the setting, commits and writes',
      `do $$ begin execute 'set default_transaction' || '_read_only = off'; commit; ${write}; end $$`,
    ],
    ['a procedure that commits and writes', `call ${table}_sneak()`],
    ['SET SESSION CHARACTERISTICS', `set session characteristics as transaction read write; ${write}`],
    ['a multi-statement simple query', `set default_transaction_read_only = off; ${write}`],
    ['BEGIN READ WRITE', `begin read write; ${write}; commit`],
    ['SET transaction_read_only = off', `begin; set transaction_read_only = off; ${write}; commit`],
    ['a prepared transaction', `begin; ${write}; prepare transaction 'ro_attack'`],
    ['COPY FROM', `copy ${table} (note) from stdin`],
    ['CREATE TEMP TABLE', 'create temp table scratch (v int)'],
    ['nextval', `select nextval('${table}_id_seq')`],
    ['ALTER ROLE ... PASSWORD', `alter role current_user password 'chosen-by-client'`],
    ['NOTIFY', `notify ${table}`],
    ['VACUUM', `vacuum ${table}`],
    ['a large object', 'select lo_create(0)'],
  ])('%s', async (_name, sql) => {
    const before = await primaryState();
    const ro = await client(readOnlyHost);
    try {
      const error = await ro.query(sql).then(
        () => undefined,
        (e: { code?: string }) => e,
      );
      // The standby's own refusals: 25006 (read-only transaction, or "during recovery"), 0A000 (read-write mode
      // during recovery), 25001 (read-write mode after the transaction's first query).
      expect(error?.code).toMatch(/^(25006|0A000|25001)$/);
      // The session is still read-only after whatever it sent (once an aborted transaction block is ended).
      await ro.query('rollback');
      await expect(ro.query(write)).rejects.toMatchObject({ code: '25006' });
    } finally {
      await ro.end().catch(() => {});
    }
    expect(await primaryState()).toEqual(before);
  });

  it('the extended protocol (Parse/Bind/Execute) cannot write either', async () => {
    const before = await primaryState();
    const ro = await client(readOnlyHost);
    try {
      await expect(
        ro.query({ text: `select set_config($1, 'off', false)`, values: ['default_transaction_read_only'] }),
      ).resolves.toBeDefined();
      await expect(ro.query({ text: `insert into ${table} (note) values ($1)`, values: ['x'] })).rejects.toMatchObject({
        code: '25006',
      });
      await expect(ro.query({ name: 'w', text: `update ${table} set note = $1`, values: ['y'] })).rejects.toMatchObject(
        { code: '25006' },
      );
    } finally {
      await ro.end().catch(() => {});
    }
    expect(await primaryState()).toEqual(before);
  });

  it('reads are served, LISTEN is refused as on a standby, and the session reports in_hot_standby', async () => {
    const ro = await client(readOnlyHost);
    try {
      expect((await ro.query(`select note from ${table} order by id`)).rows).toEqual([{ note: 'one' }]);
      const settings = await ro.query(
        `select current_setting('transaction_read_only') as ro, current_setting('in_hot_standby') as standby`,
      );
      expect(settings.rows).toEqual([{ ro: 'on', standby: 'on' }]);
      await expect(ro.query(`listen ${table}`)).rejects.toMatchObject({ code: '25006' });
    } finally {
      await ro.end().catch(() => {});
    }
  });

  it('a session on the read-only host sees what the primary committed before it logged in', async () => {
    const primary = await client(emu.pgHost);
    await primary.query(`create table ${table}_fresh (v int)`);
    await primary.query(`insert into ${table}_fresh values (42)`);
    await primary.end();
    const ro = await client(readOnlyHost);
    try {
      expect((await ro.query(`select v from ${table}_fresh`)).rows).toEqual([{ v: 42 }]);
    } finally {
      await ro.end().catch(() => {});
    }
  });

  it("a branch's data is on the standby too: a read-only endpoint of a new branch reads it and cannot write it", async () => {
    await finish(await api('POST', `projects/${project}/branches?branch_id=ro-dev`, { spec: {} }));
    const rw = (
      await finish(
        await api('POST', `projects/${project}/branches/ro-dev/endpoints?endpoint_id=primary`, {
          spec: { endpoint_type: 'ENDPOINT_TYPE_READ_WRITE' },
        }),
      )
    ).response as Json;
    const ro = (
      await finish(
        await api('POST', `projects/${project}/branches/ro-dev/endpoints?endpoint_id=reader`, {
          spec: { endpoint_type: 'ENDPOINT_TYPE_READ_ONLY' },
        }),
      )
    ).response as Json;
    const mint = async (endpoint: string) =>
      (await emu.workspace.mintDatabaseToken(emu.user, [{ kind: 'endpoint', name: endpoint }])).token;
    const writer = await client(rw.status.hosts.host, await mint(rw.name));
    await writer.query(`insert into ${table} (note) values ('on the branch')`);
    await writer.end();
    const reader = await client(ro.status.hosts.host, await mint(ro.name));
    try {
      const notes = (await reader.query(`select note from ${table} order by id`)).rows.map((r) => r.note);
      expect(notes).toEqual(['one', 'on the branch']);
      await expect(reader.query(write)).rejects.toMatchObject({ code: '25006' });
    } finally {
      await reader.end().catch(() => {});
    }
    expect((await primaryState()).rows).toBe(1);
  });
});

describe('the standby process', () => {
  it('is made again by the next read-only login when it has died', async () => {
    const root = `${emu.dataDir}/postgres`;
    const pointer = (await readFile(`${root}/external-cluster`, 'utf8').catch(() => '')).trim();
    const pidFile = `${pointer || root}/standby/postmaster.pid`;
    const before = await client(readOnlyHost); // the standby exists (started by the tests above, or now)
    await before.end();
    const pid = Number.parseInt(await readFile(pidFile, 'utf8'), 10);
    process.kill(pid, 'SIGKILL');
    const ro = await client(readOnlyHost);
    try {
      expect((await ro.query(`select note from ${table} order by id`)).rows).toEqual([{ note: 'one' }]);
      await expect(ro.query(write)).rejects.toMatchObject({ code: '25006' });
    } finally {
      await ro.end().catch(() => {});
    }
    expect(Number.parseInt(await readFile(pidFile, 'utf8'), 10)).not.toBe(pid);
  });
});
