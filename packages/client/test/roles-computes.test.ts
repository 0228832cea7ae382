/**
 * The pieces of roles, computes and scoped tokens that need no emulator: SCRAM verifiers checked against PostgreSQL's
 * own, the size and name parsers, and what the credential request and the role and endpoint calls send.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseBranchName } from '../src/config/names.js';
import {
  COMPUTE_SIZES,
  LakebaseApi,
  parseComputeUnits,
  parseEndpointName,
  parseTableName,
  scramSha256Verifier,
  verifyScramSha256,
} from '../src/toolkit.js';
import { checkComputeSettings, updateEndpoint } from '../src/workspace/endpoints.js';
import { authMethodOf, createRole, roleIdFor } from '../src/workspace/roles.js';
import { fakeJwt, TestServer } from './helpers/http-server.js';

const ADMIN_URL = 'postgresql://postgres@127.0.0.1:5432/test';

describe('SCRAM-SHA-256 verifiers', () => {
  const role = `scram_check_${process.pid}`;
  let admin: pg.Client;
  beforeAll(async () => {
    admin = new pg.Client(ADMIN_URL);
    await admin.connect();
  });
  afterAll(async () => {
    await admin.query(`DROP ROLE IF EXISTS ${role}`);
    await admin.end();
  });

  it("verifies PostgreSQL's own verifier of a password, and PostgreSQL stores ours as given", async () => {
    await admin.query("SET password_encryption = 'scram-sha-256'");
    await admin.query(`CREATE ROLE ${role} PASSWORD 'pencil and paper'`);
    const theirs = (await admin.query('SELECT rolpassword FROM pg_authid WHERE rolname = $1', [role])).rows[0]
      .rolpassword as string;
    expect(theirs).toMatch(/^SCRAM-SHA-256\$4096:/);
    expect(verifyScramSha256('pencil and paper', theirs)).toBe(true);
    expect(verifyScramSha256('pencil and paper!', theirs)).toBe(false);

    const ours = scramSha256Verifier('another secret');
    await admin.query(`ALTER ROLE ${role} PASSWORD '${ours}'`);
    const stored = (await admin.query('SELECT rolpassword FROM pg_authid WHERE rolname = $1', [role])).rows[0]
      .rolpassword;
    expect(stored).toBe(ours);
    expect(verifyScramSha256('another secret', ours)).toBe(true);
    expect(verifyScramSha256('another secret', undefined)).toBe(false);
    expect(verifyScramSha256('another secret', 'md5abcdef')).toBe(false);
    expect(scramSha256Verifier('x')).not.toBe(scramSha256Verifier('x')); // a fresh salt each time
  });
});

describe('compute sizes and table names', () => {
  it('accepts exactly the autoscaling sizes and refuses the rest before anything is sent', () => {
    expect(COMPUTE_SIZES).toEqual([0.5, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 24, 28, 32]);
    expect(parseComputeUnits('0.5', '--min-cu')).toBe(0.5);
    expect(parseComputeUnits('24', '--max-cu')).toBe(24);
    for (const bad of ['0.25', '17', '36', '1e1', '0x4', '-1', '', '4.5']) {
      expect(() => parseComputeUnits(bad, '--max-cu')).toThrow(
        expect.objectContaining({ code: 'LAKEBASE_CONFIG_INVALID' }),
      );
    }
    expect(() => checkComputeSettings({ minCu: 1, maxCu: 10 })).toThrow(/wider than 8 CU/);
    expect(() => checkComputeSettings({ minCu: 4, maxCu: 2 })).toThrow(/below the min/);
    expect(() => checkComputeSettings({ suspendAfterSeconds: 59 })).toThrow(/outside 60 s to 7 days/);
    expect(() => checkComputeSettings({ suspendAfterSeconds: 604_801 })).toThrow(/outside 60 s to 7 days/);
    expect(() => checkComputeSettings({ suspendAfterSeconds: 300, noSuspend: true })).toThrow(/not both/);
    expect(() => checkComputeSettings({ minCu: 24, maxCu: 32, suspendAfterSeconds: 604_800 })).not.toThrow();
  });

  it('takes schema.table and nothing that would need quoting', () => {
    expect(parseTableName('public.orders')).toBe('public.orders');
    for (const bad of ['orders', 'a.b.c', 'public.orders;drop', 'public."x"', 'public. orders', '.orders']) {
      expect(() => parseTableName(bad)).toThrow(expect.objectContaining({ code: 'LAKEBASE_CONFIG_INVALID' }));
    }
  });

  it('derives role ids the API accepts and refuses contradictory role kinds', () => {
    expect(roleIdFor('Jane.Doe@example.com')).toBe('jane-doe-example-com');
    expect(roleIdFor('6f0c1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b')).toBe('f0c1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b');
    expect(authMethodOf({})).toBe('PG_PASSWORD_SCRAM_SHA_256');
    expect(authMethodOf({ identity: 'group' })).toBe('NO_LOGIN');
    expect(authMethodOf({ identity: 'user' })).toBe('LAKEBASE_OAUTH_V1');
    expect(() => authMethodOf({ identity: 'user', authMethod: 'PG_PASSWORD_SCRAM_SHA_256' })).toThrow(
      expect.objectContaining({ code: 'LAKEBASE_USAGE_ERROR' }),
    );
  });
});

describe('what the REST calls send', () => {
  let server: TestServer;
  let api: LakebaseApi;
  beforeAll(async () => {
    server = await new TestServer().start();
    api = new LakebaseApi({ host: server.url, getToken: async () => 'dapi00112233445566778899aabbccddeeff' });
  });
  afterAll(async () => {
    await server.stop();
  });

  it('maps a scope to the credential request: ttl, and one READ_ONLY claim with the tables', async () => {
    server.requests.length = 0;
    server.routes.set('POST /api/2.0/postgres/credentials', () => ({
      status: 200,
      body: { token: fakeJwt({ sub: 'x' }), expire_time: new Date(Date.now() + 600_000).toISOString() },
    }));
    const endpoint = parseEndpointName('projects/p/branches/b/endpoints/e');
    await api.generateEndpointCredential(endpoint, { ttlSeconds: 600, tables: [parseTableName('public.orders')] });
    await api.generateEndpointCredential(endpoint, { readOnly: true });
    await api.generateEndpointCredential(endpoint);
    expect(server.requests.map((r) => JSON.parse(r.body))).toEqual([
      {
        endpoint,
        ttl: '600s',
        claims: [{ permission_set: 'READ_ONLY', resources: [{ table_name: 'public.orders' }] }],
      },
      { endpoint, claims: [{ permission_set: 'READ_ONLY' }] },
      { endpoint },
    ]);
  });

  it('creates a role with role_id, identity type and auth method; updates an endpoint with an update mask', async () => {
    server.requests.length = 0;
    const branch = parseBranchName('projects/p/branches/b');
    server.routes.set('POST /api/2.0/postgres/projects/p/branches/b/roles', () => ({
      status: 200,
      body: {
        name: 'projects/p/operations/1',
        done: true,
        response: { role_id: 'reporting', status: { postgres_role: 'reporting', auth_method: 'NO_LOGIN' } },
      },
    }));
    const role = await createRole(api, branch, { role: 'reporting', authMethod: 'NO_LOGIN' });
    expect(role).toMatchObject({ role: 'reporting', authMethod: 'NO_LOGIN', identityType: 'PG_ONLY' });
    const endpoint = parseEndpointName('projects/p/branches/b/endpoints/e');
    server.routes.set('PATCH /api/2.0/postgres/projects/p/branches/b/endpoints/e', () => ({
      status: 200,
      body: { name: 'projects/p/operations/2', done: true, response: { status: { current_state: 'ACTIVE' } } },
    }));
    await updateEndpoint(api, endpoint, { minCu: 0.5, maxCu: 4, noSuspend: true });
    expect(server.requests.map((r) => [r.method, r.path, JSON.parse(r.body)])).toEqual([
      [
        'POST',
        '/api/2.0/postgres/projects/p/branches/b/roles?role_id=reporting',
        { spec: { postgres_role: 'reporting', identity_type: 'PG_ONLY', auth_method: 'NO_LOGIN' } },
      ],
      [
        'PATCH',
        '/api/2.0/postgres/projects/p/branches/b/endpoints/e?update_mask=spec.autoscaling_limit_min_cu%2Cspec.autoscaling_limit_max_cu%2Cspec.no_suspension',
        { spec: { autoscaling_limit_min_cu: 0.5, autoscaling_limit_max_cu: 4, no_suspension: true } },
      ],
    ]);
  });
});
