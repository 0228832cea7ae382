import { LakebaseRoles } from '@lakebase-kit/client';
import { quoteIdent, scramSha256Verifier } from '@lakebase-kit/client/toolkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../src/index.js';
import { connectFrontDoor, frontDoorConfig } from './clients.js';

const UPSTREAM = 'postgresql://postgres@127.0.0.1:5432/test';

/**
 * Lakebase's role model in the emulator: the owner's attributes (CREATEDB, CREATEROLE, BYPASSRLS, databricks_superuser
 * with pg_read_all_data/pg_write_all_data/pg_monitor), the login rule of each auth method the roles API makes (OAuth:
 * tokens only; native password: its SCRAM password only; NO_LOGIN: never), and scoped database tokens (claims
 * READ_ONLY, optionally on named tables) that the session cannot widen. PGlite storage models none of this (README).
 */
describe.each([
  { storage: 'postgres' as const, upstream: undefined },
  { storage: 'upstream' as const, upstream: UPSTREAM },
])('roles and scoped tokens on $storage storage', ({ storage, upstream }) => {
  let emulator: Emulator;
  const id = `${process.pid}_${Math.floor(Math.random() * 1e6)}`;
  const alice = `alice-rs-${id}@example.com`;
  const native = `native_${id}`;
  const nologin = `nologin_${id}`;
  const superRole = `super_${id}`;
  const bob = `bob-rs-${id}@example.com`;
  const bobsRole = `bobs_${id}`;
  const made = `made_by_owner_${id}`;
  const madeDb = `db_by_owner_${id}`;
  const notes = `rs_notes_${id}`;
  const secrets = `rs_secrets_${id}`;
  const open = `rs_open_${id}`;

  beforeAll(async () => {
    emulator = await startEmulator({
      ...(upstream ? { upstream } : { storage: 'postgres' as const }),
      onNotice: () => {},
    });
    await emulator.workspace.issueUserToken(alice);
  });
  afterAll(async () => {
    if (upstream && emulator) {
      const admin = new pg.Client({ connectionString: upstream });
      await admin.connect();
      await admin.query(`DROP TABLE IF EXISTS ${notes}, ${secrets}, ${open}`);
      await admin.query(`DROP DATABASE IF EXISTS ${madeDb}`);
      const { rows } = await admin.query<{ rolname: string }>(
        `SELECT rolname FROM pg_roles WHERE rolname = ANY($1) OR (rolname LIKE 'lakebase_scoped_%' AND
           shobj_description(oid, 'pg_authid') LIKE 'Table-scoped%')`,
        [[alice, native, nologin, made, superRole, bob, bobsRole]],
      );
      for (const { rolname } of rows) {
        await admin.query(`DROP OWNED BY ${quoteIdent(rolname)}`).catch(() => {});
        await admin.query(`DROP ROLE IF EXISTS ${quoteIdent(rolname)}`).catch(() => {});
      }
      await admin.end();
    }
    await emulator?.stop();
  });

  const branch = () => emulator.endpoint.split('/endpoints/')[0] as string;
  async function api(path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
    const response = await fetch(`${emulator.databricksHost}/api/2.0${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { authorization: `Bearer ${emulator.databricksToken}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, json: (await response.json()) as Record<string, unknown> };
  }
  async function createRole(spec: Record<string, unknown>): Promise<void> {
    const created = await api(`/postgres/${branch()}/roles?role_id=r${id.replace('_', '-')}`, { spec });
    expect(created.status).toBe(200);
  }
  async function token(user: string, claims?: unknown[]): Promise<string> {
    if (user !== emulator.user && !claims) {
      return (await emulator.workspace.mintDatabaseToken(user, [{ kind: 'endpoint', name: emulator.endpoint }])).token;
    }
    const minted = await api('/postgres/credentials', { endpoint: emulator.endpoint, ...(claims ? { claims } : {}) });
    expect(minted.status).toBe(200);
    return minted.json.token as string;
  }
  const connect = (user: string, password: string) => connectFrontDoor(frontDoorConfig(emulator, { user, password }));
  async function refusal(promise: Promise<unknown>): Promise<{ code?: string; message?: string } | undefined> {
    return promise.then(
      (client) => {
        (client as pg.Client | undefined)?.end?.();
        return undefined;
      },
      (error: { code?: string; message?: string }) => error,
    );
  }

  it('the owner has CREATEDB, CREATEROLE and BYPASSRLS and is in databricks_superuser, which inherits the pg_ data roles', async () => {
    const owner = await connect(emulator.user, await token(emulator.user));
    try {
      const { rows } = await owner.query(
        `SELECT rolcanlogin, rolcreatedb, rolcreaterole, rolbypassrls, rolsuper,
                pg_has_role(current_user, 'databricks_superuser', 'MEMBER') AS superuser_member,
                pg_has_role('databricks_superuser', 'pg_read_all_data', 'MEMBER') AS reads,
                pg_has_role('databricks_superuser', 'pg_write_all_data', 'MEMBER') AS writes,
                pg_has_role('databricks_superuser', 'pg_monitor', 'MEMBER') AS monitors,
                (SELECT rolcanlogin FROM pg_roles WHERE rolname = 'databricks_superuser') AS superuser_logs_in
           FROM pg_roles WHERE rolname = current_user`,
      );
      expect(rows[0]).toEqual({
        rolcanlogin: true,
        rolcreatedb: true,
        rolcreaterole: true,
        rolbypassrls: true,
        rolsuper: false,
        superuser_member: true,
        reads: true,
        writes: true,
        monitors: true,
        superuser_logs_in: false,
      });
      const listed = await api(`/postgres/${branch()}/roles`);
      const roles = listed.json.roles as { status: Record<string, unknown> }[];
      expect(roles.find((r) => r.status.postgres_role === emulator.user)?.status).toMatchObject({
        membership_roles: ['DATABRICKS_SUPERUSER'],
        attributes: { bypassrls: true, createdb: true, createrole: true },
      });
      expect(roles.find((r) => r.status.postgres_role === alice)?.status.attributes).toEqual({
        bypassrls: false,
        createdb: false,
        createrole: false,
      });
      await owner.query(`CREATE ROLE ${quoteIdent(made)} NOLOGIN`);
      await owner.query(`CREATE DATABASE ${quoteIdent(madeDb)}`);
      const found = await owner.query('SELECT count(*)::int AS n FROM pg_database WHERE datname = $1', [madeDb]);
      expect(found.rows[0].n).toBe(1);
    } finally {
      await owner.end();
    }
  });

  it('a row-level security policy holds a user role but not the owner (BYPASSRLS)', async () => {
    const owner = await connect(emulator.user, await token(emulator.user));
    try {
      await owner.query(`CREATE TABLE ${notes} (author text, body text)`);
      await owner.query(`INSERT INTO ${notes} VALUES ($1, 'alice wrote'), ('someone@else', 'not hers')`, [alice]);
      await owner.query(`ALTER TABLE ${notes} ENABLE ROW LEVEL SECURITY`);
      await owner.query(`CREATE POLICY own ON ${notes} USING (author = current_user)`);
      await owner.query(`GRANT SELECT ON ${notes} TO ${quoteIdent(alice)}`);
      // The owner's own policy does not hold it: it sees every row.
      expect((await owner.query(`SELECT count(*)::int AS n FROM ${notes}`)).rows[0].n).toBe(2);
    } finally {
      await owner.end();
    }
    const user = await connect(alice, await token(alice));
    try {
      const { rows } = await user.query(`SELECT body FROM ${notes}`);
      expect(rows.map((r) => r.body)).toEqual(['alice wrote']);
    } finally {
      await user.end();
    }
  });

  it('a native password role logs in with the password the owner set (as a SCRAM verifier), never with a token', async () => {
    await createRole({ postgres_role: native, identity_type: 'PG_ONLY', auth_method: 'PG_PASSWORD_SCRAM_SHA_256' });
    // Before a password is set, nothing logs in as it.
    expect((await refusal(connect(native, 'anything')))?.code).toBe('28P01');
    const password = `pw-${id}-secret`;
    const owner = await connect(emulator.user, await token(emulator.user));
    try {
      await owner.query(`ALTER ROLE ${quoteIdent(native)} PASSWORD '${scramSha256Verifier(password)}'`);
    } finally {
      await owner.end();
    }
    const session = await connect(native, password);
    try {
      const { rows } = await session.query('SELECT current_user AS u, session_user AS s');
      expect(rows[0]).toEqual({ u: native, s: native });
    } finally {
      await session.end();
    }
    const wrong = await refusal(connect(native, `${password}x`));
    expect(wrong?.code).toBe('28P01');
    expect(wrong?.message).toBe(`password authentication failed for user "${native}"`);
    // A token signed by the workspace for that name is not its password.
    const minted = await emulator.workspace.mintDatabaseToken(native, [{ kind: 'endpoint', name: emulator.endpoint }]);
    expect((await refusal(connect(native, minted.token)))?.code).toBe('28P01');
  });

  it('membership_roles DATABRICKS_SUPERUSER makes the role a member of databricks_superuser, without the owner attributes', async () => {
    await createRole({
      postgres_role: superRole,
      identity_type: 'PG_ONLY',
      auth_method: 'PG_PASSWORD_SCRAM_SHA_256',
      membership_roles: ['DATABRICKS_SUPERUSER'],
    });
    const password = `pw-${id}-admin`;
    const owner = await connect(emulator.user, await token(emulator.user));
    await owner.query(`ALTER ROLE ${quoteIdent(superRole)} PASSWORD '${scramSha256Verifier(password)}'`);
    await owner.end();
    const session = await connect(superRole, password);
    try {
      const { rows } = await session.query(
        `SELECT pg_has_role(current_user, 'databricks_superuser', 'MEMBER') AS member, rolcreaterole, rolbypassrls
           FROM pg_roles WHERE rolname = current_user`,
      );
      expect(rows[0]).toEqual({ member: true, rolcreaterole: false, rolbypassrls: false });
    } finally {
      await session.end();
    }
  });

  it('LakebaseRoles.create by a non-owner: refused without CAN_MANAGE; with it, makes the role but cannot set its password: coded', async () => {
    const { pat } = emulator.workspace.addUser(bob);
    const roles = new LakebaseRoles({ env: { ...emulator.env('autoscaling'), DATABRICKS_TOKEN: pat } });
    // Without CAN_MANAGE on the project the roles API refuses before anything is made (role-permissions.test.ts).
    const refused = await roles.create(bobsRole).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(refused).toMatchObject({ code: 'LAKEBASE_PERMISSION_DENIED' });
    expect((refused as Error).message).not.toContain('was created');
    // With CAN_MANAGE (granted by the owner) the API makes the role, but bob is no databricks_superuser member.
    const granted = await fetch(
      `${emulator.databricksHost}/api/2.0/permissions/database-projects/${branch().split('/')[1]}`,
      {
        method: 'PATCH',
        headers: { authorization: `Bearer ${emulator.databricksToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ access_control_list: [{ user_name: bob, permission_level: 'CAN_MANAGE' }] }),
      },
    );
    expect(granted.status).toBe(200);
    const error = await roles.create(bobsRole).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: 'LAKEBASE_PERMISSION_DENIED' });
    expect((error as Error).message).toContain(`Role "${bobsRole}" was created`);
  });

  it('an OAuth role logs in with tokens, not with a password; a NO_LOGIN role never logs in', async () => {
    const password = `pw-${id}-oauth`;
    const owner = await connect(emulator.user, await token(emulator.user));
    try {
      // Even a password set in the catalog does not let an OAuth role in with it.
      await owner.query(`ALTER ROLE ${quoteIdent(alice)} PASSWORD '${scramSha256Verifier(password)}'`).catch(() => {});
    } finally {
      await owner.end();
    }
    expect((await refusal(connect(alice, password)))?.code).toBe('28P01');
    const session = await connect(alice, await token(alice));
    expect((await session.query('SELECT current_user AS u')).rows[0].u).toBe(alice);
    await session.end();

    await createRole({ postgres_role: nologin, identity_type: 'PG_ONLY', auth_method: 'NO_LOGIN' });
    const refused = await refusal(connect(nologin, 'anything'));
    expect(refused?.code).toBe('28000');
    expect(refused?.message).toBe(`role "${nologin}" is not permitted to log in`);
    const listed = await api(`/postgres/${branch()}/roles`);
    const roles = listed.json.roles as { status: { postgres_role: string; auth_method: string } }[];
    expect(roles.find((r) => r.status.postgres_role === nologin)?.status.auth_method).toBe('NO_LOGIN');
    expect(roles.find((r) => r.status.postgres_role === native)?.status.auth_method).toBe('PG_PASSWORD_SCRAM_SHA_256');
  });

  it('a table-scoped token reads its table and no other, and the session cannot widen its scope', async () => {
    const owner = await connect(emulator.user, await token(emulator.user));
    try {
      await owner.query(`CREATE TABLE IF NOT EXISTS ${secrets} (v text)`);
      await owner.query(`INSERT INTO ${secrets} VALUES ('hidden')`);
      await owner.query(`CREATE TABLE ${open} (v text)`);
      await owner.query(`INSERT INTO ${open} VALUES ('shared')`);
    } finally {
      await owner.end();
    }
    const scoped = await token(emulator.user, [
      { permission_set: 'READ_ONLY', resources: [{ table_name: `public.${open}` }] },
    ]);
    const session = await connect(emulator.user, scoped);
    try {
      expect((await session.query(`SELECT v FROM ${open}`)).rows).toEqual([{ v: 'shared' }]);
      const denied = async (sql: string) => (await refusal(session.query(sql)))?.code;
      expect(await denied(`SELECT * FROM ${secrets}`)).toBe('42501');
      expect(await denied(`INSERT INTO ${open} VALUES ('x')`)).toBe('42501');
      // Attacks on the session's identity: each is refused, and the table stays out of reach after each.
      expect(await denied(`SET ROLE ${quoteIdent(emulator.user)}`)).toBe('42501');
      expect(await denied(`SET SESSION AUTHORIZATION ${quoteIdent(emulator.user)}`)).toBe('42501');
      expect(await denied(`SELECT set_config('role', ${pg.escapeLiteral(emulator.user)}, false)`)).toBe('42501');
      expect(await denied('SET ROLE databricks_superuser')).toBe('42501');
      await session.query('RESET ALL');
      await session.query('RESET ROLE');
      expect(await denied(`SELECT * FROM ${secrets}`)).toBe('42501');
    } finally {
      await session.end();
    }
  });

  it.runIf(storage === 'postgres')(
    'a read-only token reads but cannot write, even after asking for read-write',
    async () => {
      const readOnly = await token(emulator.user, [{ permission_set: 'READ_ONLY' }]);
      const session = await connect(emulator.user, readOnly);
      try {
        await session.query(`CREATE TABLE IF NOT EXISTS ${secrets} (v text)`).catch(() => {});
        await session.query('SET default_transaction_read_only = off').catch(() => {});
        const insert = await refusal(session.query(`INSERT INTO ${secrets} VALUES ('x')`));
        expect(['25006', '42501']).toContain(insert?.code);
        // The hot standby refuses read-write transactions outright ("during recovery": 0A000).
        const write = await refusal(session.query(`BEGIN READ WRITE; INSERT INTO ${secrets} VALUES ('x'); COMMIT`));
        expect(['25006', '0A000']).toContain(write?.code);
        await session.query('ROLLBACK').catch(() => {});
        const { rows } = await session.query(`SELECT current_user AS u, (SELECT count(*)::int FROM ${secrets}) AS n`);
        expect(rows[0]).toEqual({ u: emulator.user, n: 1 });
      } finally {
        await session.end();
      }
    },
  );

  it('refuses claims with another permission set and a table name that is not schema.table: 400', async () => {
    for (const claims of [
      [{ permission_set: 'READ_WRITE' }],
      [{ permission_set: 'READ_ONLY', resources: [{ table_name: 'no_schema' }] }],
    ]) {
      const refused = await api('/postgres/credentials', { endpoint: emulator.endpoint, claims });
      expect(refused.status).toBe(400);
      expect(refused.json.error_code).toBe('INVALID_PARAMETER_VALUE');
    }
  });
});

describe('scoped tokens on pglite storage', () => {
  let emulator: Emulator;
  // Started in the hook (its longer timeout): PGlite takes a while to start on a loaded machine.
  beforeAll(async () => {
    emulator = await startEmulator({ storage: 'pglite', onNotice: () => {} });
  });
  afterAll(async () => {
    await emulator?.stop();
  });

  it('refuses a table-scoped or read-only token (0A000) rather than run it with the full rights of the identity', async () => {
    for (const claims of [
      [{ permission_set: 'READ_ONLY', resources: [{ table_name: 'public.t' }] }],
      [{ permission_set: 'READ_ONLY' }],
    ]) {
      const response = await fetch(`${emulator.databricksHost}/api/2.0/postgres/credentials`, {
        method: 'POST',
        headers: { authorization: `Bearer ${emulator.databricksToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ endpoint: emulator.endpoint, claims }),
      });
      const { token } = (await response.json()) as { token: string };
      const refused = await connectFrontDoor(frontDoorConfig(emulator, { password: token })).then(
        async (client) => {
          await client.end();
          return undefined;
        },
        (error: { code?: string }) => error.code,
      );
      expect(refused).toBe('0A000');
    }
  });
});
