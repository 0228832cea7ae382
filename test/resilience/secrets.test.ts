/**
 * Secrets: with every byte of output captured (stdout, stderr, console, the client's logger, the app's pino log, and
 * the text of every error), scenarios that mint, rotate, fail and refuse tokens must never show a minted token, the
 * service principal's client secret or the PAT. Also: `.env.local` written by the library is 0600, and the emulator
 * and the app bind loopback only unless told otherwise.
 */
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { createLakebasePool, type LakebasePool } from '@lakebase-kit/client';
import { updateEnvFile } from '@lakebase-kit/client/toolkit';
import { type Emulator, startEmulator } from '@lakebase-kit/emulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../app/server/app.js';
import { createLogger } from '../../app/server/logging.js';
import { readServerSettings } from '../../app/server/settings.js';
import { errorText, leakedSecrets, OutputCapture, recordingLogger, sleep, tokenCollectingFetch } from './helpers.js';

let emulator: Emulator;

beforeAll(async () => {
  emulator = await startEmulator({ tokenTtlSeconds: 2 });
});

afterAll(async () => {
  await emulator?.stop();
});

describe('no secret in any captured output', () => {
  it('M2M and PAT pools, rotation, faults, refusals, outages, and the app over them print no secret', async () => {
    const capture = new OutputCapture().start();
    const lines: string[] = [];
    const minted = new Set<string>();
    const pools: LakebasePool[] = [];
    const appLog: string[] = [];
    try {
      const fetchFn = tokenCollectingFetch(minted);
      const m2m = emulator.env('autoscaling');
      delete m2m.DATABRICKS_TOKEN;
      const common = {
        fetch: fetchFn,
        logger: recordingLogger(lines),
        recycleIntervalSeconds: 1,
        poolSize: 1,
        maxOverflow: 2,
      };
      const m2mPool = createLakebasePool({
        env: { ...m2m, DATABRICKS_CLIENT_ID: emulator.clientId, DATABRICKS_CLIENT_SECRET: emulator.clientSecret },
        ...common,
        apiRetry: { maxAttempts: 2, baseDelayMs: 50, maxDelayMs: 100 },
        credentialOptions: { maxAttempts: 2, baseDelayMs: 50, maxDelayMs: 200 },
      });
      const patPool = createLakebasePool({ env: emulator.env('provisioned'), ...common });
      pools.push(m2mPool, patPool);

      // The app on the M2M pool, logging at debug level into a captured stream.
      const stream = new Writable({
        write(chunk, _encoding, done) {
          appLog.push(String(chunk));
          done();
        },
      });
      const app = await buildApp({
        database: { configured: true, pool: m2mPool, info: { tier: 'autoscaling', database: emulator.database } },
        production: false,
        logger: createLogger({ level: 'debug', stream }),
      });
      const inject = (method: 'GET' | 'PUT', url: string, payload?: Record<string, unknown>) =>
        app.inject({
          method,
          url,
          headers: {
            authorization: `Bearer ${emulator.databricksToken}`,
            'x-forwarded-access-token': [...minted][0] ?? 'x',
          },
          ...(payload === undefined ? {} : { payload }),
        });

      const errors: unknown[] = [];
      const attempt = async (fn: () => Promise<unknown>) => {
        try {
          await fn();
        } catch (error) {
          errors.push(error);
        }
      };
      await attempt(() =>
        m2mPool.query(
          'create table if not exists user_preferences (user_email text not null, key text not null, value jsonb not null, created_at timestamptz not null default now(), updated_at timestamptz not null default now(), primary key (user_email, key))',
        ),
      );
      await attempt(() => patPool.query('select 1'));
      await inject('PUT', '/api/preferences/theme', { value: 'dark' });
      await inject('GET', '/api/preferences');
      await inject('GET', '/api/health');
      await inject('GET', '/api/me');

      // Rotation through a few lifetimes, with faults: query until both pools have had two new tokens (bounded).
      const rotations = { m2m: 0, pat: 0 };
      m2mPool.lakebase.credentials?.on('token-refreshed', () => rotations.m2m++);
      patPool.lakebase.credentials?.on('token-refreshed', () => rotations.pat++);
      const injectedBefore = emulator.stats().credentialRequests.failedByInjection;
      emulator.workspace.faults.failNext(2, 500);
      emulator.workspace.faults.failNext(1, 429, { retryAfterSeconds: 1 });
      const rotationUntil = Date.now() + 15_000;
      while (
        Date.now() < rotationUntil &&
        (rotations.m2m < 2 ||
          rotations.pat < 2 ||
          emulator.stats().credentialRequests.failedByInjection - injectedBefore < 3)
      ) {
        await attempt(() => m2mPool.query('select 1'));
        await attempt(() => patPool.query('select 1'));
        await sleep(100); // pacing of the queries; the loop waits for the rotations
      }
      expect(rotations.m2m).toBeGreaterThanOrEqual(2);
      expect(rotations.pat).toBeGreaterThanOrEqual(2);
      // An outage past the token lifetime: LAKEBASE_CREDENTIAL_FAILED errors (and their logging) must stay clean.
      emulator.workspace.faults.failFraction(1, 503);
      // Query until the last usable token is gone and a new login needs one (bounded).
      const outageUntil = Date.now() + 10_000;
      while (
        Date.now() < outageUntil &&
        !errors.some((e) => (e as { code?: string }).code === 'LAKEBASE_CREDENTIAL_FAILED')
      ) {
        await attempt(() => m2mPool.query('select 1'));
        await sleep(100);
      }
      await inject('GET', '/api/preferences');
      await inject('GET', '/api/health');
      emulator.workspace.faults.clear();
      // A refused login: a token minted for a different role.
      const stale = [...minted].at(-1) as string;
      const wrongUser = createLakebasePool({
        url: `postgresql://someone-else:${encodeURIComponent(stale)}@localhost:${emulator.pgPort}/${emulator.database}?sslmode=no-verify`,
        env: {},
        logger: recordingLogger(lines),
      });
      pools.push(wrongUser);
      await attempt(() => wrongUser.query('select 1'));
      await app.close();

      for (const error of errors) capture.add(errorText(error));
      expect(errors.some((e) => (e as { code?: string }).code === 'LAKEBASE_CREDENTIAL_FAILED')).toBe(true);
      expect(errors.some((e) => ['28P01', '28000'].includes((e as { code?: string }).code ?? ''))).toBe(true);
    } finally {
      await Promise.all(pools.map((p) => p.end()));
      emulator.workspace.faults.clear();
      capture.stop();
    }
    expect(minted.size).toBeGreaterThan(4); // database tokens and OAuth access tokens
    const everything = [capture.text, lines.join('\n'), appLog.join('')].join('\n');
    expect(appLog.length).toBeGreaterThan(5);
    expect(lines.length).toBeGreaterThan(0);
    expect(leakedSecrets(everything, [...minted, emulator.clientSecret, emulator.databricksToken])).toEqual([]);
  }, 30_000);
});

describe('the capture itself', () => {
  it('sees console, stdout and stderr output, so a leak could not slip past it', () => {
    const capture = new OutputCapture().start();
    try {
      console.warn('sentinel-console-0123456789');
      process.stderr.write('sentinel-stderr-0123456789\n');
    } finally {
      capture.stop();
    }
    expect(leakedSecrets(capture.text, ['sentinel-console-0123456789', 'sentinel-stderr-0123456789'])).toHaveLength(2);
  });
});

describe('files and binds', () => {
  it('.env.local written by the library is 0600, new or replacing a wider file', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'lakebase-envfile-'));
    try {
      const fresh = path.join(dir, '.env.local');
      await updateEnvFile(fresh, { LAKEBASE_ENDPOINT: 'projects/p/branches/b/endpoints/e' });
      expect((await stat(fresh)).mode & 0o777).toBe(0o600);
      const wide = path.join(dir, 'wide', '.env.local');
      await mkdir(path.dirname(wide));
      await writeFile(wide, 'OTHER=1\n', { mode: 0o644 });
      await updateEnvFile(wide, { PGHOST: 'h' });
      expect((await stat(wide)).mode & 0o777).toBe(0o600);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('the emulator refuses a non-loopback bind unless told to', async () => {
    for (const host of ['0.0.0.0', '::', '127.0.0.2']) {
      await expect(startEmulator({ host })).rejects.toMatchObject({ code: 'EMULATOR_NON_LOOPBACK_BIND' });
    }
    // Told to (127.0.0.2 is loopback on Linux, so this stays on the machine).
    const told = await startEmulator({ host: '127.0.0.2', allowNonLoopback: true });
    expect(told.databricksHost).toContain('127.0.0.2');
    await told.stop();
  });

  it('the app binds loopback unless it runs in Databricks Apps', () => {
    expect(readServerSettings({}).host).toBe('127.0.0.1');
    expect(readServerSettings({ HOST: '0.0.0.0', PORT: '9000', NODE_ENV: 'production' }).host).toBe('127.0.0.1');
    expect(readServerSettings({ DATABRICKS_APP_PORT: '8000' }).host).toBe('0.0.0.0');
  });
});
