/** What the proxy tests share: a warm emulator whose clock a test can move, proxies closed after each test, libpq tools. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Emulator } from '@lakebase-kit/emulator';
import pg from 'pg';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { type LakebaseProxy, type ProxyOptions, startProxy } from '../../src/toolkit.js';
import { startWarmEmulator } from '../helpers/emulator.js';

const run = promisify(execFile);

/** The emulator's clock and the proxy's run `skewMs` ahead of ours: a test moves both to expire tokens at once. */
export const clockSkew = { ms: 0 };
const skewedClock = { now: () => Date.now() + clockSkew.ms };

/** The local PostgreSQL 15 of the machine: the emulator stores into a scratch database there, so the PostgreSQL 15
 * client tools (pg_dump refuses a newer server) match the server they reach through the proxy. */
const LOCAL_SERVER = 'postgresql://postgres@127.0.0.1:5432';

async function adminQuery(sql: string): Promise<void> {
  const admin = new pg.Client({ connectionString: `${LOCAL_SERVER}/postgres` });
  await admin.connect();
  try {
    await admin.query(sql);
  } finally {
    await admin.end();
  }
}

/**
 * `localStorage`: store into a scratch database of the local PostgreSQL 15 (for pg_dump); otherwise the emulator's
 * default storage, which models read-only endpoints.
 */
export function useProxies({ localStorage = false }: { localStorage?: boolean } = {}): {
  emulator: () => Emulator;
  proxy: (options?: ProxyOptions) => Promise<LakebaseProxy>;
} {
  let emulator: Emulator | undefined;
  const proxies: LakebaseProxy[] = [];
  const current = (): Emulator => {
    if (!emulator) throw new Error('the emulator starts in beforeAll');
    return emulator;
  };
  const scratch = `lakebase_proxy_test_${process.pid}`;
  beforeAll(async () => {
    if (!localStorage) {
      emulator = await startWarmEmulator({ now: skewedClock.now });
      return;
    }
    await adminQuery(`drop database if exists ${scratch} with (force)`);
    await adminQuery(`create database ${scratch}`);
    emulator = await startWarmEmulator({ now: skewedClock.now, upstream: `${LOCAL_SERVER}/${scratch}` });
  });
  afterAll(async () => {
    await emulator?.stop();
    if (localStorage) await adminQuery(`drop database if exists ${scratch} with (force)`);
  });
  afterEach(async () => {
    clockSkew.ms = 0;
    current().workspace.faults.clear();
    await Promise.all(proxies.splice(0).map((p) => p.close()));
  });
  return {
    emulator: current,
    async proxy(options = {}) {
      const started = await startProxy({
        env: current().env('provisioned'),
        listenPort: 0,
        clock: skewedClock,
        logger: { warn: () => {} },
        ...options,
      });
      proxies.push(started);
      return started;
    },
  };
}

/** libpq settings that reach `proxy` with no password and no TLS: what a tool pointed at the proxy is given. */
export function libpqEnv(proxy: LakebaseProxy, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(env)) if (key.startsWith('PG')) delete env[key];
  return {
    ...env,
    PGHOST: '127.0.0.1',
    PGPORT: String(proxy.port),
    PGDATABASE: proxy.database,
    PGUSER: 'any-local-name',
    PGSSLMODE: 'prefer',
    PGCONNECT_TIMEOUT: '20',
    ...extra,
  };
}

/** Runs a libpq tool (psql, pgbench, pg_dump) against the proxy; resolves with its stdout. */
export async function tool(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ stdout: string; stderr: string }> {
  return run(command, args, { env, timeout: 120_000, maxBuffer: 1 << 24 });
}
