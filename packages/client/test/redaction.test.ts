/**
 * No token in any log line, error, event or serialised object: drive every path that logs or fails (refresh
 * failures, refused logins, killed idle connections, expiry, diagnose) with console and the logger captured, then
 * search everything for every token the Databricks API handed out, the PAT and the client secret.
 */
import { format, inspect } from 'node:util';
import type { Emulator } from '@lakebase-kit/emulator';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createLakebasePool, type DatabaseCredential, diagnose } from '../src/index.js';
import { LakebaseApi, parseInstanceName } from '../src/toolkit.js';
import { sleep, startWarmEmulator, tokenCollectingFetch } from './helpers/emulator.js';

let emu: Emulator;
const tokens = new Set<string>();
const output: string[] = [];
/** The emulator's clock runs `skewMs` ahead of ours: moved to expire a token on the server without waiting. */
const server = { skewMs: 0 };

beforeAll(async () => {
  emu = await startWarmEmulator({
    upstream: 'postgresql://postgres@127.0.0.1:5432/test',
    now: () => Date.now() + server.skewMs,
  });
  for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      output.push(format(...args));
    });
  }
});
afterAll(async () => {
  vi.restoreAllMocks();
  await emu?.stop();
});

describe('secrets never leak', () => {
  it('through logs, errors, events, diagnose reports and inspected objects', async () => {
    const fetchFn = tokenCollectingFetch(tokens);
    const seen: unknown[] = [];
    const m2mEnv = {
      ...emu.env('autoscaling'),
      DATABRICKS_TOKEN: '',
      DATABRICKS_CLIENT_ID: emu.clientId,
      DATABRICKS_CLIENT_SECRET: emu.clientSecret,
    };

    // 1. Rotation with failures, default logger (console.warn), M2M auth.
    emu.workspace.setTokenTtl(2);
    const pool = createLakebasePool({
      env: { ...m2mEnv, DB_POOL_RECYCLE_INTERVAL: '1' },
      fetch: fetchFn,
      apiRetry: { maxAttempts: 1 },
    });
    pool.lakebase.credentials?.on('token-refreshed', (e) => seen.push(e));
    pool.lakebase.credentials?.on('token-refresh-failed', (e) => seen.push(e, e.error, String(e.error), e.error.stack));
    await pool.query('select 1');
    emu.workspace.faults.failFraction(1, 500);
    // The half-life refresh (at 1 s of the 2 s token) fails -> warnings logged: wait for that event, bounded.
    await vi.waitFor(() => expect(output.some((line) => line.includes('token refresh failed'))).toBe(true), {
      timeout: 10_000,
    });
    emu.workspace.faults.clear();

    // 2. An idle connection killed by the server -> the default error listener logs it.
    const pid = (await pool.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]?.pid;
    const admin = new pg.Client({ connectionString: 'postgresql://postgres@127.0.0.1:5432/test' });
    await admin.connect();
    await admin.query('select pg_terminate_backend($1)', [pid]);
    await admin.end();
    await vi.waitFor(
      () => expect(output.some((line) => line.includes('idle PostgreSQL connection failed'))).toBe(true),
      { timeout: 5000 },
    );

    // 3. Expiry with the endpoint down -> LAKEBASE_CREDENTIAL_FAILED, inspected every way.
    emu.workspace.faults.failFraction(1, 503);
    const expiresAt = pool.lakebase.credentials?.status().expiresAt?.getTime() ?? 0;
    await sleep(Math.max(0, expiresAt - Date.now() + 100));
    const client = await pool.connect().catch((e: unknown) => e);
    seen.push(client, String(client), inspect(client, { depth: 5 }), (client as Error).stack, JSON.stringify(client));
    expect((client as { code?: string }).code).toBe('LAKEBASE_CREDENTIAL_FAILED');
    emu.workspace.faults.clear();
    emu.workspace.setTokenTtl(3600);
    await pool.query('select 1');
    seen.push(
      inspect(pool, { depth: 6 }),
      JSON.stringify(pool.lakebase.config),
      inspect(pool.lakebase.config),
      pool.lakebase.credentials?.status(),
    );
    await pool.end();

    // 4. A refused stale token -> 28P01 -> retry (logged).
    emu.workspace.setTokenTtl(1);
    const api = new LakebaseApi(
      { host: emu.databricksHost, getToken: async () => emu.databricksToken },
      { fetch: fetchFn },
    );
    const stale = await api.generateInstanceCredential([parseInstanceName(emu.instanceName)]);
    emu.workspace.setTokenTtl(3600);
    server.skewMs = stale.expiresAt.getTime() - Date.now() + 50; // expired on the server
    let calls = 0;
    const retrying = createLakebasePool({
      env: emu.env('provisioned'),
      credentialSource: async (): Promise<DatabaseCredential> => {
        calls++;
        if (calls > 1) return api.generateInstanceCredential([parseInstanceName(emu.instanceName)]);
        const lying = { expiresAt: new Date(Date.now() + 3_600_000) } as DatabaseCredential;
        Object.defineProperty(lying, 'token', { value: stale.token });
        return lying;
      },
    });
    await retrying.query('select 1');
    expect(retrying.authRetryCount).toBe(1);
    await retrying.end();
    server.skewMs = 0;

    // 5. Diagnose, healthy and broken (login refused for another identity).
    emu.workspace.addUser('someone-else@example.com');
    seen.push(await diagnose({ env: emu.env(), fetch: fetchFn }));
    seen.push(await diagnose({ env: { ...emu.env(), PGUSER: 'someone-else@example.com' }, fetch: fetchFn }));
    seen.push(
      await diagnose({
        env: { ...emu.env(), DATABRICKS_TOKEN: 'dapi11111111111111111111111111111111' },
        fetch: fetchFn,
      }),
    );

    await fetchFn.collected(); // every body the collecting fetch read, read to the end
    const secrets = [...tokens, emu.databricksToken, emu.clientSecret, 'dapi11111111111111111111111111111111'];
    expect(tokens.size).toBeGreaterThanOrEqual(4); // database tokens and M2M access tokens were collected
    const haystack = [
      ...output,
      ...seen.map((item) =>
        typeof item === 'string' ? item : `${JSON.stringify(item)}\n${inspect(item, { depth: 6 })}`,
      ),
    ];
    expect(output.some((line) => line.includes('token refresh failed'))).toBe(true);
    expect(output.some((line) => line.includes('idle PostgreSQL connection failed'))).toBe(true);
    expect(output.some((line) => line.includes('retrying once with a fresh token'))).toBe(true);
    for (const secret of secrets) {
      for (const text of haystack) expect(text.includes(secret), `secret found in: ${text.slice(0, 200)}`).toBe(false);
    }
  });
});
