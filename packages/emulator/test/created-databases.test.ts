/**
 * Databases made with CREATE DATABASE through the front door are real databases: the owner (CREATEDB, as on
 * Lakebase) makes one, then any identity with a role logs in to it with a token, and grants behave as PostgreSQL's;
 * after DROP DATABASE a login gets 3D000. The edges an attacker would push on: storage internals (templates, the
 * maintenance and admin databases, branch copies), names that differ by case or quoting, names of the wrong shape,
 * databases no client of this emulator made, and a database made on one branch asked for from another. On the
 * embedded PostgreSQL and on an upstream server (the local PostgreSQL); PGlite refuses such logins, clearly.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../src/index.js';
import { connectFrontDoor, finishOperation, frontDoorConfig, postgresApi } from './clients.js';

// biome-ignore lint/suspicious/noExplicitAny: REST responses of many shapes, read field by field
type Json = Record<string, any>;

const UPSTREAM_ADMIN = 'postgresql://postgres@127.0.0.1:5432';
const ANN = 'ann@example.com';
/** Every database this file makes starts with this, so cleanup finds them whatever failed. */
const PREFIX = `cdb_${process.pid}_${Math.floor(Math.random() * 1e6)}`;

async function upstreamAdmin(sql: string, params: unknown[] = []) {
  const client = new pg.Client({ connectionString: `${UPSTREAM_ADMIN}/postgres`, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    return await client.query(sql, params);
  } finally {
    await client.end();
  }
}

describe.each(['postgres', 'upstream'] as const)('databases made in SQL on %s storage', (storage) => {
  let emu: Emulator;
  const upstreamDb = `${PREFIX}_${storage}_admin`;
  const project = 'lakebase-emulator';
  const name = (what: string) => `${PREFIX}_${storage}_${what}`;

  beforeAll(async () => {
    if (storage === 'upstream') {
      await upstreamAdmin(`create database "${upstreamDb}"`);
      emu = await startEmulator({ apiPort: 0, pgPort: 0, upstream: `${UPSTREAM_ADMIN}/${upstreamDb}` });
    } else emu = await startEmulator({ apiPort: 0, pgPort: 0, onNotice: () => {} });
    emu.workspace.addUser(ANN);
  });
  afterAll(async () => {
    await emu?.stop();
    if (storage !== 'upstream') return;
    // Everything this file made there: its databases, the branch copies of its admin database, the admin database.
    const { rows } = await upstreamAdmin(
      `select datname from pg_database where datname like $1 or datname like $2 or datname = $3`,
      [`${PREFIX}%`, `${upstreamDb}@%`, upstreamDb],
    );
    for (const { datname } of rows) await upstreamAdmin(`drop database if exists "${datname}" with (force)`);
  });

  const api = (method: string, path: string, body?: unknown) => postgresApi(emu, method, path, body);
  async function finish(operation: Json): Promise<Json> {
    const op = await finishOperation(emu, operation);
    expect(op.done).toBe(true);
    expect(op.error).toBeUndefined();
    return op.response;
  }
  /** A branch of production with a read-write endpoint: its endpoint name and host. */
  async function branch(id: string): Promise<{ name: string; host: string; uid: string }> {
    const made = await finish(await api('POST', `projects/${project}/branches?branch_id=${id}`, { spec: {} }));
    const endpoint = await finish(
      await api('POST', `projects/${project}/branches/${id}/endpoints?endpoint_id=primary`, {
        spec: { endpoint_type: 'ENDPOINT_TYPE_READ_WRITE' },
      }),
    );
    return { name: endpoint.name, host: endpoint.status.hosts.host, uid: made.uid };
  }

  /** Logs in with a fresh token for `endpoint` (default: the default one) at `host`. */
  async function login(database: string, options: { user?: string; endpoint?: string; host?: string } = {}) {
    const user = options.user ?? emu.user;
    const resource = { kind: 'endpoint' as const, name: options.endpoint ?? emu.endpoint };
    const { token } = await emu.workspace.mintDatabaseToken(user, [resource]);
    const login = { user, password: token, ...(options.host ? { host: options.host } : {}) };
    return connectFrontDoor(frontDoorConfig(emu, login, { database }));
  }
  /** The SQLSTATE a login gets, or 'ok'. */
  async function loginCode(database: string, options: Parameters<typeof login>[1] = {}): Promise<string> {
    return login(database, options).then(
      async (client) => {
        await client.end();
        return 'ok';
      },
      (error: { code?: string }) => error.code ?? 'no code',
    );
  }
  async function asOwner<T>(database: string, fn: (c: pg.Client) => Promise<T>, options = {}): Promise<T> {
    const client = await login(database, options);
    try {
      return await fn(client);
    } finally {
      await client.end();
    }
  }

  it('the owner makes one in SQL; the owner and a second identity log in with tokens; grants are PostgreSQL’s', async () => {
    const shop = name('shop');
    await asOwner(emu.database, (c) => c.query(`create database "${shop}"`));
    const owner = await login(shop);
    expect((await owner.query('select current_database() as d, current_user as u')).rows[0]).toEqual({
      d: shop,
      u: emu.user,
    });
    await owner.query(`create table items (v text); insert into items values ('a')`);

    const ann = await login(shop, { user: ANN });
    expect((await ann.query('select current_user as u')).rows[0].u).toBe(ANN);
    // Nothing is granted on a client's database but what PostgreSQL grants: CONNECT to PUBLIC, no CREATE on public.
    await expect(ann.query('select * from items')).rejects.toMatchObject({ code: '42501' });
    await expect(ann.query('create table mine (v int)')).rejects.toMatchObject({ code: '42501' });
    await owner.query(`grant select on items to "${ANN}"`);
    expect((await ann.query('select v from items')).rows).toEqual([{ v: 'a' }]);
    // No emulator function was put in it (databricks_create_role lives in the configured databases only).
    const fns = await owner.query(`select count(*)::int as n from pg_proc where pronamespace = 'public'::regnamespace`);
    expect(fns.rows[0].n).toBe(0);
    await ann.end();
    await owner.end();

    await asOwner(emu.database, (c) => c.query(`drop database "${shop}"`));
    expect(await loginCode(shop)).toBe('3D000');
    expect(await loginCode(shop, { user: ANN })).toBe('3D000');
  });

  it('the owner may revoke CONNECT, and PostgreSQL then refuses the second identity', async () => {
    const locked = name('locked');
    await asOwner(emu.database, (c) => c.query(`create database "${locked}"`));
    await asOwner(locked, (c) => c.query(`revoke connect on database "${locked}" from public`));
    expect(await loginCode(locked, { user: ANN })).toBe('42501');
    expect(await loginCode(locked)).toBe('ok');
  });

  it('a name of the shape Prisma gives its shadow database (hyphens, made quoted) works', async () => {
    const shadow = `${name('shadow')}-0b7c4a52-4c1e`;
    await asOwner(emu.database, (c) => c.query(`create database "${shadow}"`));
    expect(await asOwner(shadow, async (c) => (await c.query('select current_database() as d')).rows[0].d)).toBe(
      shadow,
    );
    await asOwner(emu.database, (c) => c.query(`drop database "${shadow}"`));
    expect(await loginCode(shadow)).toBe('3D000');
  });

  it('two sessions making databases at the same moment each get theirs', async () => {
    const [a, b] = [name('para'), name('parb')];
    const [s1, s2] = [await login(emu.database), await login(emu.database)];
    await Promise.all([s1.query(`create database "${a}"`), s2.query(`create database "${b}"`)]);
    await Promise.all([s1.end(), s2.end()]);
    expect([await loginCode(a), await loginCode(b)]).toEqual(['ok', 'ok']);
  });

  it('refuses storage internals, other shapes and names that differ by case or quoting (3D000)', async () => {
    const shop = name('edge');
    await asOwner(emu.database, (c) => c.query(`create database "${shop}"`));
    const internals = ['template0', 'template1', 'postgres', `${emu.database}@00000000`];
    if (storage === 'upstream') internals.push(upstreamDb); // the URL's database, served only as databricks_postgres
    const shapes = [shop.toUpperCase(), `"${shop}"`, `${shop} `, `${shop}.x`, `${shop};drop`, 'a'.repeat(64), ''];
    for (const database of [...internals, ...shapes]) {
      // An empty name is the user name by PostgreSQL's rule, which is no database either.
      expect([database, await loginCode(database)]).toEqual([database, '3D000']);
    }
    // A name the configured list has in another case is not it.
    expect(await loginCode(emu.database.toUpperCase())).toBe('3D000');
    expect(await loginCode(shop)).toBe('ok');
  });

  it('a branch copy cannot be reached by its storage name, and a client cannot make one', async () => {
    const dev = await branch('copy-probe');
    const copy = `${emu.database}@${dev.uid.slice(0, 8)}`;
    expect(await loginCode(copy)).toBe('3D000');
    expect(await loginCode(copy, { endpoint: dev.name, host: dev.host })).toBe('3D000');
    // A name with '@' made in SQL is not served either, even where it is the shape of a copy.
    const forged = `${name('forged')}@${dev.uid.slice(0, 8)}`;
    await asOwner(emu.database, (c) => c.query(`create database "${forged}"`));
    expect(await loginCode(forged)).toBe('3D000');
    await asOwner(emu.database, (c) => c.query(`drop database "${forged}"`));
  });

  it('a database on the server that no client of this emulator made is not served', async () => {
    const handmade = name('handmade');
    if (storage === 'upstream') await upstreamAdmin(`create database "${handmade}"`);
    // On the embedded server the owner's own COMMENT cannot make a database someone else owns reachable either.
    expect(await loginCode(handmade)).toBe('3D000');
    // A comment the owner writes on its own database is not a mark of another branch: the database stops being served.
    const shop = name('recommented');
    await asOwner(emu.database, (c) => c.query(`create database "${shop}"`));
    await asOwner(emu.database, (c) => c.query(`comment on database "${shop}" is 'mine'`));
    expect(await loginCode(shop)).toBe('3D000');
  });

  it('a database made on a branch is reached only from that branch, and goes with it', async () => {
    const dev = await branch('dev');
    const onDev = { endpoint: dev.name, host: dev.host };
    const [devDb, prodDb] = [name('ondev'), name('onprod')];
    await asOwner(emu.database, (c) => c.query(`create database "${devDb}"`), onDev);
    await asOwner(emu.database, (c) => c.query(`create database "${prodDb}"`));

    expect(await loginCode(devDb, onDev)).toBe('ok');
    expect(await loginCode(devDb, { ...onDev, user: ANN })).toBe('ok');
    expect(await loginCode(devDb)).toBe('3D000'); // production's endpoint
    expect(await loginCode(prodDb)).toBe('ok');
    expect(await loginCode(prodDb, onDev)).toBe('3D000');
    // A Provisioned instance shares the default branch's databases, not dev's.
    const { token } = await emu.workspace.mintDatabaseToken(emu.user, [{ kind: 'instance', name: emu.instanceName }]);
    const viaInstance = connectFrontDoor(frontDoorConfig(emu, { password: token }, { database: devDb }));
    await expect(viaInstance).rejects.toMatchObject({ code: '3D000' });

    const deleted = await api('DELETE', `projects/${project}/branches/dev`);
    if (!deleted.done) await finish(deleted);
    const gone = async () =>
      (
        await asOwner(emu.database, (c) =>
          c.query('select count(*)::int as n from pg_database where datname = $1', [devDb]),
        )
      ).rows[0].n;
    for (let i = 0; i < 200 && (await gone()) > 0; i++) await new Promise((r) => setTimeout(r, 25));
    expect(await gone()).toBe(0);
  });
});

describe('databases made in SQL survive a restart (embedded PostgreSQL)', () => {
  it('the mark is kept with the database: after a restart it is served on its branch as before', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'lakebase-created-db-'));
    try {
      let emu = await startEmulator({ apiPort: 0, pgPort: 0, dataDir, onNotice: () => {} });
      const resource = () => [{ kind: 'endpoint' as const, name: emu.endpoint }];
      let { token } = await emu.workspace.mintDatabaseToken(emu.user, resource());
      const owner = await connectFrontDoor(frontDoorConfig(emu, { password: token }));
      await owner.query('create database kept');
      await owner.end();
      await emu.stop();

      emu = await startEmulator({ apiPort: 0, pgPort: 0, dataDir, onNotice: () => {} });
      try {
        ({ token } = await emu.workspace.mintDatabaseToken(emu.user, resource()));
        const again = await connectFrontDoor(frontDoorConfig(emu, { password: token }, { database: 'kept' }));
        expect((await again.query('select current_database() as d')).rows[0].d).toBe('kept');
        await again.end();
      } finally {
        await emu.stop();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('databases made in SQL on pglite storage', () => {
  let emu: Emulator;
  beforeAll(async () => {
    emu = await startEmulator({ apiPort: 0, pgPort: 0, storage: 'pglite', onNotice: () => {} });
  });
  afterAll(async () => {
    await emu?.stop();
  });

  it('the owner has no CREATEDB there, and a login to any other database gets 3D000 with the reason', async () => {
    const { token } = await emu.workspace.mintDatabaseToken(emu.user, [{ kind: 'endpoint', name: emu.endpoint }]);
    const owner = await connectFrontDoor(frontDoorConfig(emu, { password: token }));
    // PGlite could not open a database made this way anyway: an instance serves the one it was opened on.
    await expect(owner.query('create database shop')).rejects.toMatchObject({ code: '42501' });
    await owner.end();
    const refused = connectFrontDoor(frontDoorConfig(emu, { password: token }, { database: 'shop' }));
    await expect(refused).rejects.toMatchObject({
      code: '3D000',
      message: expect.stringContaining('PGlite storage serves only the configured databases'),
    });
  });
});
