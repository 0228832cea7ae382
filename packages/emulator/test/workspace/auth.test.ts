import { decodeJwt } from 'jose';
import { describe, expect, it } from 'vitest';
import { startWorkspace } from './helpers.js';

const ME = '/api/2.0/preview/scim/v2/Me';

describe('OAuth M2M over a real socket', () => {
  it('discovery -> token endpoint -> SCIM Me as the service principal', async () => {
    const f = await startWorkspace({}, { listen: true });
    const { clientId, clientSecret } = f.ws.servicePrincipal;
    expect(clientId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);

    const config = await f.call('GET', '/.well-known/databricks-config');
    expect(config.status).toBe(200);
    expect(config.json).toEqual({ oidc_endpoint: `${f.base}/oidc`, workspace_id: f.ws.workspaceId, cloud: 'AWS' });

    const discovery = await fetch(`${config.json.oidc_endpoint}/.well-known/oauth-authorization-server`);
    const metadata = (await discovery.json()) as Record<string, string>;
    expect(metadata.authorization_endpoint).toBe(`${f.base}/oidc/v1/authorize`);
    expect(metadata.token_endpoint).toBe(`${f.base}/oidc/v1/token`);

    const tokenResponse = await fetch(metadata.token_endpoint as string, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'grant_type=client_credentials&scope=all-apis',
    });
    expect(tokenResponse.status).toBe(200);
    const token = (await tokenResponse.json()) as Record<string, unknown>;
    expect(token).toEqual({
      access_token: expect.any(String),
      token_type: 'Bearer',
      expires_in: 3600,
      scope: 'all-apis',
    });
    expect(decodeJwt(token.access_token as string).sub).toBe(clientId);

    const me = await f.call('GET', ME, { token: token.access_token as string });
    expect(me.status).toBe(200);
    expect(me.json.userName).toBe(clientId);
    expect(me.json.active).toBe(true);
    expect(me.headers['x-databricks-org-id']).toBe(f.ws.workspaceId);
    expect(f.ws.stats().oauthTokensIssued).toBe(1);
  });

  it('defaults the scope to all-apis and accepts client_secret_post', async () => {
    const f = await startWorkspace();
    const { clientId, clientSecret } = f.ws.servicePrincipal;
    const response = await f.call('POST', '/oidc/v1/token', {
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: clientId,
        client_secret: clientSecret,
      }).toString(),
    });
    expect(response.status).toBe(200);
    expect(response.json.scope).toBe('all-apis');
  });

  it('refuses a bad client with 401 invalid_client and an unknown grant with 400', async () => {
    const f = await startWorkspace();
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
    const wrongSecret = await f.call('POST', '/oidc/v1/token', {
      headers: { ...form, authorization: basic(f.ws.servicePrincipal.clientId, 'nope') },
      body: 'grant_type=client_credentials',
    });
    expect(wrongSecret.status).toBe(401);
    expect(wrongSecret.json).toEqual({ error: 'invalid_client', error_description: expect.any(String) });

    const noCredentials = await f.call('POST', '/oidc/v1/token', {
      headers: form,
      body: 'grant_type=client_credentials',
    });
    expect(noCredentials.status).toBe(401);
    expect(noCredentials.json.error).toBe('invalid_client');

    const badGrant = await f.call('POST', '/oidc/v1/token', {
      headers: { ...form, authorization: basic(f.ws.servicePrincipal.clientId, f.ws.servicePrincipal.clientSecret) },
      body: 'grant_type=password',
    });
    expect(badGrant.status).toBe(400);
    expect(badGrant.json.error).toBe('unsupported_grant_type');
  });

  it('rejects an access token once it has expired (injected clock)', async () => {
    const f = await startWorkspace();
    const issued = await f.m2mToken();
    const token = issued.json.access_token as string;
    f.clock.advance(3599_000);
    expect((await f.call('GET', ME, { token })).status).toBe(200);
    f.clock.advance(1000);
    expect((await f.call('GET', ME, { token })).status).toBe(403);
  });
});

describe('bearer check on /api/**', () => {
  it('serves SCIM Me for a PAT user in the full SCIM shape', async () => {
    const f = await startWorkspace({ user: 'jane.doe@example.com' }, { listen: true });
    expect(f.ws.user.pat).toMatch(/^dapi[0-9a-f]{32}$/);
    const me = await f.call('GET', ME, { token: f.ws.user.pat, headers: { 'x-databricks-workspace-id': '123' } });
    expect(me.status).toBe(200);
    expect(me.json).toMatchObject({
      id: expect.stringMatching(/^\d{16}$/),
      userName: 'jane.doe@example.com',
      displayName: 'Jane Doe',
      name: { givenName: 'Jane', familyName: 'Doe' },
      emails: [{ value: 'jane.doe@example.com', type: 'work', primary: true }],
      active: true,
      schemas: [
        'urn:ietf:params:scim:schemas:core:2.0:User',
        'urn:ietf:params:scim:schemas:extension:workspace:2.0:User',
      ],
    });
    expect(me.json.groups).toBeInstanceOf(Array);
    expect(me.json.entitlements).toBeInstanceOf(Array);
  });

  it('answers a missing credential with the exact 401 body and headers', async () => {
    const f = await startWorkspace({}, { listen: true });
    for (const headers of [{}, { authorization: 'Basic Zm9vOmJhcg==' }] as Array<Record<string, string>>) {
      const response = await f.call('GET', ME, { headers });
      expect(response.status).toBe(401);
      const requestId = response.headers['x-request-id'];
      expect(response.json).toEqual({
        error_code: 401,
        message: `Credential was not sent or was of an unsupported type for this API. [ReqId: ${requestId}]`,
      });
      expect(response.headers['www-authenticate']).toBe('Bearer realm="DatabricksRealm"');
      expect(response.headers['x-databricks-org-id']).toBe(f.ws.workspaceId);
      expect(response.headers['x-databricks-reason-phrase']).toBe(
        'Credential was not sent or was of an unsupported type for this API.',
      );
      expect(response.headers.server).toBe('databricks');
    }
  });

  it('answers an unknown token with the exact 403 body', async () => {
    const f = await startWorkspace();
    for (const token of ['dapi00000000000000000000000000000000', 'garbage', 'eyJhbGciOiJub25lIn0.e30.']) {
      const response = await f.call('GET', ME, { token });
      expect(response.status).toBe(403);
      expect(response.json).toEqual({
        error_code: 403,
        message: `Invalid access token. [ReqId: ${response.headers['x-request-id']}]`,
      });
      expect(response.headers['x-databricks-reason-phrase']).toBe('Invalid access token.');
    }
  });

  it('does not accept a database token as an API bearer', async () => {
    const f = await startWorkspace();
    const { token } = await f.ws.mintDatabaseToken(f.ws.user.userName, [{ kind: 'instance', name: f.ws.instanceName }]);
    expect((await f.call('GET', ME, { token })).status).toBe(403);
  });

  it('never serialises a PAT or client secret', async () => {
    const f = await startWorkspace();
    const json = JSON.stringify(f.ws);
    expect(json).toContain(f.ws.workspaceId);
    expect(json).not.toContain(f.ws.user.pat);
    expect(json).not.toContain(f.ws.servicePrincipal.clientSecret);
  });

  it('gives added users their own PAT and identity', async () => {
    const f = await startWorkspace();
    const other = f.ws.addUser('other@example.com');
    expect(other.pat).not.toBe(f.ws.user.pat);
    expect(f.ws.addUser('other@example.com')).toEqual(other);
    const me = await f.call('GET', ME, { token: other.pat });
    expect(me.json.userName).toBe('other@example.com');
  });
});

describe('every response', () => {
  it('carries X-Databricks-Org-Id and a fresh X-Request-Id, including unknown routes', async () => {
    const f = await startWorkspace({}, { listen: true });
    const first = await f.call('GET', '/api/2.0/clusters/list?x=1', { token: f.ws.user.pat });
    const second = await f.call('POST', '/nowhere', { body: {} });
    expect(first.status).toBe(404);
    expect(first.json).toEqual({
      error_code: 'ENDPOINT_NOT_FOUND',
      message: "No API found for 'GET /api/2.0/clusters/list'",
    });
    expect(second.json).toEqual({ error_code: 'ENDPOINT_NOT_FOUND', message: "No API found for 'POST /nowhere'" });
    for (const response of [first, second]) {
      expect(response.headers['x-databricks-org-id']).toBe(f.ws.workspaceId);
      expect(response.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    }
    expect(first.headers['x-request-id']).not.toBe(second.headers['x-request-id']);
  });

  it('answers malformed JSON with a string error_code', async () => {
    const f = await startWorkspace();
    const response = await f.call('POST', '/api/2.0/database/instances', { token: f.ws.user.pat, body: '{nope' });
    expect(response.status).toBe(400);
    expect(response.json.error_code).toBe('MALFORMED_REQUEST');
  });
});
