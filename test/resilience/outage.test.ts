/**
 * Outage: the credential endpoint is down for longer than the token lifetime. Once no usable token is left, queries
 * that need a new connection fail with LAKEBASE_CREDENTIAL_FAILED (never hang, never another error); once the endpoint
 * is back they recover by themselves, within one backoff period, with no restart or intervention.
 * Bounded: 2 s tokens, 5 s outage. Full: 5 s tokens, 15 s outage.
 */
import { createLakebasePool, isLakebaseError, type LakebasePool } from '@lakebase-kit/client';
import { type Emulator, startEmulator } from '@lakebase-kit/emulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FULL, leakedSecrets, OutputCapture, recordingLogger, sleep, tokenCollectingFetch } from './helpers.js';

const TOKEN_TTL_S = FULL ? 5 : 2;
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

      const outcomes: Array<{ at: number; done: number; ok: boolean; code?: string }> = [];
      let stop = false;
      const loop = (async () => {
        while (!stop) {
          const at = Date.now();
          try {
            await p.query('select 1');
            outcomes.push({ at, done: Date.now(), ok: true });
          } catch (error) {
            outcomes.push({ at, done: Date.now(), ok: false, code: (error as { code?: string }).code });
            if (!isLakebaseError(error, 'LAKEBASE_CREDENTIAL_FAILED')) throw error;
          }
          await sleep(50);
        }
      })();

      const down = Date.now();
      emulator.workspace.faults.failFraction(1, 503);
      await sleep(OUTAGE_MS);
      const injected = emulator.stats().credentialRequests.failedByInjection;
      emulator.workspace.faults.clear();
      const up = Date.now();
      // Give it at most a few backoff periods to show it has recovered (the assertion below is the bound).
      await sleep(MAX_DELAY_MS * 3);
      stop = true;
      await loop;

      const during = outcomes.filter((o) => o.at >= down && o.at < up);
      const failed = during.filter((o) => !o.ok);
      const firstFailure = failed[0];
      const afterUp = outcomes.filter((o) => o.at >= up);
      // Recovery: from the endpoint coming back to the first query that succeeds after it.
      const firstSuccessAfter = outcomes.find((o) => o.ok && o.done >= up);
      const recoveryMs = firstSuccessAfter ? firstSuccessAfter.done - up : Number.POSITIVE_INFINITY;
      console.log(
        `[outage] ${JSON.stringify({
          tokenTtlSeconds: TOKEN_TTL_S,
          outageMs: OUTAGE_MS,
          queriesDuringOutage: during.length,
          failedDuringOutage: failed.length,
          firstFailureAfterMs: firstFailure ? firstFailure.at - down : null,
          credentialCallsFailedByInjection: injected,
          recoveryMs,
          queriesAfter: afterUp.length,
        })}`,
      );

      // While the token is still usable, nothing fails; once it is not, every failure is LAKEBASE_CREDENTIAL_FAILED.
      expect(failed.length).toBeGreaterThan(0);
      expect(new Set(failed.map((o) => o.code))).toEqual(new Set(['LAKEBASE_CREDENTIAL_FAILED']));
      expect(firstFailure?.at).toBeGreaterThan(down + 100);
      // Self-recovery within one backoff period of the endpoint coming back (plus one REST round trip and a query).
      expect(recoveryMs).toBeLessThanOrEqual(MAX_DELAY_MS + API_RETRY.maxDelayMs + 500);
      // And it stays recovered.
      const tail = afterUp.filter((o) => o.at >= up + MAX_DELAY_MS + API_RETRY.maxDelayMs + 500);
      expect(tail.length).toBeGreaterThan(0);
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
