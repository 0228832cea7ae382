import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import {
  type GuardedResource,
  instanceResource,
  type PermissionObject,
  projectResource,
} from '../../model/permissions.js';
import type { ApiWorkspace } from '../api-workspace.js';
import { identityOf } from './auth.js';

interface AclBody {
  access_control_list?: unknown;
}
const aclBody = {
  type: 'object',
  properties: { access_control_list: { type: 'array', maxItems: 100 } },
  required: ['access_control_list'],
} as const;

/**
 * The Databricks Permissions API for Lakebase resources: `GET` and `PATCH /permissions/database-projects/{id}` (as
 * Lakebase documents it) and `/permissions/database-instances/{name}` (same shape; the object type name for
 * instances is unverified). Reading or changing a resource's permissions needs CAN_MANAGE on it.
 */
export function permissionRoutes(ws: ApiWorkspace): FastifyPluginAsync {
  const objects: Array<[PermissionObject, (id: string) => GuardedResource]> = [
    ['database-instances', (name) => instanceResource(ws.instances.get(name))],
    ['database-projects', (id) => projectResource(ws.autoscaling.project(id))],
  ];
  return async (app) => {
    for (const [object, find] of objects) {
      const managed = (request: FastifyRequest<{ Params: { id: string } }>) => {
        const resource = find(request.params.id);
        ws.permissions.require(identityOf(request), resource, 'CAN_MANAGE');
        return resource;
      };
      app.get<{ Params: { id: string } }>(`/permissions/${object}/:id`, async (request) =>
        ws.permissions.acl(managed(request)),
      );
      app.patch<{ Params: { id: string }; Body: AclBody }>(
        `/permissions/${object}/:id`,
        { schema: { body: aclBody } },
        async (request) => {
          const resource = managed(request);
          ws.permissions.grant(resource, request.body.access_control_list);
          return ws.permissions.acl(resource);
        },
      );
    }
  };
}
