import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type Emulator, startEmulator } from '../src/index.js';
import { connectFrontDoor, frontDoorConfig } from './clients.js';

// biome-ignore lint/suspicious/noExplicitAny: REST responses of many shapes, read field by field
type Json = Record<string, any>;

/**
 * Who may manage PostgreSQL roles, tried as an attacker over real sockets: on Databricks only an identity with
 * CAN_MANAGE on the instance or project (its creator, a workspace admin, a grantee) may create or delete its roles;
 * anyone else gets 403 PERMISSION_DENIED. A second workspace user must not give itself (or anyone) a login on the
 * owner's resources however it names the target, and nothing it asks for may reach storage.
 */
describe('roles APIs need CAN_MANAGE on the instance or project', () => {
  let emulator: Emulator;
  let owner: string;
  let mallory: { userName: string; pat: string };
  let carol: { userName: string; pat: string };
  const id = `${process.pid}-${Math.floor(Math.random() * 1e6)}`;
  const tag = id.replace('-', '_');
  let project: string;
  let devBranch: string;
  const carolsInstance = `carol-inst-${id}`;

  async function api(
    token: string,
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; json: Json }> {
    const response = await fetch(`${emulator.databricksHost}/api/2.0${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, json: (await response.json()) as Json };
  }
  const instanceRoles = (instance: string) => `/database/instances/${instance}/roles`;
  const branchRoles = (branch: string) => `/postgres/${branch}/roles`;
  async function roleNames(): Promise<string[]> {
    const listed = await api(owner, 'GET', instanceRoles(emulator.instanceName));
    expect(listed.status).toBe(200);
    return (listed.json.database_instance_roles as { name: string }[]).map((r) => r.name).sort();
  }
  async function storageRoles(): Promise<string[]> {
    const { token } = await emulator.workspace.mintDatabaseToken(emulator.user, [
      { kind: 'endpoint', name: emulator.endpoint },
    ]);
    let client: pg.Client | undefined;
    try {
      client = await connectFrontDoor(frontDoorConfig(emulator, { password: token }));
      const { rows } = await client.query<{ rolname: string }>('SELECT rolname FROM pg_roles ORDER BY rolname');
      return rows.map((r) => r.rolname);
    } finally {
      await client?.end();
    }
  }
  function expectDenied(result: { status: number; json: unknown }, what: string): void {
    expect(result.status, what).toBe(403);
    expect(Object.keys(result.json as object).sort(), what).toEqual(['error_code', 'message']);
    expect((result.json as { error_code: string }).error_code, what).toBe('PERMISSION_DENIED');
  }

  beforeAll(async () => {
    emulator = await startEmulator({ storage: 'postgres', onNotice: () => {} });
    owner = emulator.databricksToken;
    mallory = emulator.workspace.addUser(`mallory-${id}@example.com`);
    carol = emulator.workspace.addUser(`carol-${id}@example.com`);
    project = emulator.endpoint.split('/branches/')[0] as string;
    const branched = await api(owner, 'POST', `/postgres/${project}/branches?branch_id=dev-${id}`, {
      spec: { source_branch: `${project}/branches/production`, no_expiry: true },
    });
    expect(branched.status).toBe(200);
    devBranch = `${project}/branches/dev-${id}`;
    // The copy ends every session on the parent's database while it runs (storageRoles logs in there): wait for it,
    // polled, bounded.
    await vi.waitFor(
      async () => {
        const op = await api(owner, 'GET', `/postgres/${branched.json.name}`);
        expect(op.json.done).toBe(true);
        expect(op.json.error).toBeUndefined();
      },
      { timeout: 30_000, interval: 50 },
    );
    const made = await api(carol.pat, 'POST', '/database/instances', { name: carolsInstance, capacity: 'CU_1' });
    expect(made.status).toBe(200);
    // A role the owner made, for the attacker to try to delete.
    const ownersRole = await api(owner, 'POST', instanceRoles(emulator.instanceName), {
      name: `owners_${tag}`,
      identity_type: 'PG_ONLY',
    });
    expect(ownersRole.status).toBe(200);
  });
  afterAll(async () => {
    await emulator?.stop();
  });

  it("a second user cannot create or delete roles on the owner's instance or branches: 403, nothing changes", async () => {
    // (Issuing the token makes her own role exist in storage, so before the snapshots.)
    const { access_token: oauth } = await emulator.workspace.issueUserToken(mallory.userName, {
      scopes: ['all-apis'],
    });
    const rolesBefore = await roleNames();
    const storageBefore = await storageRoles();
    const branches = [emulator.endpoint.split('/endpoints/')[0] as string, devBranch];
    const attempts: Array<[string, string, string, unknown?]> = [];
    for (const name of [mallory.userName, emulator.user, `mal_${tag}`]) {
      const type = name.includes('@') ? 'USER' : 'PG_ONLY';
      attempts.push([
        `create ${name} on the instance`,
        'POST',
        instanceRoles(emulator.instanceName),
        {
          name,
          identity_type: type,
        },
      ]);
      for (const branch of branches) {
        attempts.push([
          `create ${name} on ${branch}`,
          'POST',
          branchRoles(branch),
          {
            spec: { postgres_role: name, identity_type: type, membership_roles: ['DATABRICKS_SUPERUSER'] },
          },
        ]);
      }
    }
    for (const victim of [emulator.user, `owners_${tag}`]) {
      attempts.push([
        `delete ${victim} on the instance`,
        'DELETE',
        `${instanceRoles(emulator.instanceName)}/${encodeURIComponent(victim)}`,
      ]);
      for (const branch of branches) {
        attempts.push([
          `delete ${victim} on ${branch}`,
          'DELETE',
          `${branchRoles(branch)}/${encodeURIComponent(victim)}`,
        ]);
      }
    }
    // With her PAT and with an OAuth user token alike: the caller is whoever the bearer token authenticates.
    for (const [what, method, path, body] of attempts) {
      expectDenied(await api(mallory.pat, method, path, body), what);
      expectDenied(await api(oauth, method, path, body), `${what} (OAuth)`);
    }

    // Another casing of the instance name names no instance (names are exact): refused too, never a role.
    const upper = await api(mallory.pat, 'POST', instanceRoles(emulator.instanceName.toUpperCase()), {
      name: `mal_${tag}`,
      identity_type: 'PG_ONLY',
    });
    expect(upper.status).toBe(404);
    // Nor may it grant itself CAN_MANAGE, or read who has it.
    const acl = { access_control_list: [{ user_name: mallory.userName, permission_level: 'CAN_MANAGE' }] };
    expectDenied(
      await api(mallory.pat, 'PATCH', `/permissions/database-instances/${emulator.instanceName}`, acl),
      'grant',
    );
    expectDenied(
      await api(mallory.pat, 'PATCH', `/permissions/database-projects/${project.split('/')[1]}`, acl),
      'grant',
    );
    expectDenied(await api(mallory.pat, 'GET', `/permissions/database-projects/${project.split('/')[1]}`), 'acl');
    // Reading roles needs CAN_USE, which it does not hold either.
    expectDenied(await api(mallory.pat, 'GET', instanceRoles(emulator.instanceName)), 'list');
    expectDenied(await api(mallory.pat, 'GET', branchRoles(devBranch)), 'list');

    expect(await roleNames()).toEqual(rolesBefore);
    expect(await storageRoles()).toEqual(storageBefore);
    expect(storageBefore).not.toContain(`mal_${tag}`);
  });

  it("a role made through a resource the caller manages cannot reach the owner's roles", async () => {
    // Mallory's own instance: she manages it, but the roles list is the workspace's, so she cannot delete through it
    // a role made on the owner's instance, nor the owner's own role.
    const mine = `mal-inst-${id}`;
    expect((await api(mallory.pat, 'POST', '/database/instances', { name: mine, capacity: 'CU_1' })).status).toBe(200);
    for (const victim of [emulator.user, `owners_${tag}`]) {
      expectDenied(await api(mallory.pat, 'DELETE', `${instanceRoles(mine)}/${encodeURIComponent(victim)}`), victim);
    }
    expect(await roleNames()).toEqual(expect.arrayContaining([emulator.user, `owners_${tag}`]));
    // What she made through her own instance she may delete.
    const own = `mal_own_${tag}`;
    expect((await api(mallory.pat, 'POST', instanceRoles(mine), { name: own, identity_type: 'PG_ONLY' })).status).toBe(
      200,
    );
    expect((await api(mallory.pat, 'DELETE', `${instanceRoles(mine)}/${own}`)).status).toBe(200);
  });

  it('the creator and the workspace owner always may; a grantee of CAN_MANAGE may, CAN_USE only reads', async () => {
    // carol created her instance: she manages its roles; so does the workspace's own user; mallory does not.
    const carols = `carols_${tag}`;
    expect((await api(carol.pat, 'POST', instanceRoles(carolsInstance), { name: carols })).status).toBe(200);
    expectDenied(await api(mallory.pat, 'DELETE', `${instanceRoles(carolsInstance)}/${carols}`), 'mallory on carol');
    expect((await api(owner, 'DELETE', `${instanceRoles(carolsInstance)}/${carols}`)).status).toBe(200);

    // CAN_USE on the project: mallory may list its roles, still not change them.
    const projectId = project.split('/')[1] as string;
    const grant = (level: string) => ({
      access_control_list: [{ user_name: mallory.userName, permission_level: level }],
    });
    expect((await api(owner, 'PATCH', `/permissions/database-projects/${projectId}`, grant('CAN_USE'))).status).toBe(
      200,
    );
    expect((await api(mallory.pat, 'GET', branchRoles(devBranch))).status).toBe(200);
    const asked = { spec: { postgres_role: `granted_${tag}`, identity_type: 'PG_ONLY' } };
    expectDenied(await api(mallory.pat, 'POST', branchRoles(devBranch), asked), 'CAN_USE create');
    // CAN_CREATE is inherited, never granted (400); an unknown principal is a 400.
    expect((await api(owner, 'PATCH', `/permissions/database-projects/${projectId}`, grant('CAN_CREATE'))).status).toBe(
      400,
    );

    // CAN_MANAGE on the project: mallory may now create and delete roles on any of its branches.
    const granted = await api(owner, 'PATCH', `/permissions/database-projects/${projectId}`, grant('CAN_MANAGE'));
    expect(granted.status).toBe(200);
    expect(granted.json.access_control_list).toEqual(
      expect.arrayContaining([
        { user_name: mallory.userName, all_permissions: [{ permission_level: 'CAN_MANAGE', inherited: false }] },
      ]),
    );
    expect((await api(mallory.pat, 'POST', branchRoles(devBranch), asked)).status).toBe(200);
    expect(await storageRoles()).toContain(`granted_${tag}`);
    expect(
      (await api(mallory.pat, 'DELETE', `${branchRoles(devBranch)}/granted-${tag.replace('_', '-')}`)).status,
    ).toBe(200);
    // The project grant is not one on the instance.
    expectDenied(
      await api(mallory.pat, 'POST', instanceRoles(emulator.instanceName), { name: `granted_${tag}` }),
      'instance',
    );
    // The grant is kept in the workspace's state like every other record.
    const state = JSON.parse(await readFile(path.join(emulator.dataDir, 'workspace.json'), 'utf8')) as {
      permissions: { userName: string; level: string }[];
    };
    expect(state.permissions).toEqual(
      expect.arrayContaining([expect.objectContaining({ userName: mallory.userName, level: 'CAN_MANAGE' })]),
    );
  });
});
