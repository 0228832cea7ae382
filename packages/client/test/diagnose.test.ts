/** diagnose() on a healthy emulator and on each broken setup: the first failing step names the cause and the fix. */
import type { Emulator } from '@lakebase-kit/emulator';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { type DiagnosisReport, type DiagnosticStep, diagnose } from '../src/index.js';
import { ALL_STEPS } from './helpers/diagnose-steps.js';
import { startWarmEmulator } from './helpers/emulator.js';

let emu: Emulator;
const ADMIN = 'postgresql://postgres@127.0.0.1:5432/test';
// A database of our own: the privileges step checks every table in public, and other files create tables in `test`.
const database = `lakebase_diagnose_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;

async function admin(sql: string): Promise<void> {
  const client = new pg.Client(ADMIN);
  await client.connect();
  await client.query(sql);
  await client.end();
}

beforeAll(async () => {
  await admin(`create database ${database}`);
  emu = await startWarmEmulator({ upstream: `postgresql://postgres@127.0.0.1:5432/${database}` });
});
afterAll(async () => {
  await emu?.stop();
  await admin(`drop database if exists ${database} with (force)`);
});
afterEach(() => {
  emu.workspace.setInstanceState(emu.instanceName, 'AVAILABLE');
});

function failedStep(report: DiagnosisReport): DiagnosticStep {
  expect(report.ok).toBe(false);
  const failed = report.steps.filter((s) => !s.ok);
  expect(failed).toHaveLength(1);
  expect(report.steps.at(-1)).toBe(failed[0]); // stops at the first failure
  const step = failed[0] as DiagnosticStep;
  expect(step.suggestion).toBeTruthy();
  expect(JSON.stringify(report)).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}/);
  expect(JSON.stringify(report)).not.toContain(emu.databricksToken);
  return step;
}

describe('diagnose (emulator)', () => {
  for (const tier of ['provisioned', 'autoscaling'] as const) {
    it(`healthy ${tier}: every step ok, timed, no token in the report`, async () => {
      // Every workspace REST call takes 30 ms on a fake monotonic clock (the steps are timed with performance.now),
      // which moves only then: the steps that make one must say so, and the others took no time.
      let fakeNow = 0;
      let fetches = 0;
      const now = vi.spyOn(performance, 'now').mockImplementation(() => fakeNow);
      const slowFetch: typeof fetch = async (...args) => {
        fakeNow += 30;
        fetches++;
        return fetch(...args);
      };
      let report: Awaited<ReturnType<typeof diagnose>>;
      try {
        report = await diagnose({ env: emu.env(tier), fetch: slowFetch });
      } finally {
        now.mockRestore();
      }
      expect(report.ok).toBe(true);
      expect(report.mode).toBe(tier);
      expect(report.steps.map((s) => s.name)).toEqual(ALL_STEPS);
      for (const step of report.steps) {
        expect(step.ok).toBe(true);
        expect(step.detail).toBeTruthy();
      }
      const ms = (name: string) => report.steps.find((s) => s.name === name)?.ms ?? Number.NaN;
      for (const restStep of ['auth', 'target', 'credential']) expect(ms(restStep)).toBeGreaterThanOrEqual(30);
      // Each step timed on its own: together they account for every REST call's 30 ms once, nothing twice.
      expect(report.steps.reduce((sum, s) => sum + s.ms, 0)).toBe(30 * fetches);
      expect(report.steps.find((s) => s.name === 'tls')?.detail).toContain('verify-full');
      expect(report.steps.find((s) => s.name === 'auth')?.detail).toContain(emu.user);
      expect(JSON.stringify(report)).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}/);
    });
  }

  it('nothing configured: the config step fails with LAKEBASE_NOT_CONFIGURED', async () => {
    const step = failedStep(await diagnose({ env: {} }));
    expect(step).toMatchObject({ name: 'config', code: 'LAKEBASE_NOT_CONFIGURED' });
  });

  it('bad PAT: the auth step fails with LAKEBASE_AUTH_FAILED and says to re-authenticate', async () => {
    const step = failedStep(
      await diagnose({ env: { ...emu.env(), DATABRICKS_TOKEN: 'dapi00000000000000000000000000000000' } }),
    );
    expect(step).toMatchObject({ name: 'auth', code: 'LAKEBASE_AUTH_FAILED' });
    expect(step.suggestion).toContain('databricks auth login');
    expect(step.detail).not.toContain('dapi00000000000000000000000000000000');
  });

  it('no workspace credentials: the auth step fails with LAKEBASE_AUTH_NOT_CONFIGURED', async () => {
    const { DATABRICKS_TOKEN: _, ...env } = emu.env();
    const step = failedStep(await diagnose({ env: { ...env, PATH: '/nonexistent', HOME: '/nonexistent' } }));
    expect(step).toMatchObject({ name: 'auth', code: 'LAKEBASE_AUTH_NOT_CONFIGURED' });
  });

  it('wrong workspace host: the auth step fails with LAKEBASE_API_UNREACHABLE', async () => {
    const step = failedStep(
      await diagnose({ env: { ...emu.env(), DATABRICKS_HOST: 'http://127.0.0.1:1' }, apiRetry: { maxAttempts: 1 } }),
    );
    expect(step).toMatchObject({ name: 'auth', code: 'LAKEBASE_API_UNREACHABLE' });
    expect(step.suggestion).toContain('reachable');
  });

  it('unknown instance: the target step fails with LAKEBASE_RESOURCE_NOT_FOUND', async () => {
    const step = failedStep(await diagnose({ env: { ...emu.env(), LAKEBASE_INSTANCE_NAME: 'no-such-instance' } }));
    expect(step).toMatchObject({ name: 'target', code: 'LAKEBASE_RESOURCE_NOT_FOUND' });
  });

  it('STOPPED instance: the target step fails with LAKEBASE_INSTANCE_NOT_READY and says how to start it', async () => {
    emu.workspace.setInstanceState(emu.instanceName, 'STOPPED');
    const step = failedStep(await diagnose({ env: emu.env('provisioned') }));
    expect(step).toMatchObject({ name: 'target', code: 'LAKEBASE_INSTANCE_NOT_READY' });
    expect(step.detail).toContain('STOPPED');
    expect(step.suggestion).toMatch(/start/i);
  });

  it('STARTING instance: not ready, wait', async () => {
    emu.workspace.setInstanceState(emu.instanceName, 'STARTING');
    const step = failedStep(await diagnose({ env: emu.env('provisioned') }));
    expect(step).toMatchObject({ name: 'target', code: 'LAKEBASE_INSTANCE_NOT_READY' });
    expect(step.suggestion).toMatch(/wait/i);
  });

  it('wrong database host: the DNS step fails with LAKEBASE_DNS_FAILED', async () => {
    const failing = {
      systemLookup: (_h: string, _o: unknown, cb: (e: NodeJS.ErrnoException | null, a: never[]) => void) =>
        cb(Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' }), []),
      resolver: {
        resolve4: async () => Promise.reject(Object.assign(new Error('queryA ENOTFOUND'), { code: 'ENOTFOUND' })),
        resolve6: async () => Promise.reject(Object.assign(new Error('queryAAAA ENOTFOUND'), { code: 'ENOTFOUND' })),
      },
    };
    const step = failedStep(
      await diagnose({ env: { ...emu.env(), PGHOST: 'typo-instance.database.example.com' }, dns: failing }),
    );
    expect(step).toMatchObject({ name: 'dns', code: 'LAKEBASE_DNS_FAILED' });
    expect(step.detail).toContain('typo-instance.database.example.com');
  });

  it('wrong port: the TCP step fails with LAKEBASE_CONNECT_FAILED', async () => {
    const step = failedStep(await diagnose({ env: { ...emu.env(), PGPORT: '1' } }));
    expect(step).toMatchObject({ name: 'tcp', code: 'LAKEBASE_CONNECT_FAILED' });
  });

  it('untrusted certificate (no PGSSLROOTCERT): the TLS step fails with LAKEBASE_TLS_FAILED', async () => {
    const { PGSSLROOTCERT: _, ...env } = emu.env();
    const step = failedStep(await diagnose({ env }));
    expect(step).toMatchObject({ name: 'tls', code: 'LAKEBASE_TLS_FAILED' });
    expect(step.suggestion).toContain('PGSSLROOTCERT');
  });

  it('unknown role set in PGUSER (28000): the login step names the mismatch with the token identity', async () => {
    const step = failedStep(await diagnose({ env: { ...emu.env(), PGUSER: 'nobody@example.com' } }));
    expect(step).toMatchObject({ name: 'login', code: 'LAKEBASE_IDENTITY_MISMATCH' });
    expect(step.detail).toContain('role "nobody@example.com" does not exist');
    expect(step.suggestion).toMatch(/Unset PGUSER/);
  });

  it('PGUSER is another identity than the token (28P01): LAKEBASE_IDENTITY_MISMATCH naming both', async () => {
    emu.workspace.addUser('colleague@example.com');
    const step = failedStep(await diagnose({ env: { ...emu.env(), PGUSER: 'colleague@example.com' } }));
    expect(step).toMatchObject({ name: 'login', code: 'LAKEBASE_IDENTITY_MISMATCH' });
    expect(step.detail).toContain(`PGUSER=colleague@example.com, but the token is for ${emu.user}`);
    expect(step.suggestion).toContain('PGUSER');
  });

  it('unknown database: the login step fails with LAKEBASE_DATABASE_NOT_FOUND (3D000)', async () => {
    const step = failedStep(await diagnose({ env: { ...emu.env(), LAKEBASE_DATABASE: 'no_such_db' } }));
    expect(step).toMatchObject({ name: 'login', code: 'LAKEBASE_DATABASE_NOT_FOUND' });
  });
});
