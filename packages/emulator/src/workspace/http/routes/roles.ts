import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { ApiError } from '../../model/api-error.js';
import { instanceResource, type PermissionLevel, projectResource } from '../../model/permissions.js';
import { branchRoleJson, instanceRoleJson, type RoleRecord, roleIdOf } from '../../model/roles.js';
import type { ApiWorkspace } from '../api-workspace.js';
import { identityOf } from './auth.js';

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
 * Only an identity that may manage the instance or project changes its roles (permissions.ts).
 */
export function roleRoutes(ws: ApiWorkspace): FastifyPluginAsync {
  const byRoleId = (roleId: string) => {
    const role = ws.roles.list().find((r) => r.postgresRole === roleId || roleIdOf(r.postgresRole) === roleId);
    if (!role) throw new ApiError(404, 'NOT_FOUND', `role not found; role_id:"${roleId}"`);
    return role;
  };
  // The permission checks, at the edge: the caller is the identity its bearer token authenticated (never a body
  // field); an unknown resource is a 404 first. Reading roles needs CAN_USE, changing them CAN_MANAGE (README).
  const instance = (request: FastifyRequest, name: string, need: PermissionLevel) => {
    const resource = instanceResource(ws.instances.get(name));
    ws.permissions.require(identityOf(request), resource, need);
    return resource;
  };
  const branch = (request: FastifyRequest, p: PB, need: PermissionLevel) => {
    ws.autoscaling.branch(p.p, p.b);
    const resource = projectResource(ws.autoscaling.project(p.p));
    ws.permissions.require(identityOf(request), resource, need);
    return { name: `projects/${p.p}/branches/${p.b}`, resource };
  };
  const deletable = (request: FastifyRequest, role: RoleRecord) => {
    ws.permissions.requireRoleHome(identityOf(request), role);
    return role;
  };
  return async (app) => {
    // ---- Provisioned: /database/instances/{instance}/roles
    app.get<{ Params: { i: string } }>('/database/instances/:i/roles', async (request) => {
      instance(request, request.params.i, 'CAN_USE');
      return { database_instance_roles: ws.roles.list().map((r) => instanceRoleJson(r, request.params.i)) };
    });
    app.post<{ Params: { i: string }; Body: InstanceRoleBody }>('/database/instances/:i/roles', async (request) => {
      const resource = instance(request, request.params.i, 'CAN_MANAGE');
      const { name, identity_type: type, membership_role: membership } = request.body ?? {};
      const role = await ws.roles.create(name, type, membership ? [membership] : [], undefined, resource.uid);
      return instanceRoleJson(role, request.params.i);
    });
    app.get<{ Params: { i: string; r: string } }>('/database/instances/:i/roles/:r', async (request) => {
      instance(request, request.params.i, 'CAN_USE');
      return instanceRoleJson(ws.roles.get(request.params.r), request.params.i);
    });
    app.delete<{ Params: { i: string; r: string } }>('/database/instances/:i/roles/:r', async (request) => {
      instance(request, request.params.i, 'CAN_MANAGE');
      ws.roles.delete(deletable(request, ws.roles.get(request.params.r)).postgresRole);
      return {};
    });

    // ---- Autoscaling: /postgres/projects/{p}/branches/{b}/roles (create answers a finished Operation)
    app.get<{ Params: PB }>('/postgres/projects/:p/branches/:b/roles', async (request) => {
      const { name } = branch(request, request.params, 'CAN_USE');
      return { roles: ws.roles.list().map((r) => branchRoleJson(r, name)) };
    });
    app.post<{ Params: PB; Body: BranchRoleBody }>('/postgres/projects/:p/branches/:b/roles', async (request) => {
      const { name, resource } = branch(request, request.params, 'CAN_MANAGE');
      const spec = request.body?.spec ?? {};
      const role = await ws.roles.create(
        spec.postgres_role,
        spec.identity_type,
        spec.membership_roles ?? [],
        spec.auth_method,
        resource.uid,
      );
      const json = branchRoleJson(role, name);
      return {
        name: `projects/${request.params.p}/operations/${crypto.randomUUID()}`,
        done: true,
        metadata: { '@type': 'type.googleapis.com/databricks.postgres.v1.RoleOperationMetadata' },
        response: { '@type': 'type.googleapis.com/databricks.postgres.v1.Role', ...json },
      };
    });
    app.get<{ Params: PB & { r: string } }>('/postgres/projects/:p/branches/:b/roles/:r', async (request) => {
      const { name } = branch(request, request.params, 'CAN_USE');
      return branchRoleJson(byRoleId(request.params.r), name);
    });
    app.delete<{ Params: PB & { r: string } }>('/postgres/projects/:p/branches/:b/roles/:r', async (request) => {
      branch(request, request.params, 'CAN_MANAGE');
      ws.roles.delete(deletable(request, byRoleId(request.params.r)).postgresRole);
      return { name: `projects/${request.params.p}/operations/${crypto.randomUUID()}`, done: true, response: {} };
    });
  };
}
