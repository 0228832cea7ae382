import { describe, expect, it } from 'vitest';
import { startWorkspace } from './helpers.js';

const PROJECTS = '/api/2.0/postgres/projects';
const TRACE = /\[TraceId: 00-[0-9a-f]{32}-[0-9a-f]{16}-00\]$/;

describe('Autoscaling projects, branches, endpoints', () => {
  it('serves the default project with branch production and endpoint primary at pgHost', async () => {
    const f = await startWorkspace({ pgHost: 'pg.test' });
    const api = f.as(f.ws.user.pat);
    expect(f.ws.endpointName).toBe('projects/lakebase-emulator/branches/production/endpoints/primary');

    const project = await api('GET', `${PROJECTS}/lakebase-emulator`);
    expect(project.json).toMatchObject({
      name: 'projects/lakebase-emulator',
      status: {
        owner: 'dev@example.com',
        default_branch: 'projects/lakebase-emulator/branches/production',
        history_retention_duration: '604800s',
      },
    });
    const branch = await api('GET', `${PROJECTS}/lakebase-emulator/branches/production`);
    expect(branch.json).toMatchObject({
      name: 'projects/lakebase-emulator/branches/production',
      parent: 'projects/lakebase-emulator',
      status: { current_state: 'READY', default: true },
    });
    const endpoint = await api('GET', `/api/2.0/postgres/${f.ws.endpointName}`);
    expect(endpoint.json).toMatchObject({
      name: f.ws.endpointName,
      parent: 'projects/lakebase-emulator/branches/production',
      status: { endpoint_type: 'ENDPOINT_TYPE_READ_WRITE', current_state: 'ACTIVE', hosts: { host: 'pg.test' } },
    });

    const list = await api('GET', PROJECTS);
    expect(list.json.projects.map((p: { name: string }) => p.name)).toEqual(['projects/lakebase-emulator']);
    expect(list.json.next_page_token).toBeUndefined();
  });

  it('creates a project through an Operation that completes after operationDelayMs', async () => {
    const f = await startWorkspace({ operationDelayMs: 500 }, { listen: true });
    const api = f.as(f.ws.user.pat);
    const created = await api('POST', `${PROJECTS}?project_id=my-app`, { spec: { display_name: 'My App' } });
    expect(created.status).toBe(200);
    expect(created.json).toEqual({
      name: expect.stringMatching(/^projects\/my-app\/operations\/[0-9a-f-]{36}$/),
      metadata: { '@type': 'type.googleapis.com/databricks.postgres.v1.ProjectOperationMetadata' },
      done: false,
    });

    const pending = await api('GET', `/api/2.0/postgres/${created.json.name}`);
    expect(pending.json.done).toBe(false);
    const endpointUrl = `${PROJECTS}/my-app/branches/production/endpoints/primary`;
    expect((await api('GET', endpointUrl)).json.status.current_state).toBe('INIT');

    f.clock.advance(500);
    const done = await api('GET', `/api/2.0/postgres/${created.json.name}`);
    expect(done.json.done).toBe(true);
    expect(done.json.response).toMatchObject({
      '@type': 'type.googleapis.com/databricks.postgres.v1.Project',
      name: 'projects/my-app',
      status: { display_name: 'My App', default_branch: 'projects/my-app/branches/production' },
    });

    const endpoint = await api('GET', endpointUrl);
    expect(endpoint.json.status.current_state).toBe('ACTIVE');
    expect(endpoint.json.status.hosts.host).toBe(`${endpoint.json.uid}.database.localhost`);
    const branches = await api('GET', `${PROJECTS}/my-app/branches`);
    expect(branches.json.branches).toHaveLength(1);
    expect(branches.json.branches[0].status).toMatchObject({ current_state: 'READY', default: true });
  });

  it('creates branches and endpoints through Operations', async () => {
    const f = await startWorkspace({ operationDelayMs: 0 });
    const api = f.as(f.ws.user.pat);
    const branchOp = await api('POST', `${PROJECTS}/lakebase-emulator/branches?branch_id=dev`, { spec: {} });
    expect(branchOp.json).toMatchObject({
      done: true,
      metadata: { '@type': 'type.googleapis.com/databricks.postgres.v1.BranchOperationMetadata' },
      response: {
        name: 'projects/lakebase-emulator/branches/dev',
        status: { default: false, source_branch: 'projects/lakebase-emulator/branches/production' },
      },
    });
    expect((await api('GET', `/api/2.0/postgres/${branchOp.json.name}`)).json.done).toBe(true);

    const url = `${PROJECTS}/lakebase-emulator/branches/dev/endpoints`;
    const endpointOp = await api('POST', `${url}?endpoint_id=rw`, {
      spec: { endpoint_type: 'ENDPOINT_TYPE_READ_WRITE', autoscaling_limit_min_cu: 0.5, autoscaling_limit_max_cu: 2 },
    });
    expect(endpointOp.json.response).toMatchObject({
      name: 'projects/lakebase-emulator/branches/dev/endpoints/rw',
      status: { current_state: 'ACTIVE', autoscaling_limit_min_cu: 0.5, autoscaling_limit_max_cu: 2 },
    });
    expect((await api('GET', `/api/2.0/postgres/${endpointOp.json.name}`)).json.done).toBe(true);

    const second = await api('POST', `${url}?endpoint_id=rw2`, { spec: { endpoint_type: 'ENDPOINT_TYPE_READ_WRITE' } });
    expect(second.status).toBe(400);
    const readOnly = await api('POST', `${url}?endpoint_id=ro`, { spec: { endpoint_type: 'ENDPOINT_TYPE_READ_ONLY' } });
    expect(readOnly.status).toBe(200);
    const listed = await api('GET', `${url}?page_size=1`);
    expect(listed.json.endpoints.map((e: { endpoint_id: string }) => e.endpoint_id)).toEqual(['ro']);
    const next = await api('GET', `${url}?page_size=1&page_token=${listed.json.next_page_token}`);
    expect(next.json.endpoints.map((e: { endpoint_id: string }) => e.endpoint_id)).toEqual(['rw']);
    expect(next.json.next_page_token).toBeUndefined();
  });

  it('answers a missing or malformed id with 400 INVALID_PARAMETER_VALUE in Lakebase wording', async () => {
    const f = await startWorkspace();
    const api = f.as(f.ws.user.pat);
    const missing = await api('POST', PROJECTS, { spec: {} });
    expect(missing.status).toBe(400);
    expect(missing.json).toEqual({
      error_code: 'INVALID_PARAMETER_VALUE',
      message: `Field 'project_id' is required, expected non-default value (not "")!`,
    });
    const empty = await api('POST', `${PROJECTS}?project_id=`, {});
    expect(empty.status).toBe(400);

    const invalid = await api('POST', `${PROJECTS}?project_id=Invalid_ID`, {});
    expect(invalid.status).toBe(400);
    expect(invalid.json).toEqual({
      error_code: 'INVALID_PARAMETER_VALUE',
      message: "Field project_id must match pattern ^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$, got 'Invalid_ID'.",
    });

    const noType = await api('POST', `${PROJECTS}/lakebase-emulator/branches/production/endpoints?endpoint_id=x`, {
      spec: {},
    });
    expect(noType.status).toBe(400);
    expect(noType.json.message).toBe(`Field 'spec.endpoint_type' is required, expected non-default value (not "")!`);
    const noBranchId = await api('POST', `${PROJECTS}/lakebase-emulator/branches`, {});
    expect(noBranchId.json.message).toContain("'branch_id' is required");
  });

  it('answers a duplicate with 409 ALREADY_EXISTS', async () => {
    const f = await startWorkspace();
    const api = f.as(f.ws.user.pat);
    const project = await api('POST', `${PROJECTS}?project_id=lakebase-emulator`, {});
    expect(project.status).toBe(409);
    expect(project.json).toEqual({
      error_code: 'ALREADY_EXISTS',
      message: 'project with such id already exists in the workspace',
    });
    const branch = await api('POST', `${PROJECTS}/lakebase-emulator/branches?branch_id=production`, {});
    expect(branch.status).toBe(409);
    expect(branch.json.error_code).toBe('ALREADY_EXISTS');
  });

  it('answers a missing resource with 404 NOT_FOUND naming its type and id', async () => {
    const f = await startWorkspace();
    const api = f.as(f.ws.user.pat);
    const cases: Array<[string, string]> = [
      [`${PROJECTS}/ghost`, 'project not found; project_id:"ghost"'],
      [`${PROJECTS}/lakebase-emulator/branches/ghost`, 'branch not found; branch_id:"ghost"'],
      [`${PROJECTS}/lakebase-emulator/branches/production/endpoints/ghost`, 'endpoint not found; endpoint_id:"ghost"'],
      [`${PROJECTS}/ghost/branches`, 'project not found; project_id:"ghost"'],
      [`${PROJECTS}/lakebase-emulator/operations/ghost`, 'operation not found; operation_id:"ghost"'],
    ];
    for (const [url, message] of cases) {
      const response = await api('GET', url);
      expect(response.status).toBe(404);
      expect(response.json.error_code).toBe('NOT_FOUND');
      expect(response.json.message.startsWith(`${message} [TraceId: `)).toBe(true);
      expect(response.json.message).toMatch(TRACE);
    }
    const createUnder = await api('POST', `${PROJECTS}/ghost/branches?branch_id=x`, {});
    expect(createUnder.status).toBe(404);
  });

  it('pins an endpoint INIT or disabled with setInstanceState', async () => {
    const f = await startWorkspace();
    const api = f.as(f.ws.user.pat);
    const url = `/api/2.0/postgres/${f.ws.endpointName}`;
    f.ws.setInstanceState(f.ws.endpointName, 'STOPPED');
    expect((await api('GET', url)).json.status).toMatchObject({ current_state: 'IDLE', disabled: true });
    f.ws.setInstanceState(f.ws.endpointName, 'STARTING');
    expect((await api('GET', url)).json.status.current_state).toBe('INIT');
    f.ws.setInstanceState(f.ws.endpointName, 'AVAILABLE');
    expect((await api('GET', url)).json.status).toMatchObject({ current_state: 'ACTIVE', disabled: false });
  });
});

describe('Autoscaling deletes', () => {
  it('deletes endpoints, branches and projects through Operations with an Empty response', async () => {
    const f = await startWorkspace({ operationDelayMs: 0 });
    const api = f.as(f.ws.user.pat);
    const created = await api('POST', `${PROJECTS}?project_id=tmp`, {});
    await api('POST', `${PROJECTS}/tmp/branches?branch_id=dev`, {});
    await api('POST', `${PROJECTS}/tmp/branches/dev/endpoints?endpoint_id=ep`, {
      spec: { endpoint_type: 'ENDPOINT_TYPE_READ_WRITE' },
    });

    const endpoint = await api('DELETE', `${PROJECTS}/tmp/branches/dev/endpoints/ep`);
    expect(endpoint.json).toMatchObject({
      done: true,
      response: { '@type': 'type.googleapis.com/google.protobuf.Empty' },
    });
    expect((await api('GET', `${PROJECTS}/tmp/branches/dev/endpoints/ep`)).status).toBe(404);

    const defaultBranch = await api('DELETE', `${PROJECTS}/tmp/branches/production`);
    expect(defaultBranch.status).toBe(400);
    expect((await api('DELETE', `${PROJECTS}/tmp/branches/dev`)).json.done).toBe(true);

    const project = await api('DELETE', `${PROJECTS}/tmp`);
    expect(project.json.name).toMatch(/^projects\/tmp\/operations\//);
    expect((await api('GET', `/api/2.0/postgres/${project.json.name}`)).json.response).toEqual({
      '@type': 'type.googleapis.com/google.protobuf.Empty',
    });
    expect((await api('GET', `${PROJECTS}/tmp`)).status).toBe(404);
    expect((await api('GET', `${PROJECTS}/tmp/branches/production/endpoints/primary`)).status).toBe(404);
    expect((await api('DELETE', `${PROJECTS}/tmp`)).status).toBe(404);
    const createOp = await api('GET', `/api/2.0/postgres/${created.json.name}`);
    expect(createOp.json).toMatchObject({ done: true, response: { name: 'projects/tmp' } });
  });
});
