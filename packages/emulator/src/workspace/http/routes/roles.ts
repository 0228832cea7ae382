import type { FastifyPluginAsync } from 'fastify';
import { ApiError } from '../../model/api-error.js';
import { branchRoleJson, instanceRoleJson, roleIdOf } from '../../model/roles.js';
import type { ApiWorkspace } from '../api-workspace.js';

interface InstanceRoleBody {
  name?: string;
  identity_type?: string;
  membership_role?: string;
}
interface BranchRoleBody {
  spec?: { postgres_role?: string; identity_type?: string; auth_method?: string; membership_roles?: string[] };
}
type PB = { p: string; b: string };

/**
 * The roles APIs of both tiers (reference 1.2 and 2.1): list, create, get and delete the PostgreSQL roles of an
 * instance or a branch. A role made here exists in storage at once, so grants to it work before its first login.
 */
export function roleRoutes(ws: ApiWorkspace): FastifyPluginAsync {
  const byRoleId = (roleId: string) => {
    const role = ws.roles.list().find((r) => r.postgresRole === roleId || roleIdOf(r.postgresRole) === roleId);
    if (!role) throw new ApiError(404, 'NOT_FOUND', `role not found; role_id:"${roleId}"`);
    return role;
  };
  return async (app) => {
    // ---- Provisioned: /database/instances/{instance}/roles
    app.get<{ Params: { i: string } }>('/database/instances/:i/roles', async (request) => {
      ws.instances.get(request.params.i);
      return { database_instance_roles: ws.roles.list().map((r) => instanceRoleJson(r, request.params.i)) };
    });
    app.post<{ Params: { i: string }; Body: InstanceRoleBody }>('/database/instances/:i/roles', async (request) => {
      ws.instances.get(request.params.i);
      const { name, identity_type: type, membership_role: membership } = request.body ?? {};
      const role = await ws.roles.create(name, type, membership ? [membership] : []);
      return instanceRoleJson(role, request.params.i);
    });
    app.get<{ Params: { i: string; r: string } }>('/database/instances/:i/roles/:r', async (request) => {
      ws.instances.get(request.params.i);
      return instanceRoleJson(ws.roles.get(request.params.r), request.params.i);
    });
    app.delete<{ Params: { i: string; r: string } }>('/database/instances/:i/roles/:r', async (request) => {
      ws.instances.get(request.params.i);
      ws.roles.delete(request.params.r);
      return {};
    });

    // ---- Autoscaling: /postgres/projects/{p}/branches/{b}/roles (create answers a finished Operation)
    const branchName = (p: PB) => {
      ws.autoscaling.branch(p.p, p.b);
      return `projects/${p.p}/branches/${p.b}`;
    };
    app.get<{ Params: PB }>('/postgres/projects/:p/branches/:b/roles', async (request) => {
      const branch = branchName(request.params);
      return { roles: ws.roles.list().map((r) => branchRoleJson(r, branch)) };
    });
    app.post<{ Params: PB; Body: BranchRoleBody }>('/postgres/projects/:p/branches/:b/roles', async (request) => {
      const branch = branchName(request.params);
      const spec = request.body?.spec ?? {};
      const role = await ws.roles.create(
        spec.postgres_role,
        spec.identity_type,
        spec.membership_roles ?? [],
        spec.auth_method,
      );
      const json = branchRoleJson(role, branch);
      return {
        name: `projects/${request.params.p}/operations/${crypto.randomUUID()}`,
        done: true,
        metadata: { '@type': 'type.googleapis.com/databricks.postgres.v1.RoleOperationMetadata' },
        response: { '@type': 'type.googleapis.com/databricks.postgres.v1.Role', ...json },
      };
    });
    app.get<{ Params: PB & { r: string } }>('/postgres/projects/:p/branches/:b/roles/:r', async (request) =>
      branchRoleJson(byRoleId(request.params.r), branchName(request.params)),
    );
    app.delete<{ Params: PB & { r: string } }>('/postgres/projects/:p/branches/:b/roles/:r', async (request) => {
      branchName(request.params);
      ws.roles.delete(byRoleId(request.params.r).postgresRole);
      return { name: `projects/${request.params.p}/operations/${crypto.randomUUID()}`, done: true, response: {} };
    });
  };
}
