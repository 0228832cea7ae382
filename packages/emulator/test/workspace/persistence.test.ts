import { readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildApiServer, createWorkspace } from '../../src/workspace/index.js';
import { startWorkspace, tempDir } from './helpers.js';

describe('persistence', () => {
  it('restores identities, resources and signing keys from the same dataDir', async () => {
    const dataDir = await tempDir();
    const first = await startWorkspace({ operationDelayMs: 0 }, { dataDir });
    const api = first.as(first.ws.user.pat);
    const other = first.ws.addUser('other@example.com');
    expect((await api('POST', '/api/2.0/database/instances', { name: 'kept' })).status).toBe(200);
    expect((await api('POST', '/api/2.0/postgres/projects?project_id=kept', {})).status).toBe(200);
    const { token } = await first.ws.mintDatabaseToken(first.ws.user.userName, [
      { kind: 'instance', name: first.ws.instanceName },
    ]);
    await first.ws.close();

    const second = await startWorkspace({ operationDelayMs: 0 }, { dataDir });
    second.clock.advance(10_000);
    expect(second.ws.workspaceId).toBe(first.ws.workspaceId);
    expect(second.ws.user).toEqual(first.ws.user);
    expect(second.ws.servicePrincipal).toEqual(first.ws.servicePrincipal);
    expect(second.ws.addUser('other@example.com')).toEqual(other);

    const api2 = second.as(first.ws.user.pat);
    expect((await api2('GET', '/api/2.0/database/instances/kept')).json.state).toBe('AVAILABLE');
    expect((await api2('GET', '/api/2.0/postgres/projects/kept/branches/production/endpoints/primary')).status).toBe(
      200,
    );
    const instances = await api2('GET', '/api/2.0/database/instances');
    expect(instances.json.database_instances).toHaveLength(2);

    // A token minted before the restart still logs in: the signing key persisted.
    const decision = await second.ws.authorizeLogin({
      serverName: undefined,
      user: first.ws.user.userName,
      database: 'databricks_postgres',
      password: token,
    });
    expect(decision.ok).toBe(true);
  });

  it('keeps permission grants across a restart; an instance deleted and made again starts with none', async () => {
    const dataDir = await tempDir();
    const first = await startWorkspace({ operationDelayMs: 0 }, { dataDir, listen: true });
    const owner = first.as(first.ws.user.pat);
    const jane = first.ws.addUser('jane@example.com');
    const grant = { access_control_list: [{ user_name: jane.userName, permission_level: 'CAN_MANAGE' }] };
    expect((await owner('POST', '/api/2.0/database/instances', { name: 'shared' })).status).toBe(200);
    expect((await owner('PATCH', '/api/2.0/permissions/database-instances/shared', grant)).status).toBe(200);
    await first.ws.close();
    await first.app.close();

    const second = await startWorkspace({ operationDelayMs: 0 }, { dataDir, listen: true });
    const asJane = second.as(jane.pat);
    const made = await asJane('POST', '/api/2.0/database/instances/shared/roles', { name: 'janes_role' });
    expect(made.status).toBe(200);
    const acl = await second.as(first.ws.user.pat)('GET', '/api/2.0/permissions/database-instances/shared');
    expect(acl.json.access_control_list).toContainEqual({
      user_name: jane.userName,
      all_permissions: [{ permission_level: 'CAN_MANAGE', inherited: false }],
    });

    // The grant was on that instance, not on its name.
    const api2 = second.as(first.ws.user.pat);
    expect((await api2('DELETE', '/api/2.0/database/instances/shared')).status).toBe(200);
    expect((await api2('POST', '/api/2.0/database/instances', { name: 'shared' })).status).toBe(200);
    const refused = await asJane('POST', '/api/2.0/database/instances/shared/roles', { name: 'janes_other' });
    expect(refused.status).toBe(403);
    expect(refused.json.error_code).toBe('PERMISSION_DENIED');
  });

  it('writes state and keys with mode 0600 and leaves no temp files', async () => {
    const dataDir = await tempDir();
    const ws = await createWorkspace({ dataDir });
    ws.addUser('x@example.com');
    await ws.close();
    expect((await readdir(dataDir)).sort()).toEqual(['signing-keys.json', 'workspace.json']);
    for (const file of ['workspace.json', 'signing-keys.json']) {
      expect((await stat(path.join(dataDir, file))).mode & 0o777).toBe(0o600);
    }
  });

  it('recreates the default resources when the configured names change', async () => {
    const dataDir = await tempDir();
    const first = await createWorkspace({ dataDir });
    await first.close();
    const second = await createWorkspace({ dataDir, instanceName: 'renamed', projectId: 'renamed' });
    const app = buildApiServer(second);
    const auth = { authorization: `Bearer ${second.user.pat}` };
    const instance = await app.inject({ url: '/api/2.0/database/instances/renamed', headers: auth });
    expect(instance.json()).toMatchObject({ name: 'renamed', state: 'AVAILABLE', read_write_dns: 'localhost' });
    const old = await app.inject({ url: '/api/2.0/database/instances/lakebase-emulator', headers: auth });
    expect(old.json().read_write_dns).toMatch(/^instance-.*\.database\.localhost$/);
    expect(second.endpointName).toBe('projects/renamed/branches/production/endpoints/primary');
    await app.close();
    await second.close();
  });
});

describe('unreadable state', () => {
  it('fails with EMULATOR_STATE_UNREADABLE and a suggestion', async () => {
    const dataDir = await tempDir();
    await writeFile(path.join(dataDir, 'workspace.json'), '{ not json');
    await expect(createWorkspace({ dataDir })).rejects.toMatchObject({
      code: 'EMULATOR_STATE_UNREADABLE',
      suggestion: expect.stringContaining('delete'),
    });
    await writeFile(path.join(dataDir, 'workspace.json'), '{"version": 9}');
    await expect(createWorkspace({ dataDir })).rejects.toMatchObject({ code: 'EMULATOR_STATE_UNREADABLE' });
  });
});
