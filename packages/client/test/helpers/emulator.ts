import { type Emulator, startEmulator } from '@lakebase-kit/emulator';
import pg from 'pg';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { createLakebasePool, type LakebasePool, type LakebasePoolOptions } from '../../src/index.js';

/** Start an emulator and open one session, so the storage's cold start is not charged to the first test. */
export async function startWarmEmulator(options: Parameters<typeof startEmulator>[0] = {}): Promise<Emulator> {
  const emulator = await startEmulator({ apiPort: 0, pgPort: 0, ...options });
  const res = await fetch(`${emulator.databricksHost}/api/2.0/database/credentials`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${emulator.databricksToken}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ request_id: crypto.randomUUID(), instance_names: [emulator.instanceName] }),
  });
  const { token } = (await res.json()) as { token: string };
  const client = new pg.Client({
    host: emulator.pgHost,
    port: emulator.pgPort,
    user: emulator.user,
    database: emulator.database,
    password: token,
    ssl: { rejectUnauthorized: false },
  });
  await client.connect();
  await client.query('select 1');
  await client.end();
  return emulator;
}

/**
 * The fixture of the emulator-backed pool tests: one warm emulator per file, and after each test the pools it made
 * are closed and the emulator's faults and token TTL reset. `emulator()` is an accessor because the emulator only
 * exists once `beforeAll` has run.
 */
export function useEmulatorPools(options: Parameters<typeof startEmulator>[0] = {}): {
  emulator: () => Emulator;
  pool: (env?: Record<string, string>, poolOptions?: LakebasePoolOptions) => LakebasePool;
} {
  let emulator: Emulator | undefined;
  const pools: LakebasePool[] = [];
  const current = (): Emulator => {
    if (!emulator) throw new Error('the emulator starts in beforeAll');
    return emulator;
  };
  beforeAll(async () => {
    emulator = await startWarmEmulator(options);
  });
  afterAll(async () => {
    await emulator?.stop();
  });
  afterEach(async () => {
    current().workspace.faults.clear();
    current().workspace.loginFaults.clear();
    current().workspace.setTokenTtl(3600);
    await Promise.all(pools.splice(0).map((p) => p.end()));
  });
  return {
    emulator: current,
    pool(env = {}, poolOptions = {}) {
      const created = createLakebasePool({
        env: { ...current().env('provisioned'), ...env },
        logger: { warn: () => {} },
        ...poolOptions,
      });
      pools.push(created);
      return created;
    },
  };
}

/**
 * Collects every token the Databricks API hands out, by wrapping `fetch`. For leak assertions. Each body is read in
 * the background; `collected()` resolves once every body read so far has been (no sleep needed before asserting).
 */
export function tokenCollectingFetch(tokens: Set<string>): typeof fetch & { collected(): Promise<void> } {
  const reading = new Set<Promise<void>>();
  const collecting = async (input: Parameters<typeof fetch>[0], init?: Parameters<typeof fetch>[1]) => {
    const response = await fetch(input, init);
    const copy = response.clone();
    const read: Promise<void> = copy
      .json()
      .then((body: unknown) => {
        if (body && typeof body === 'object') {
          for (const key of ['token', 'access_token']) {
            const value = (body as Record<string, unknown>)[key];
            if (typeof value === 'string') tokens.add(value);
          }
        }
      })
      .catch(() => {})
      .finally(() => reading.delete(read));
    reading.add(read);
    return response;
  };
  return Object.assign(collecting as typeof fetch, {
    collected: async () => {
      await Promise.all([...reading]);
    },
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Run `workers` loops of `select 1` through `pool` until `ms` pass (or `stop()` says so); count successes and collect
 * failures.
 */
export async function runLoad(
  pool: { query(text: string): Promise<unknown> },
  workers: number,
  ms: number,
  stop: () => boolean = () => false,
): Promise<{ ok: number; failed: Error[] }> {
  const until = Date.now() + ms;
  let ok = 0;
  const failed: Error[] = [];
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (Date.now() < until && !stop()) {
        try {
          await pool.query('select 1');
          ok++;
        } catch (error) {
          failed.push(error as Error);
        }
        await sleep(5);
      }
    }),
  );
  return { ok, failed };
}
