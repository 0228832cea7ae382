import type { FastifyPluginAsync } from 'fastify';
import type { InstanceInput } from '../../model/provisioned.js';
import type { ApiWorkspace } from '../api-workspace.js';
import { identityOf } from './auth.js';
import { instanceBody, pageQuery } from './schemas.js';

interface PageQuery {
  page_size?: number;
  page_token?: string;
}

/** Lakebase Provisioned instances: create, get, find by uid, list, update, delete (reference 1.1). */
export function instanceRoutes(ws: ApiWorkspace): FastifyPluginAsync {
  const model = ws.instances;
  return async (app) => {
    app.post<{ Body: InstanceInput }>('/database/instances', { schema: { body: instanceBody } }, async (request) =>
      model.toJson(model.create(request.body, identityOf(request).userName)),
    );

    app.get<{ Querystring: PageQuery }>(
      '/database/instances',
      { schema: { querystring: pageQuery } },
      async (request) => {
        const { page, nextPageToken } = model.list(request.query.page_size, request.query.page_token);
        return {
          database_instances: page.map((i) => model.toJson(i)),
          ...(nextPageToken ? { next_page_token: nextPageToken } : {}),
        };
      },
    );

    // `instances:findByUid` is a custom verb; `::` escapes the colon for the router.
    app.get<{ Querystring: { uid?: string } }>(
      '/database/instances::findByUid',
      { schema: { querystring: { type: 'object', properties: { uid: { type: 'string' } } } } },
      async (request) => model.toJson(model.getByUid(request.query.uid ?? '')),
    );

    app.get<{ Params: { name: string } }>('/database/instances/:name', async (request) =>
      model.toJson(model.get(request.params.name)),
    );

    app.patch<{ Params: { name: string }; Querystring: { update_mask?: string }; Body: InstanceInput }>(
      '/database/instances/:name',
      {
        schema: {
          querystring: { type: 'object', properties: { update_mask: { type: 'string' } } },
          body: instanceBody,
        },
      },
      async (request) => model.toJson(model.update(request.params.name, request.query.update_mask, request.body)),
    );

    app.delete<{ Params: { name: string }; Querystring: { purge?: boolean; force?: boolean } }>(
      '/database/instances/:name',
      {
        schema: {
          querystring: { type: 'object', properties: { purge: { type: 'boolean' }, force: { type: 'boolean' } } },
        },
      },
      async (request) => {
        model.delete(request.params.name, request.query.purge);
        return {};
      },
    );
  };
}
