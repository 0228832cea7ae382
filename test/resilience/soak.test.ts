/**
 * Soak: mixed reads and writes through `createLakebasePool` against the emulator (storage: the real PostgreSQL) while
 * tokens rotate every few seconds, the credential endpoint fails (500, 429 with Retry-After, 5 s latency), and pooled
 * connections are killed server-side with `pg_terminate_backend`. Zero lost writes: every acknowledged write is read
 * back at the end; no unhandled error; the pool is fully healthy afterwards; nothing secret is printed.
 * Bounded (npm test): ~8 s with 3 s tokens. Full (RESILIENCE_FULL=1): 60 s with 5 s tokens.
 */
import { createLakebasePool, type LakebasePool, type TokenRefreshedEvent } from '@lakebase-kit/client';
import type { Emulator } from '@lakebase-kit/emulator';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adminClient,
  dropRole,
  FULL,
  killBackends,
  leakedSecrets,
  OutputCapture,
  recordingLogger,
  sleep,
  startUpstreamEmulator,
  tokenCollectingFetch,
  unhandledErrorGuard,
  uniqueSuffix,
} from './helpers.js';

const DURATION_MS = FULL ? 60_000 : 8_000;
const TOKEN_TTL_S = FULL ? 5 : 3;
const KILL_EVERY_MS = FULL ? 4_000 : 2_000;
const FAULT_EVERY_MS = FULL ? 10_000 : 2_500;
const WORKERS = 6;
const POOL = { poolSize: 2, maxOverflow: 2 }; // max 4 connections: the server has 100 slots shared with other files

/** What a query in flight on a killed connection fails with; anything else is a real failure. */
function causedByKill(error: unknown): boolean {
  const e = error as { code?: string; message?: string };
  return (
    e.code === '57P01' ||
    /Connection terminated|terminating connection|not queryable|connection error|ECONNRESET/i.test(e.message ?? '')
  );
}

let emulator: Emulator;
let admin: pg.Client;

beforeAll(async () => {
  emulator = await startUpstreamEmulator({ tokenTtlSeconds: TOKEN_TTL_S });
  admin = await adminClient();
});

afterAll(async () => {
  await emulator?.stop();
  if (admin) {
    await dropRole(admin, emulator.user);
    await admin.end();
  }
});

describe(`soak (${FULL ? 'full, 60 s' : 'bounded, 8 s'})`, () => {
  it(
    'loses no acknowledged write through rotations, credential faults and killed connections',
    async () => {
      const guard = unhandledErrorGuard();
      const capture = new OutputCapture().start();
      const logLines: string[] = [];
      const minted = new Set<string>();
      let pool: LakebasePool | undefined;
      try {
        pool = createLakebasePool({
          env: emulator.env('autoscaling'),
          ...POOL,
          recycleIntervalSeconds: 2,
          fetch: tokenCollectingFetch(minted),
          logger: recordingLogger(logLines),
        });
        const p = pool;
        const rotations: TokenRefreshedEvent[] = [];
        p.lakebase.credentials?.on('token-refreshed', (e: TokenRefreshedEvent) => rotations.push(e));
        const table = `soak_${uniqueSuffix()}`;
        await p.query(`create table ${table} (id bigint primary key, worker int not null, payload text not null)`);

        const acknowledged: number[] = [];
        const failures: unknown[] = [];
        const lostDuringRun: number[] = [];
        let reads = 0;
        let nextId = 1;
        let kills = 0;
        let killRounds = 0;
        const faultsInjected = { status500: 0, status429: 0, latencyPhases: 0 };
        const before = emulator.stats();
        const until = Date.now() + DURATION_MS;

        const workers = Array.from({ length: WORKERS }, async (_, worker) => {
          while (Date.now() < until) {
            try {
              if (Math.random() < 0.5 || acknowledged.length === 0) {
                const id = nextId++;
                await p.query(`insert into ${table} (id, worker, payload) values ($1, $2, $3)`, [id, worker, `w${id}`]);
                acknowledged.push(id);
              } else {
                const id = acknowledged[Math.floor(Math.random() * acknowledged.length)] as number;
                const { rowCount } = await p.query(`select 1 from ${table} where id = $1`, [id]);
                reads++;
                if (rowCount !== 1) lostDuringRun.push(id);
              }
            } catch (error) {
              failures.push(error);
            }
          }
        });

        const chaos = (async () => {
          let nextKill = Date.now() + KILL_EVERY_MS / 2;
          let nextFault = Date.now() + FAULT_EVERY_MS / 4;
          let faultStep = 0;
          while (Date.now() < until - 500) {
            if (Date.now() >= nextKill) {
              kills += await killBackends(admin, emulator.user);
              killRounds++;
              nextKill += KILL_EVERY_MS;
            }
            if (Date.now() >= nextFault) {
              const step = faultStep++ % 3;
              if (step === 0) {
                emulator.workspace.faults.failNext(2, 500);
                faultsInjected.status500 += 2;
              } else if (step === 1) {
                emulator.workspace.faults.failNext(1, 429, { retryAfterSeconds: 1 });
                faultsInjected.status429 += 1;
              } else {
                // The next credential calls take 5 s (longer than the refresh margin of a 3 s token); back to normal
                // before the next step.
                emulator.workspace.faults.setLatency(5_000);
                faultsInjected.latencyPhases++;
                setTimeout(() => emulator.workspace.faults.setLatency(0), 1_000).unref();
              }
              nextFault += FAULT_EVERY_MS;
            }
            await sleep(50);
          }
        })();

        await Promise.all([...workers, chaos]);
        emulator.workspace.faults.clear();

        // Health after: every connection slot serves a query, the token is valid, nothing is waiting.
        const max = p.options.max ?? 0;
        const health = await Promise.all(Array.from({ length: max * 2 }, () => p.query('select 1 as one')));
        expect(health.every((r) => r.rows[0]?.one === 1)).toBe(true);
        expect(p.waitingCount).toBe(0);
        expect(p.totalCount).toBeLessThanOrEqual(max);
        const status = p.lakebase.credentials?.status();
        expect(status?.consecutiveFailures).toBe(0);
        expect(status?.expiresAt?.getTime()).toBeGreaterThan(Date.now());

        // Zero lost writes.
        const { rows } = await p.query(`select id from ${table}`);
        const stored = new Set(rows.map((r: { id: string }) => Number(r.id)));
        const lost = acknowledged.filter((id) => !stored.has(id));
        const stats = emulator.stats();
        const credentialRequests = stats.credentialRequests.total - before.credentialRequests.total;
        const injected = stats.credentialRequests.failedByInjection - before.credentialRequests.failedByInjection;
        const unexplained = failures.filter((f) => !causedByKill(f));
        const summary = {
          durationMs: DURATION_MS,
          tokenTtlSeconds: TOKEN_TTL_S,
          writesAcknowledged: acknowledged.length,
          writesReadBack: acknowledged.length - lost.length,
          reads,
          failedQueries: failures.length,
          failedNotByKill: unexplained.length,
          rotations: rotations.length,
          credentialRequests,
          credentialFailuresInjected: injected,
          latencyPhases: faultsInjected.latencyPhases,
          killRounds,
          backendsKilled: kills,
          authRetries: p.authRetryCount,
        };
        console.log(`[soak] ${JSON.stringify(summary)}`);
        await p.query(`drop table ${table}`);

        expect(lost).toEqual([]);
        expect(lostDuringRun).toEqual([]);
        expect(unexplained.map((e) => (e as Error).message)).toEqual([]);
        // A kill can fail at most the one query in flight on each killed connection.
        expect(failures.length).toBeLessThanOrEqual(kills);
        expect(acknowledged.length).toBeGreaterThan(FULL ? 5_000 : 500);
        expect(killRounds).toBeGreaterThanOrEqual(FULL ? 10 : 3);
        expect(kills).toBeGreaterThan(0);
        expect(injected).toBeGreaterThanOrEqual(2);
        expect(rotations.length).toBeGreaterThanOrEqual(Math.floor(DURATION_MS / 1000 / TOKEN_TTL_S));
        expect(guard.errors).toEqual([]);
      } finally {
        await pool?.end();
        capture.stop();
        guard.uninstall();
      }
      const secrets = [...minted, emulator.databricksToken, emulator.clientSecret];
      expect(minted.size).toBeGreaterThan(2);
      expect(leakedSecrets(`${capture.text}\n${logLines.join('\n')}`, secrets)).toEqual([]);
    },
    FULL ? 120_000 : 30_000,
  );
});
