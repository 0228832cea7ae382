import type { FastifyPluginAsync } from 'fastify';
import type { BranchInput, EndpointInput, ProjectInput } from '../../model/autoscaling.js';
import type { EndpointUpdate } from '../../model/endpoint-compute.js';
import type { ApiWorkspace } from '../api-workspace.js';
import { identityOf } from './auth.js';
import { branchBody, endpointBody, pageQuery, projectBody } from './schemas.js';

interface PageQuery {
  page_size?: number;
  page_token?: string;
}
type P = { p: string };
type PB = P & { b: string };
type PBE = PB & { e: string };

const idQuery = (field: string) =>
  ({
    type: 'object',
    properties: { [field]: { type: 'string' }, replace_existing: { type: 'boolean' } },
  }) as const;

/**
 * Lakebase Autoscaling: projects, branches, endpoints (create returns a long-running Operation) and the operation
 * poll `GET /postgres/{operation name}` (reference 2.1, 2.2).
 */
export function postgresRoutes(ws: ApiWorkspace): FastifyPluginAsync {
  const model = ws.autoscaling;
  const page = <T>(key: string, result: { page: T[]; nextPageToken?: string }, render: (item: T) => unknown) => ({
    [key]: result.page.map(render),
    ...(result.nextPageToken ? { next_page_token: result.nextPageToken } : {}),
  });

  return async (app) => {
    // ---- projects
    app.post<{ Querystring: { project_id?: string }; Body: ProjectInput }>(
      '/postgres/projects',
      { schema: { querystring: idQuery('project_id'), body: projectBody } },
      async (request) =>
        model.json.operation(model.createProject(request.query.project_id, request.body, identityOf(request).userName)),
    );
    app.get<{ Querystring: PageQuery }>('/postgres/projects', { schema: { querystring: pageQuery } }, async (request) =>
      page('projects', model.listProjects(request.query.page_size, request.query.page_token), (p) =>
        model.json.project(p),
      ),
    );
    app.get<{ Params: P }>('/postgres/projects/:p', async (request) =>
      model.json.project(model.project(request.params.p)),
    );

    // ---- branches
    app.post<{ Params: P; Querystring: { branch_id?: string; replace_existing?: boolean }; Body: BranchInput }>(
      '/postgres/projects/:p/branches',
      { schema: { querystring: idQuery('branch_id'), body: branchBody } },
      async (request) => {
        const { branch_id, replace_existing } = request.query;
        return model.json.operation(model.createBranch(request.params.p, branch_id, request.body, replace_existing));
      },
    );
    app.patch<{ Params: PB; Querystring: { update_mask?: string }; Body: BranchInput }>(
      '/postgres/projects/:p/branches/:b',
      { schema: { body: branchBody } },
      async (request) => {
        const { p, b } = request.params;
        return model.json.operation(model.updateBranch(p, b, request.query.update_mask, request.body));
      },
    );
    app.get<{ Params: P; Querystring: PageQuery }>(
      '/postgres/projects/:p/branches',
      { schema: { querystring: pageQuery } },
      async (request) =>
        page('branches', model.listBranches(request.params.p, request.query.page_size, request.query.page_token), (b) =>
          model.json.branch(b),
        ),
    );
    app.get<{ Params: PB }>('/postgres/projects/:p/branches/:b', async (request) =>
      model.json.branch(model.branch(request.params.p, request.params.b)),
    );

    // ---- endpoints
    app.post<{ Params: PB; Querystring: { endpoint_id?: string }; Body: EndpointInput }>(
      '/postgres/projects/:p/branches/:b/endpoints',
      { schema: { querystring: idQuery('endpoint_id'), body: endpointBody } },
      async (request) =>
        model.json.operation(
          model.createEndpoint(request.params.p, request.params.b, request.query.endpoint_id, request.body),
        ),
    );
    app.get<{ Params: PB; Querystring: PageQuery }>(
      '/postgres/projects/:p/branches/:b/endpoints',
      { schema: { querystring: pageQuery } },
      async (request) => {
        const { p, b } = request.params;
        const result = model.listEndpoints(p, b, request.query.page_size, request.query.page_token);
        return page('endpoints', result, (e) => model.json.endpoint(e));
      },
    );
    app.patch<{ Params: PBE; Querystring: { update_mask?: string }; Body: EndpointUpdate }>(
      '/postgres/projects/:p/branches/:b/endpoints/:e',
      { schema: { body: endpointBody } },
      async (request) => {
        const { p, b, e } = request.params;
        const endpoint = model.endpoint(p, b, e);
        model.compute.update(endpoint, request.query.update_mask, request.body);
        return model.json.operation(model.endpointUpdated(endpoint));
      },
    );
    app.get<{ Params: PBE }>('/postgres/projects/:p/branches/:b/endpoints/:e', async (request) =>
      model.json.endpoint(model.endpoint(request.params.p, request.params.b, request.params.e)),
    );

    // ---- deletes (purge is accepted and ignored: nothing is kept soft-deleted)
    app.delete<{ Params: P }>('/postgres/projects/:p', async (request) =>
      model.json.operation(model.deleteProject(request.params.p)),
    );
    app.delete<{ Params: PB; Querystring: { allow_missing?: boolean } }>(
      '/postgres/projects/:p/branches/:b',
      { schema: { querystring: { type: 'object', properties: { allow_missing: { type: 'boolean' } } } } },
      async (request) =>
        model.json.operation(model.deleteBranch(request.params.p, request.params.b, request.query.allow_missing)),
    );
    app.delete<{ Params: PBE }>('/postgres/projects/:p/branches/:b/endpoints/:e', async (request) =>
      model.json.operation(model.deleteEndpoint(request.params.p, request.params.b, request.params.e)),
    );

    // ---- operations: named `<resource name>/operations/<uuid>`, like the Databricks CLI's fake
    app.get<{ Params: P & { op: string } }>('/postgres/projects/:p/operations/:op', async (request) =>
      model.json.operation(model.operation(`projects/${request.params.p}/operations/${request.params.op}`)),
    );
    app.get<{ Params: PB & { op: string } }>('/postgres/projects/:p/branches/:b/operations/:op', async (request) => {
      const { p, b, op } = request.params;
      return model.json.operation(model.operation(`projects/${p}/branches/${b}/operations/${op}`));
    });
    app.get<{ Params: PBE & { op: string } }>(
      '/postgres/projects/:p/branches/:b/endpoints/:e/operations/:op',
      async (request) => {
        const { p, b, e, op } = request.params;
        return model.json.operation(model.operation(`projects/${p}/branches/${b}/endpoints/${e}/operations/${op}`));
      },
    );
  };
}
