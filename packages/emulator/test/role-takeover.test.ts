import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../src/index.js';
import { findPostgresBinaries } from '../src/postgres/embedded-binaries.js';
import { removeExternalCluster } from '../src/postgres/embedded-cluster-home.js';
import { EmbeddedPostgresServer } from '../src/postgres/embedded-server.js';
import { connectFrontDoor, frontDoorConfig } from './clients.js';

const UPSTREAM_PG15 = 'postgresql://postgres@127.0.0.1:5432/test';

/**
 * Who may make PostgreSQL roles, tried as an attacker: on Lakebase only members of `databricks_superuser` (the project
 * owner) may call `databricks_create_role`, and no app role may `CREATE ROLE`. A role made in storage by anyone else
 * (as the emulator's old `databricks_create_role` let any role do) must not hand its maker the identity it is named
 * after once that identity is provisioned: foreign memberships are removed when the workspace adopts the role.
 *
 * Runs on the default storage (embedded PostgreSQL 17) and on the relay to an upstream of each major version there is
 * here (the test PostgreSQL 15, and an embedded 17 started by this file), where the test can act as the storage's own
 * superuser to plant a role the way the old hole did.
 */
describe.each([
  { name: 'embedded PostgreSQL (default storage)', kind: 'default' as const },
  { name: 'upstream PostgreSQL 15', kind: 'pg15' as const },
  { name: 'upstream PostgreSQL 17', kind: 'pg17' as const },
])('role creation on $name', ({ kind }) => {
  let emulator: Emulator;
  let adminUrl: string | undefined;
  let server: EmbeddedPostgresServer | undefined;
  let serverDir: string | undefined;
  const id = `${process.pid}-${Math.floor(Math.random() * 1e6)}`;
  const mallory = `mallory-${id}@example.com`;
  const alice = `alice-${id}@example.com`;
  const made: string[] = [];
  const table = `rt_notes_${id.replace('-', '_')}`;

  beforeAll(async () => {
    if (kind === 'pg15') adminUrl = UPSTREAM_PG15;
    if (kind === 'pg17') {
      const binaries = await findPostgresBinaries();
      if (!binaries) throw new Error('no embedded PostgreSQL build on this platform');
      serverDir = await mkdtemp(path.join(os.tmpdir(), 'lakebase-role-takeover-'));
      server = await EmbeddedPostgresServer.start({ dataDir: serverDir, binaries, database: 'databricks_postgres' });
      adminUrl = server.adminUrl;
    }
    emulator = await startEmulator({
      ...(adminUrl ? { upstream: adminUrl } : { storage: 'postgres' as const }),
      onNotice: () => {},
    });
    for (const user of [mallory, alice]) {
      await emulator.workspace.issueUserToken(user);
      made.push(user);
    }
  });
  afterAll(async () => {
    if (kind === 'pg15' && emulator) {
      const admin = new pg.Client({ connectionString: UPSTREAM_PG15 });
      await admin.connect();
      await admin.query(`DROP TABLE IF EXISTS ${table}`);
      for (const role of made) {
        await admin.query(`DROP OWNED BY ${ident(role)}`).catch(() => {});
        await admin.query(`DROP ROLE IF EXISTS ${ident(role)}`);
      }
      await admin.end();
    }
    await emulator?.stop();
    await server?.stop();
    if (serverDir) {
      await removeExternalCluster(path.join(serverDir, 'postgres'));
      await rm(serverDir, { recursive: true, force: true });
    }
  });

  const ident = (name: string) => `"${name.replaceAll('"', '""')}"`;
  async function login(user: string): Promise<pg.Client> {
    const { token } = await emulator.workspace.mintDatabaseToken(user, [
      { kind: 'instance', name: emulator.instanceName },
    ]);
    return connectFrontDoor(frontDoorConfig(emulator, { user, password: token }));
  }
  async function failure(promise: Promise<unknown>): Promise<{ code?: string; message?: string } | undefined> {
    return promise.then(
      () => undefined,
      (error: { code?: string; message?: string }) => error,
    );
  }
  async function roleExists(client: pg.Client, role: string): Promise<boolean> {
    const { rows } = await client.query('select exists (select 1 from pg_roles where rolname = $1) as found', [role]);
    return rows[0].found === true;
  }

  it('a user outside databricks_superuser cannot call databricks_create_role for an unprovisioned identity: 42501, nothing made, no SET ROLE later', async () => {
    const victims = {
      GROUP: `victim-g-${id}@example.com`,
      USER: `victim-u-${id}@example.com`,
      SERVICE_PRINCIPAL: `victim-sp-${id}@example.com`,
    };
    made.push(...Object.values(victims));
    const attacker = await login(mallory);
    try {
      for (const [type, victim] of Object.entries(victims)) {
        const refused = await failure(attacker.query('select databricks_create_role($1, $2)', [victim, type]));
        expect(refused?.code, `databricks_create_role(..., '${type}')`).toBe('42501');
        expect(refused?.message).toBe('permission denied to create role');
        expect(await roleExists(attacker, victim)).toBe(false);
      }
      // The identity is provisioned later: the would-be attacker holds nothing of it.
      await emulator.workspace.issueUserToken(victims.GROUP);
      await (await login(victims.GROUP)).end();
      expect((await failure(attacker.query(`set role ${ident(victims.GROUP)}`)))?.code).toBe('42501');
    } finally {
      await attacker.end();
    }
  });

  it('role names carrying SQL (quotes, "; drop, NUL, 64+ characters) are refused before anything runs', async () => {
    const owner = await login(emulator.user);
    const attacker = await login(mallory);
    const canary = `rt_canary_${id.replace('-', '_')}`;
    try {
      await owner.query(`create table ${canary} (v int)`);
      await owner.query(`grant select on ${canary} to ${ident(mallory)}`);
      const names = [
        `x'); drop table ${canary}; --`,
        `"; drop table ${canary}; --`,
        `a"b-${id}`,
        `${'y'.repeat(64)}`,
        `z${'\\'}"'; select pg_sleep(0); --`,
      ];
      made.push(...names); // dropped after the run should one be made after all
      for (const name of names) {
        for (const type of ['GROUP', 'USER']) {
          const refused = await failure(attacker.query('select databricks_create_role($1, $2)', [name, type]));
          expect(refused?.code, `${type} ${JSON.stringify(name)}`).toBe('42501');
          expect(await roleExists(attacker, name)).toBe(false);
        }
        // Spliced into the SQL text rather than bound: still one string argument, still refused.
        const spliced = `select databricks_create_role('${name.replaceAll("'", "''")}', 'GROUP')`;
        expect((await failure(attacker.query(spliced)))?.code).toBe('42501');
      }
      // A NUL cannot reach the function at all (PostgreSQL text has none): refused by the server, nothing made.
      const nul = await failure(attacker.query('select databricks_create_role($1, $2)', [`nul\0${id}`, 'GROUP']));
      expect(nul?.code).toBe('22021');
      // The identity type is not SQL either.
      const typed = await failure(attacker.query('select databricks_create_role($1, $2)', [`t-${id}`, "GROUP'; --"]));
      expect(typed?.code).toBe('42501');
      // The owner may: quotes are part of the name (quoted, not run), and over 63 characters is 22023, not truncated.
      const quoted = `"; drop table ${canary}; --${id}`;
      await owner.query('select databricks_create_role($1, $2)', [quoted, 'GROUP']);
      made.push(quoted);
      expect(await roleExists(owner, quoted)).toBe(true);
      expect(
        (await failure(owner.query('select databricks_create_role($1, $2)', ['w'.repeat(64), 'GROUP'])))?.code,
      ).toBe('22023');
      expect((await attacker.query(`select count(*)::int as n from ${canary}`)).rows[0].n).toBe(0);
    } finally {
      await owner.query(`drop table if exists ${canary}`);
      await owner.end();
      await attacker.end();
    }
  });

  it('CREATE ROLE, ALTER ROLE ... CREATEROLE and joining databricks_superuser are refused as PostgreSQL refuses a role without CREATEROLE', async () => {
    const attacker = await login(mallory);
    try {
      const target = `direct-${id}@example.com`;
      made.push(target);
      const created = await failure(attacker.query(`create role ${ident(target)}`));
      expect(created?.code).toBe('42501');
      expect(created?.message).toBe('permission denied to create role');
      expect(await roleExists(attacker, target)).toBe(false);
      expect((await failure(attacker.query(`alter role ${ident(mallory)} createrole`)))?.code).toBe('42501');
      expect((await failure(attacker.query(`grant databricks_superuser to ${ident(mallory)}`)))?.code).toBe('42501');
      expect((await failure(attacker.query('set role databricks_superuser')))?.code).toBe('42501');
    } finally {
      await attacker.end();
    }
  });

  it('the roles API cannot make or take over databricks_superuser or a pg_ role: 400, and the owner stays a member', async () => {
    const pat = emulator.env().DATABRICKS_TOKEN as string;
    const [, p, , b] = emulator.endpoint.split('/');
    for (const [name, code] of [
      ['databricks_superuser', 'BAD_REQUEST'],
      [`pg_x_${id}`, 'INVALID_PARAMETER_VALUE'],
    ]) {
      const response = await fetch(`${emulator.databricksHost}/api/2.0/postgres/projects/${p}/branches/${b}/roles`, {
        method: 'POST',
        headers: { authorization: `Bearer ${pat}`, 'content-type': 'application/json' },
        body: JSON.stringify({ spec: { postgres_role: name, identity_type: 'GROUP' } }),
      });
      expect(response.status, name).toBe(400);
      expect(((await response.json()) as { error_code: string }).error_code).toBe(code);
    }
    const owner = await login(emulator.user);
    try {
      const { rows } = await owner.query("select pg_has_role(current_user, 'databricks_superuser', 'MEMBER') as m");
      expect(rows[0].m).toBe(true);
    } finally {
      await owner.end();
    }
  });

  it('the owner is a member of databricks_superuser (NOLOGIN) and a group it makes still works: it adds members, they SET ROLE to it', async () => {
    const owner = await login(emulator.user);
    const group = `rt_group_${id}`;
    made.push(group);
    try {
      const { rows } = await owner.query(
        `select r.rolcanlogin as login, pg_has_role(current_user, r.oid, 'MEMBER') as member
           from pg_roles r where r.rolname = 'databricks_superuser'`,
      );
      expect(rows).toEqual([{ login: false, member: true }]);
      expect((await owner.query('select databricks_create_role($1, $2) as r', [group, 'GROUP'])).rows[0].r).toBe(group);
      await owner.query(`grant ${ident(group)} to ${ident(alice)}`);
    } finally {
      await owner.end();
    }
    const member = await login(alice);
    try {
      await member.query(`set role ${ident(group)}`);
      expect((await member.query('select current_user as u')).rows[0].u).toBe(group);
    } finally {
      await member.end();
    }
    const attacker = await login(mallory);
    try {
      expect((await failure(attacker.query(`set role ${ident(group)}`)))?.code).toBe('42501');
    } finally {
      await attacker.end();
    }
  });

  it.skipIf(kind === 'default')(
    'a role planted in storage (the old hole) keeps no foreign member once its identity is provisioned, and RLS holds',
    async () => {
      const admin = new pg.Client({ connectionString: adminUrl });
      await admin.connect();
      // Two identities: one provisioned by the workspace (a user token), one found in storage at its first login.
      const byToken = `planted-t-${id}@example.com`;
      const byLogin = `planted-l-${id}@example.com`;
      const foreignGroup = `rt_foreign_${id}`;
      made.push(byToken, byLogin, foreignGroup);
      try {
        await admin.query(`create role ${ident(foreignGroup)} nologin`);
        await admin.query(`grant ${ident(foreignGroup)} to ${ident(mallory)} with admin option`);
        for (const victim of [byToken, byLogin]) {
          // What the old databricks_create_role(victim, 'GROUP') did for mallory, and what she could do with it after.
          await admin.query(`create role ${ident(victim)} nologin`);
          await admin.query(`grant ${ident(victim)} to ${ident(mallory)} with admin option`);
        }
      } finally {
        await admin.end();
      }
      const attacker = await login(mallory);
      // Mallory, as the planted roles' admin, adds them to a group of hers (their own foreign membership).
      for (const victim of [byToken, byLogin]) {
        await attacker.query(`grant ${ident(foreignGroup)} to ${ident(victim)}`);
      }
      await attacker.end();

      const owner = await login(emulator.user);
      await owner.query(`create table ${table} (owner text not null default current_user, body text)`);
      await owner.query(`alter table ${table} enable row level security`);
      await owner.query(
        `create policy own_rows on ${table} using (owner = current_user) with check (owner = current_user)`,
      );
      await owner.query(`grant select, insert on ${table} to ${ident(byToken)}, ${ident(byLogin)}, ${ident(mallory)}`);
      await owner.end();

      await emulator.workspace.issueUserToken(byToken);
      await emulator.workspace.issueUserToken(byLogin, { role: false });
      for (const victim of [byToken, byLogin]) {
        const client = await login(victim);
        await client.query(`insert into ${table} (body) values ('secret of ' || current_user)`);
        const memberships = await client.query(
          `select r.rolname as role, m.rolname as member from pg_auth_members a
             join pg_roles r on r.oid = a.roleid join pg_roles m on m.oid = a.member
            where r.rolname = $1 or m.rolname = $1`,
          [victim],
        );
        expect(memberships.rows, victim).toEqual([]);
        await client.end();
      }

      const after = await login(mallory);
      try {
        for (const victim of [byToken, byLogin]) {
          expect((await failure(after.query(`set role ${ident(victim)}`)))?.code, victim).toBe('42501');
          expect((await failure(after.query(`grant ${ident(victim)} to ${ident(mallory)}`)))?.code).toBe('42501');
        }
        expect((await after.query(`select count(*)::int as n from ${table}`)).rows[0].n).toBe(0);
      } finally {
        await after.end();
      }
    },
  );
});
