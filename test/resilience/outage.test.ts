/**
 * Outage: the credential endpoint is down for longer than the token lifetime. Once no usable token is left, queries
 * that need a new connection fail with LAKEBASE_CREDENTIAL_FAILED (never hang, never another error); once the endpoint
 * is back they recover by themselves, at the credential manager's next attempt, with no restart or intervention.
 * The test reads the order of events (failed refreshes, failed queries, the new token), not the clock.
 * Bounded: 2 s tokens, 3 failed queries. Full: 5 s tokens, 20 failed queries.
 */
import { createLakebasePool, isLakebaseError, type LakebasePool } from '@lakebase-kit/client';
import { type Emulator, startEmulator } from '@lakebase-kit/emulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FULL, leakedSecrets, OutputCapture, recordingLogger, sleep, tokenCollectingFetch } from './helpers.js';

const TOKEN_TTL_S = FULL ? 5 : 2;
/** Bound on the wait for the outage to be felt (queries failing once the token is gone); not a wait in itself. */
const OUTAGE_MS = FULL ? 15_000 : 5_000;
/** The credential manager's backoff cap: "one backoff period". */
const MAX_DELAY_MS = 1_000;
const API_RETRY = { maxAttempts: 2, baseDelayMs: 100, maxDelayMs: 200 };

let emulator: Emulator;

beforeAll(async () => {
  emulator = await startEmulator({ tokenTtlSeconds: TOKEN_TTL_S });
});

afterAll(async () => {
  await emulator?.stop();
});

describe(`credential outage longer than the token lifetime (${FULL ? 'full' : 'bounded'})`, () => {
  it('fails with LAKEBASE_CREDENTIAL_FAILED while down, then recovers by itself within one backoff period', async () => {
    const capture = new OutputCapture().start();
    const logLines: string[] = [];
    const minted = new Set<string>();
    let pool: LakebasePool | undefined;
    try {
      pool = createLakebasePool({
        env: emulator.env('provisioned'),
        poolSize: 1,
        maxOverflow: 1,
        // Connections live 1 s, so queries soon need new logins (open sessions outlive tokens, as on Lakebase).
        recycleIntervalSeconds: 1,
        fetch: tokenCollectingFetch(minted),
        apiRetry: API_RETRY,
        credentialOptions: { maxAttempts: 3, baseDelayMs: 200, maxDelayMs: MAX_DELAY_MS },
        logger: recordingLogger(logLines),
      });
      const p = pool;
      expect((await p.query('select 1 as one')).rows[0]?.one).toBe(1);

      // One ordered log of what happened: the test reads the order of events, not the clock.
      const log: string[] = [];
      const credentials = p.lakebase.credentials;
      credentials?.on('token-refresh-failed', () => log.push('refresh-failed'));
      credentials?.on('token-refreshed', () => log.push('refreshed'));
      const queries: Array<{ startedAt: number; ok: boolean; code?: string }> = [];
      let stop = false;
      const loop = (async () => {
        while (!stop) {
          const startedAt = log.length;
          try {
            await p.query('select 1');
            queries.push({ startedAt, ok: true });
            log.push('query-ok');
          } catch (error) {
            const code = (error as { code?: string }).code;
            queries.push({ startedAt, ok: false, ...(code ? { code } : {}) });
            log.push('query-failed');
            if (!isLakebaseError(error, 'LAKEBASE_CREDENTIAL_FAILED')) throw error;
          }
          await sleep(50); // pacing of the load, not a wait for an event
        }
      })();
      /** Waits until `ready()` holds (checked every 50 ms), failing after `ms`: the bound of a real outage. */
      const until = async (ready: () => boolean, ms: number, what: string) => {
        for (let waited = 0; !ready(); waited += 50) {
          if (waited >= ms) throw new Error(`${what} did not happen within ${ms} ms: ${log.slice(-20).join(', ')}`);
          await sleep(50);
        }
      };

      const down = log.push('down') - 1;
      emulator.workspace.faults.failFraction(1, 503);
      // Down for longer than the token lifetime: until queries that need a new login fail (the token is gone).
      const failures = () => queries.filter((q) => !q.ok).length;
      await until(() => failures() >= (FULL ? 20 : 3), OUTAGE_MS * 6, 'the outage being felt');
      const injected = emulator.stats().credentialRequests.failedByInjection;
      emulator.workspace.faults.clear();
      const up = log.push('up') - 1;
      // Recovered by itself: a new token, then several queries started after it.
      const recovered = () => log.indexOf('refreshed', up);
      await until(
        () => recovered() >= 0 && queries.filter((q) => q.startedAt > recovered()).length >= 5,
        30_000,
        'the recovery',
      );
      stop = true;
      await loop;

      const failed = queries.filter((q) => !q.ok);
      const refreshIndex = recovered();
      console.log(
        `[outage] ${JSON.stringify({
          tokenTtlSeconds: TOKEN_TTL_S,
          queries: queries.length,
          failedDuringOutage: failed.length,
          credentialCallsFailedByInjection: injected,
          refreshFailuresAfterUp: log.slice(up, refreshIndex).filter((e) => e === 'refresh-failed').length,
        })}`,
      );

      // While the token is still usable, nothing fails: the first failed query comes after a failed refresh, and every
      // failure is LAKEBASE_CREDENTIAL_FAILED.
      expect(failed.length).toBeGreaterThan(0);
      expect(new Set(failed.map((o) => o.code))).toEqual(new Set(['LAKEBASE_CREDENTIAL_FAILED']));
      expect(log.indexOf('query-failed', down)).toBeGreaterThan(log.indexOf('refresh-failed', down));
      expect(log.indexOf('query-failed')).toBeGreaterThan(down);
      // Self-recovery at the manager's next attempt after the endpoint came back (attempts are spaced by at most its
      // backoff cap, MAX_DELAY_MS): at most the one attempt already in flight failed after 'up'.
      expect(log.slice(up, refreshIndex).filter((e) => e === 'refresh-failed').length).toBeLessThanOrEqual(1);
      // And it stays recovered: every query started after the new token succeeded.
      const tail = queries.filter((q) => q.startedAt > refreshIndex);
      expect(tail.length).toBeGreaterThanOrEqual(5);
      expect(tail.every((o) => o.ok)).toBe(true);
      expect(p.lakebase.credentials?.status().consecutiveFailures).toBe(0);
    } finally {
      await pool?.end();
      capture.stop();
    }
    const secrets = [...minted, emulator.databricksToken, emulator.clientSecret];
    expect(leakedSecrets(`${capture.text}\n${logLines.join('\n')}`, secrets)).toEqual([]);
    // The failures were reported, by code, without the token.
    expect(logLines.some((l) => l.includes('database token refresh failed'))).toBe(true);
  });
});
