import { decodeJwt, decodeProtectedHeader } from 'jose';
import { describe, expect, it } from 'vitest';
import { startWorkspace } from './helpers.js';

const PROVISIONED = '/api/2.0/database/credentials';
const AUTOSCALING = '/api/2.0/postgres/credentials';
const T0 = Date.parse('2026-01-01T00:00:00.000Z') / 1000;

describe('POST /api/2.0/database/credentials', () => {
  it('mints a token for the caller and the instances asked for, over a real socket', async () => {
    const f = await startWorkspace({}, { listen: true });
    const api = f.as(f.ws.user.pat);
    await api('POST', '/api/2.0/database/instances', { name: 'second' });
    const response = await api('POST', PROVISIONED, {
      request_id: '3f0c0000-0000-4000-8000-000000000000',
      instance_names: ['lakebase-emulator', 'second'],
    });
    expect(response.status).toBe(200);
    expect(response.json).toEqual({ token: expect.any(String), expiration_time: '2026-01-01T01:00:00.000Z' });
    const claims = decodeJwt(response.json.token);
    expect(claims).toMatchObject({
      sub: 'dev@example.com',
      aud: f.ws.workspaceId,
      iat: T0,
      exp: T0 + 3600,
      instance_names: ['lakebase-emulator', 'second'],
    });
    expect(decodeProtectedHeader(response.json.token).alg).toBe('ES256');
    expect(f.ws.stats().credentialRequests).toEqual({ provisioned: 1, autoscaling: 0, total: 1, failedByInjection: 0 });
  });

  it('mints for the service principal as its client id, with the configured TTL', async () => {
    const f = await startWorkspace({ tokenTtlSeconds: 120 });
    const issued = await f.m2mToken();
    const { clientId } = f.ws.servicePrincipal;
    const response = await f.as(issued.json.access_token)('POST', PROVISIONED, {
      instance_names: ['lakebase-emulator'],
    });
    expect(decodeJwt(response.json.token)).toMatchObject({ sub: clientId, exp: T0 + 120 });
    expect(response.json.expiration_time).toBe('2026-01-01T00:02:00.000Z');

    f.ws.setTokenTtl(5);
    const shorter = await f.as(f.ws.user.pat)('POST', PROVISIONED, { instance_names: ['lakebase-emulator'] });
    expect(decodeJwt(shorter.json.token).exp).toBe(T0 + 5);
  });

  it('needs instance_names or claims (400) and existing instances (404)', async () => {
    const f = await startWorkspace();
    const api = f.as(f.ws.user.pat);
    for (const body of [{}, { instance_names: [] }]) {
      const response = await api('POST', PROVISIONED, body);
      expect(response.status).toBe(400);
      expect(response.json.error_code).toBe('INVALID_PARAMETER_VALUE');
      expect(response.json.message).toContain('instance_names');
    }
    const unknown = await api('POST', PROVISIONED, { instance_names: ['lakebase-emulator', 'ghost'] });
    expect(unknown.status).toBe(404);
    expect(unknown.json).toEqual({
      error_code: 'RESOURCE_DOES_NOT_EXIST',
      message: "Database instance 'ghost' does not exist.",
    });

    const claimsOnly = await api('POST', PROVISIONED, {
      claims: [{ permission_set: 'READ_ONLY', resources: [{ table_name: 'cat.sch.tbl' }] }],
    });
    expect(claimsOnly.status).toBe(200);
  });
});

describe('POST /api/2.0/postgres/credentials', () => {
  it('mints a token for the endpoint with expire_time', async () => {
    const f = await startWorkspace();
    const response = await f.as(f.ws.user.pat)('POST', AUTOSCALING, { endpoint: f.ws.endpointName });
    expect(response.status).toBe(200);
    expect(response.json).toEqual({ token: expect.any(String), expire_time: '2026-01-01T01:00:00.000Z' });
    expect(decodeJwt(response.json.token)).toMatchObject({
      sub: 'dev@example.com',
      aud: f.ws.workspaceId,
      exp: T0 + 3600,
      endpoints: [f.ws.endpointName],
    });
    expect(f.ws.stats().credentialRequests).toEqual({ provisioned: 0, autoscaling: 1, total: 1, failedByInjection: 0 });
  });

  it('honours ttl and expire_time as at most the configured TTL', async () => {
    const f = await startWorkspace({ tokenTtlSeconds: 1800 });
    const api = f.as(f.ws.user.pat);
    const endpoint = f.ws.endpointName;
    expect(decodeJwt((await api('POST', AUTOSCALING, { endpoint, ttl: '300s' })).json.token).exp).toBe(T0 + 300);
    expect(decodeJwt((await api('POST', AUTOSCALING, { endpoint, ttl: '3600s' })).json.token).exp).toBe(T0 + 1800);
    const at = '2026-01-01T00:10:00Z';
    expect((await api('POST', AUTOSCALING, { endpoint, expire_time: at })).json.expire_time).toBe(
      '2026-01-01T00:10:00.000Z',
    );
    for (const ttl of ['299s', '3601s', '600', 'soon']) {
      const response = await api('POST', AUTOSCALING, { endpoint, ttl });
      expect(response.status).toBe(400);
      expect(response.json.error_code).toBe('INVALID_PARAMETER_VALUE');
    }
    expect((await api('POST', AUTOSCALING, { endpoint, expire_time: '2026-01-01T00:01:00Z' })).status).toBe(400);
  });

  it('needs an endpoint (400) that exists (404)', async () => {
    const f = await startWorkspace();
    const api = f.as(f.ws.user.pat);
    const missing = await api('POST', AUTOSCALING, {});
    expect(missing.status).toBe(400);
    expect(missing.json).toEqual({
      error_code: 'INVALID_PARAMETER_VALUE',
      message: `Field 'endpoint' is required, expected non-default value (not "")!`,
    });
    const malformed = await api('POST', AUTOSCALING, { endpoint: 'primary' });
    expect(malformed.status).toBe(400);
    const unknown = await api('POST', AUTOSCALING, {
      endpoint: 'projects/lakebase-emulator/branches/production/endpoints/ghost',
    });
    expect(unknown.status).toBe(404);
    expect(unknown.json.error_code).toBe('NOT_FOUND');
    expect(unknown.json.message).toMatch(/^endpoint not found; endpoint_id:"ghost" \[TraceId: /);
  });

  it('requires authentication like every /api route', async () => {
    const f = await startWorkspace();
    const response = await f.call('POST', AUTOSCALING, { body: { endpoint: f.ws.endpointName } });
    expect(response.status).toBe(401);
    expect(f.ws.stats().credentialRequests.total).toBe(0);
  });
});
