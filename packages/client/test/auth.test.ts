import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type LakebaseError, resolveConfig } from '../src/index.js';
import { WorkspaceAuth } from '../src/toolkit.js';
import { thrownLakebaseError } from './helpers/errors.js';
import { TestServer } from './helpers/http-server.js';

const PAT = 'dapi0123456789abcdef0123456789abcdef';
const CLIENT_ID = '11111111-2222-4333-8444-555555555555';
const CLIENT_SECRET = 'dose0123456789abcdef0123456789abcdef';
let server: TestServer;
let dir: string;
let home: string;
let bin: string;

beforeAll(async () => {
  server = await new TestServer().start();
  dir = mkdtempSync(path.join(os.tmpdir(), 'lakebase-auth-test-'));
  home = path.join(dir, 'home');
  bin = path.join(dir, 'bin');
});
afterAll(async () => {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  server.requests.length = 0;
  server.routes.clear();
  rmSync(home, { recursive: true, force: true });
  rmSync(bin, { recursive: true, force: true });
  mkdirs(home, bin);
});

function mkdirs(...dirs: string[]) {
  for (const d of dirs) mkdirSync(d, { recursive: true });
}

/** Workspace auth from env, with HOME and PATH pointing at the test's own directories. */
function authFrom(env: Record<string, string>): WorkspaceAuth {
  const config = resolveConfig({}, { LAKEBASE_INSTANCE_NAME: 'i', HOME: home, PATH: bin, ...env });
  return new WorkspaceAuth(config.workspace, { retry: { baseDelayMs: 5 } });
}

/** A fake `databricks` executable: logs its arguments, prints `stdout`, writes `stderr`, exits with `code`. */
function fakeCli(file: string, stdout: string, options: { stderr?: string; code?: number } = {}): string {
  const log = `${file}.args`;
  writeFileSync(
    file,
    `#!/bin/sh\necho "$@" >> '${log}'\nprintf '%s' '${stdout}'\nprintf '%s' '${options.stderr ?? ''}' >&2\nexit ${options.code ?? 0}\n`,
  );
  chmodSync(file, 0o755);
  return log;
}

function routeM2m(onToken?: () => void) {
  server.route('GET /oidc/.well-known/oauth-authorization-server', () => ({
    body: { authorization_endpoint: `${server.url}/oidc/v1/authorize`, token_endpoint: `${server.url}/oidc/v1/token` },
  }));
  server.route('POST /oidc/v1/token', (req) => {
    onToken?.();
    const expected = `Basic ${Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64')}`;
    if (req.headers.authorization !== expected) {
      return { status: 401, body: { error: 'invalid_client', error_description: 'Client authentication failed' } };
    }
    expect(req.body).toBe('grant_type=client_credentials&scope=all-apis');
    expect(req.headers['content-type']).toBe('application/x-www-form-urlencoded');
    return {
      body: {
        access_token: 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJzcCJ9.m2m-access',
        token_type: 'Bearer',
        expires_in: '3600',
      },
    };
  });
}

describe('WorkspaceAuth', () => {
  it('PAT: DATABRICKS_HOST + DATABRICKS_TOKEN', async () => {
    const auth = authFrom({ DATABRICKS_HOST: server.url, DATABRICKS_TOKEN: PAT });
    expect(auth.authType).toBe('pat');
    expect(await auth.getToken()).toBe(PAT);
    expect(auth.host).toBe(server.url);
  });

  it('OAuth M2M: discovery, Basic client auth, token cached', async () => {
    let tokenRequests = 0;
    routeM2m(() => tokenRequests++);
    const auth = authFrom({
      DATABRICKS_HOST: server.url,
      DATABRICKS_CLIENT_ID: CLIENT_ID,
      DATABRICKS_CLIENT_SECRET: CLIENT_SECRET,
    });
    expect(auth.authType).toBe('oauth-m2m');
    const token = await auth.getToken();
    expect(token).toContain('m2m-access');
    await Promise.all([auth.getToken(), auth.getToken(), auth.getToken()]);
    expect(tokenRequests).toBe(1);
  });

  it('OAuth M2M with a wrong secret: LAKEBASE_AUTH_FAILED, secret not in the error', async () => {
    routeM2m();
    const auth = authFrom({
      DATABRICKS_HOST: server.url,
      DATABRICKS_CLIENT_ID: CLIENT_ID,
      DATABRICKS_CLIENT_SECRET: 'dose99999999999999999999999999999999',
    });
    const error = (await auth.getToken().catch((e: unknown) => e)) as LakebaseError;
    expect(error.code).toBe('LAKEBASE_AUTH_FAILED');
    expect(error.message).toContain('Client authentication failed');
    expect(JSON.stringify(error)).not.toContain('dose9999');
  });

  it('two families at once: the SDKs\' "more than one authorization method configured" error', () => {
    const error = thrownLakebaseError(() =>
      authFrom({
        DATABRICKS_HOST: server.url,
        DATABRICKS_TOKEN: PAT,
        DATABRICKS_CLIENT_ID: CLIENT_ID,
        DATABRICKS_CLIENT_SECRET: CLIENT_SECRET,
      }),
    );
    expect(error.code).toBe('LAKEBASE_AUTH_CONFLICT');
    expect(error.message).toBe('validate: more than one authorization method configured: oauth and pat');
    expect(error.suggestion).toContain('DATABRICKS_AUTH_TYPE');
  });

  it('a PAT next to a metadata service URL is a conflict too', () => {
    const error = thrownLakebaseError(() =>
      authFrom({
        DATABRICKS_HOST: server.url,
        DATABRICKS_TOKEN: PAT,
        DATABRICKS_METADATA_SERVICE_URL: `${server.url}/metadata`,
      }),
    );
    expect(error.code).toBe('LAKEBASE_AUTH_CONFLICT');
    expect(error.message).toBe('validate: more than one authorization method configured: metadata-service and pat');
    expect(JSON.stringify(error)).not.toContain(PAT);
  });

  it('DATABRICKS_AUTH_TYPE forces one provider (no conflict error)', async () => {
    routeM2m();
    const auth = authFrom({
      DATABRICKS_HOST: server.url,
      DATABRICKS_TOKEN: PAT,
      DATABRICKS_CLIENT_ID: CLIENT_ID,
      DATABRICKS_CLIENT_SECRET: CLIENT_SECRET,
      DATABRICKS_AUTH_TYPE: 'oauth-m2m',
    });
    expect(await auth.getToken()).toContain('m2m-access');
    const pat = authFrom({
      DATABRICKS_HOST: server.url,
      DATABRICKS_TOKEN: PAT,
      DATABRICKS_CLIENT_ID: CLIENT_ID,
      DATABRICKS_AUTH_TYPE: 'pat',
    });
    expect(await pat.getToken()).toBe(PAT);
    const e = thrownLakebaseError(() => authFrom({ DATABRICKS_HOST: server.url, DATABRICKS_AUTH_TYPE: 'oauth-m2m' }));
    expect(e.code).toBe('LAKEBASE_AUTH_NOT_CONFIGURED');
  });

  it('no host, no credentials: LAKEBASE_AUTH_NOT_CONFIGURED with a suggestion', () => {
    const noHost = thrownLakebaseError(() => authFrom({ DATABRICKS_TOKEN: PAT }));
    expect(noHost.code).toBe('LAKEBASE_AUTH_NOT_CONFIGURED');
    expect(noHost.suggestion).toContain('DATABRICKS_HOST');
    const noCreds = thrownLakebaseError(() => authFrom({ DATABRICKS_HOST: server.url }));
    expect(noCreds.code).toBe('LAKEBASE_AUTH_NOT_CONFIGURED');
    expect(noCreds.suggestion).toContain('databricks auth login');
  });

  describe('~/.databrickscfg', () => {
    const write = (text: string) => writeFileSync(path.join(home, '.databrickscfg'), text);

    it('uses [DEFAULT] when nothing else is set', async () => {
      write(`[DEFAULT]\nhost = ${server.url}/\ntoken = ${PAT}\n`);
      const auth = authFrom({});
      expect(auth.host).toBe(server.url);
      expect(await auth.getToken()).toBe(PAT);
    });

    it('honours [__settings__] default_profile', async () => {
      routeM2m();
      write(
        `[DEFAULT]\nhost = https://wrong.example\ntoken = ${PAT}\n\n[sp]\nhost = ${server.url}\nclient_id = ${CLIENT_ID}\nclient_secret = ${CLIENT_SECRET}\n\n[__settings__]\ndefault_profile = sp\n`,
      );
      const auth = authFrom({});
      expect(auth.authType).toBe('oauth-m2m');
      expect(await auth.getToken()).toContain('m2m-access');
    });

    it('DATABRICKS_CONFIG_PROFILE picks a profile; a missing one is LAKEBASE_AUTH_PROFILE_NOT_FOUND', async () => {
      write(`[DEFAULT]\nhost = https://wrong.example\n\n[dev]\nhost = ${server.url}\ntoken = ${PAT}\n`);
      expect(await authFrom({ DATABRICKS_CONFIG_PROFILE: 'dev' }).getToken()).toBe(PAT);
      const error = thrownLakebaseError(() => authFrom({ DATABRICKS_CONFIG_PROFILE: 'prod' }));
      expect(error.code).toBe('LAKEBASE_AUTH_PROFILE_NOT_FOUND');
      expect(error.message).toBe(`resolve: ${path.join(home, '.databrickscfg')} has no prod profile configured`);
    });

    it('DATABRICKS_CONFIG_FILE points elsewhere; the file is not read when env already sets host/credentials', async () => {
      const other = path.join(dir, 'other.cfg');
      writeFileSync(other, `[DEFAULT]\nhost = ${server.url}\ntoken = ${PAT}\n`);
      expect(await authFrom({ DATABRICKS_CONFIG_FILE: other }).getToken()).toBe(PAT);
      write(`[DEFAULT]\nhost = ${server.url}\ntoken = ${PAT}\n`);
      // DATABRICKS_HOST is set, so the implicit DEFAULT profile (and its token) is not loaded.
      const error = thrownLakebaseError(() => authFrom({ DATABRICKS_HOST: server.url }));
      expect(error.code).toBe('LAKEBASE_AUTH_NOT_CONFIGURED');
    });

    it('an unknown auth_type in a profile is LAKEBASE_CONFIG_INVALID', () => {
      write(`[DEFAULT]\nhost = ${server.url}\nauth_type = kerberos\n`);
      expect(thrownLakebaseError(() => authFrom({})).code).toBe('LAKEBASE_CONFIG_INVALID');
    });

    it('explicit values are never overwritten by the profile', async () => {
      write(`[dev]\nhost = https://wrong.example\ntoken = dapiffffffffffffffffffffffffffffffff\n`);
      const auth = authFrom({ DATABRICKS_CONFIG_PROFILE: 'dev', DATABRICKS_HOST: server.url, DATABRICKS_TOKEN: PAT });
      expect(auth.host).toBe(server.url);
      expect(await auth.getToken()).toBe(PAT);
    });
  });

  describe('Databricks CLI (U2M)', () => {
    const cliToken = {
      access_token: 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1c2VyIn0.u2m-access',
      token_type: 'Bearer',
      expiry: '2099-08-21T14:05:12.345678+02:00',
    };

    it('runs `databricks auth token --host <host>` from PATH and caches the token', async () => {
      const log = fakeCli(path.join(bin, 'databricks'), JSON.stringify(cliToken));
      const auth = authFrom({ DATABRICKS_HOST: server.url });
      expect(await auth.getToken()).toBe(cliToken.access_token);
      expect(await auth.getToken()).toBe(cliToken.access_token);
      expect(auth.authType).toBe('databricks-cli');
      const calls = readFileSync(log, 'utf8').trim().split('\n');
      expect(calls).toEqual([`auth token --host ${server.url} --output json`]);
    });

    it('passes --profile for a profile with auth_type = databricks-cli; DATABRICKS_CLI_PATH wins over PATH', async () => {
      writeFileSync(path.join(home, '.databrickscfg'), `[me]\nhost = ${server.url}\nauth_type = databricks-cli\n`);
      const elsewhere = path.join(dir, 'custom-cli');
      const log = fakeCli(elsewhere, JSON.stringify(cliToken));
      const auth = authFrom({ DATABRICKS_CONFIG_PROFILE: 'me', DATABRICKS_CLI_PATH: elsewhere });
      expect(await auth.getToken()).toBe(cliToken.access_token);
      expect(readFileSync(log, 'utf8').trim()).toBe('auth token --profile me --output json');
    });

    it('"databricks OAuth is not configured" means not applicable: the chain moves on to the metadata service', async () => {
      fakeCli(path.join(bin, 'databricks'), '', {
        stderr:
          'Error: cache: databricks OAuth is not configured for this host. Try logging in again with `databricks auth login`',
        code: 1,
      });
      server.route('GET /metadata', (req) => {
        expect(req.headers['x-databricks-metadata-version']).toBe('1');
        expect(req.headers['x-databricks-host']).toBe(server.url);
        return {
          body: {
            access_token: 'metadata-access-token-1',
            token_type: 'Bearer',
            expires_on: Math.floor(Date.now() / 1000) + 3600,
          },
        };
      });
      const auth = authFrom({ DATABRICKS_HOST: server.url, DATABRICKS_METADATA_SERVICE_URL: `${server.url}/metadata` });
      expect(await auth.getToken()).toBe('metadata-access-token-1');
      expect(auth.authType).toBe('metadata-service');
    });

    it('a CLI that is not logged in and nothing else: LAKEBASE_AUTH_NOT_CONFIGURED', async () => {
      fakeCli(path.join(bin, 'databricks'), '', {
        stderr: 'Error: databricks OAuth is not configured for this host',
        code: 1,
      });
      const error = (await authFrom({ DATABRICKS_HOST: server.url })
        .getToken()
        .catch((e: unknown) => e)) as LakebaseError;
      expect(error.code).toBe('LAKEBASE_AUTH_NOT_CONFIGURED');
    });

    it('any other CLI failure is LAKEBASE_AUTH_FAILED with its stderr', async () => {
      fakeCli(path.join(bin, 'databricks'), '', { stderr: 'Error: refresh token is invalid', code: 1 });
      const error = (await authFrom({ DATABRICKS_HOST: server.url })
        .getToken()
        .catch((e: unknown) => e)) as LakebaseError;
      expect(error.code).toBe('LAKEBASE_AUTH_FAILED');
      expect(error.message).toContain('refresh token is invalid');
      expect(error.suggestion).toContain('databricks auth login');
    });
  });

  it('metadata service alone (DATABRICKS_AUTH_TYPE=metadata-service)', async () => {
    server.route('GET /md', () => ({
      body: { access_token: 'metadata-access-token-2', expires_on: Math.floor(Date.now() / 1000) + 3600 },
    }));
    const auth = authFrom({
      DATABRICKS_HOST: server.url,
      DATABRICKS_METADATA_SERVICE_URL: `${server.url}/md`,
      DATABRICKS_AUTH_TYPE: 'metadata-service',
    });
    expect(await auth.getToken()).toBe('metadata-access-token-2');
  });
});
