import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { request } from 'node:https';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, EmulatorError, startEmulator } from '../src/index.js';

const run = promisify(execFile);
const CLIENT = path.join(import.meta.dirname, 'fixtures', 'force-https-client.mjs');

/**
 * One emulator for the file (start-up is the cost): the HTTPS API on 443 when this process may bind it (root, as in
 * CI), else on a free TLS port. Only two refusals fall back: 443 genuinely taken by another process, or not ours to
 * bind (EACCES); anything else fails the suite.
 */
let emulator: Emulator;
let on443 = false;
let why443Skipped = '';
beforeAll(async () => {
  try {
    emulator = await startEmulator({ apiPort: 443 });
    on443 = true;
  } catch (error) {
    if (!(error instanceof EmulatorError)) throw error;
    if (error.code === 'EMULATOR_PORT_IN_USE') why443Skipped = 'port 443 is taken by another process';
    else if (error.code === 'EMULATOR_PORT_NOT_PERMITTED') {
      expect(error.suggestion).toMatch(/cap_net_bind_service/);
      why443Skipped = 'binding 443 is not permitted here (not root, no capability)';
    } else throw error;
    emulator = await startEmulator();
  }
});
afterAll(async () => {
  await emulator?.stop();
});

/** Runs the force-https client in a fresh Node, which trusts the emulator only through NODE_EXTRA_CA_CERTS. */
async function forceHttpsClient(e: Emulator, databricksHost: string, dropPort: boolean) {
  const env = {
    PATH: process.env.PATH ?? '',
    ...e.env(),
    DATABRICKS_HOST: databricksHost,
    DATABRICKS_TOKEN: '',
    DATABRICKS_CLIENT_ID: e.clientId,
    DATABRICKS_CLIENT_SECRET: e.clientSecret,
    DROP_PORT: dropPort ? '1' : '0',
  };
  const { stdout } = await run(process.execPath, [CLIENT], { env, timeout: 20_000 });
  return JSON.parse(stdout) as { host: string; user: string };
}

describe('the workspace API over HTTPS', () => {
  it('a client that forces https://<host> with no port reaches it on 443, mints a credential and logs in', async (ctx) => {
    if (!on443) ctx.skip(`${why443Skipped}; the TLS-port test covers this client`);
    expect(emulator.apiTlsPort).toBe(443);
    expect(emulator.databricksHost).toBe('https://localhost');
    expect(emulator.env().DATABRICKS_HOST).toBe('https://localhost');
    // The case that failed before: the plain http://127.0.0.1:<port> URL, rewritten to https://127.0.0.1 (port 443).
    const result = await forceHttpsClient(emulator, emulator.databricksHostHttp, true);
    expect(result).toEqual({ host: 'https://127.0.0.1', user: emulator.clientId });
    expect(emulator.stats().logins.succeeded).toBe(1);
  });

  it('where 443 cannot be bound, the same client reaches the TLS API port, mints and logs in', async (ctx) => {
    if (on443) ctx.skip('443 was bound: the test above ran this client against it');
    expect(emulator.databricksHost).toBe(emulator.databricksHostHttp);
    expect(emulator.databricksHostTls).toBe(`https://localhost:${emulator.apiTlsPort}`);
    const result = await forceHttpsClient(emulator, emulator.databricksHostTls, false);
    expect(result).toEqual({ host: emulator.databricksHostTls, user: emulator.clientId });
    expect(emulator.stats().logins.succeeded).toBe(1);
  });

  it('OIDC discovery names the URL each request came in on: HTTPS on the TLS port, HTTP on the plain one', async () => {
    const discovery = await httpsJson(emulator, '/oidc/.well-known/oauth-authorization-server');
    expect(discovery.token_endpoint).toBe(`${emulator.databricksHostTls}/oidc/v1/token`);
    const plain = await fetch(`${emulator.databricksHostHttp}/oidc/.well-known/oauth-authorization-server`);
    expect(((await plain.json()) as { token_endpoint: string }).token_endpoint).toBe(
      `${emulator.databricksHostHttp}/oidc/v1/token`,
    );
    const telemetry = await fetch(`${emulator.databricksHostHttp}/telemetry-ext`, { method: 'POST' });
    expect(telemetry.status).toBe(200);
  });

  it('refuses apiPort 443 together with another apiTlsPort', async () => {
    await expect(startEmulator({ apiPort: 443, apiTlsPort: 8443 })).rejects.toMatchObject({
      code: 'EMULATOR_PORT_CONFLICT',
    });
  });
});

/** GET over HTTPS trusting only the emulator's CA. */
async function httpsJson(e: Emulator, urlPath: string): Promise<Record<string, string>> {
  const ca = await readFile(e.caFile, 'utf8');
  return new Promise((resolve, reject) => {
    const req = request(`${e.databricksHostTls}${urlPath}`, { ca, timeout: 5000 }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        body += chunk;
      });
      response.on('end', () => resolve(JSON.parse(body)));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}
