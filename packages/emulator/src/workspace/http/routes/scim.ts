import type { FastifyPluginAsync } from 'fastify';
import { identityOf } from './auth.js';

const USERS_GROUP_ID = '100000000000001';

/** `GET /preview/scim/v2/Me` in the SCIM shape of reference section 3. */
export function scimRoutes(): FastifyPluginAsync {
  return async (app) => {
    app.get('/preview/scim/v2/Me', async (request) => {
      const me = identityOf(request);
      const isUser = me.kind === 'user';
      const [givenName = '', ...rest] = me.displayName.split(' ');
      return {
        id: me.id,
        userName: me.userName,
        displayName: me.displayName,
        ...(isUser ? { name: { givenName, familyName: rest.join(' ') } } : { applicationId: me.userName }),
        emails: isUser ? [{ value: me.userName, type: 'work', primary: true }] : [],
        groups: [{ display: 'users', value: USERS_GROUP_ID, type: 'direct', $ref: `Groups/${USERS_GROUP_ID}` }],
        entitlements: [{ value: 'workspace-access' }, { value: 'databricks-sql-access' }],
        roles: [],
        active: true,
        schemas: [
          'urn:ietf:params:scim:schemas:core:2.0:User',
          'urn:ietf:params:scim:schemas:extension:workspace:2.0:User',
        ],
      };
    });
  };
}
