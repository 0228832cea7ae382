/**
 * Every `diagnose()` step is bounded by `stepTimeoutMs`, the workspace steps included: against a workspace that
 * accepts connections and never answers (at SCIM Me, at the endpoint, or only at the credential call), the step that
 * waits fails with `LAKEBASE_API_UNREACHABLE` within the step timeout, not after the REST client's 10 s deadline and
 * its retries, and the stalled request's socket is closed.
 */
import { describe, expect, it } from 'vitest';
import { type DiagnosticStepName, diagnose } from '../src/index.js';
import { diagnoseUser } from '../src/toolkit.js';
import { fakeJwt } from './helpers/http-server.js';
import { STALLING_ENDPOINT_ENV, stallingWorkspacePerTest } from './helpers/stalling-workspace.js';

const ENDPOINT = STALLING_ENDPOINT_ENV.LAKEBASE_ENDPOINT;
const ME = '/api/2.0/preview/scim/v2/Me';
const GET_ENDPOINT = `/api/2.0/postgres/${ENDPOINT}`;
const CREDENTIALS = '/api/2.0/postgres/credentials';
const STEP_TIMEOUT_MS = 300;
/** The workspace settings of every case; DATABRICKS_HOST is the stalling workspace's. */
const env = (host: string) => ({ ...STALLING_ENDPOINT_ENV, DATABRICKS_HOST: host });

const workspace = stallingWorkspacePerTest();

/** Which requests are answered, and which one stalls, for the step that should time out. */
const cases: { step: DiagnosticStepName; answered: string[]; stalls: string }[] = [
  { step: 'auth', answered: [], stalls: ME },
  { step: 'target', answered: [ME], stalls: GET_ENDPOINT },
  { step: 'credential', answered: [ME, GET_ENDPOINT], stalls: CREDENTIALS },
];

describe('diagnose against a workspace that never answers', () => {
  for (const { step, answered, stalls } of cases) {
    it(`the ${step} step fails with LAKEBASE_API_UNREACHABLE (timeout) within stepTimeoutMs`, async () => {
      const answers: Record<string, () => unknown> = {
        [ME]: () => ({ id: '1', userName: 'someone@example.com' }),
        [GET_ENDPOINT]: () => ({
          name: ENDPOINT,
          status: { current_state: 'ACTIVE', hosts: { host: '127.0.0.1' } },
        }),
        [CREDENTIALS]: () => ({
          token: fakeJwt({ sub: 'someone@example.com', exp: Math.floor(Date.now() / 1000) + 3600 }),
          expire_time: new Date(Date.now() + 3_600_000).toISOString(),
        }),
      };
      for (const path of answered) workspace().answers.set(path, answers[path] as () => unknown);

      const report = await diagnose({
        env: env(workspace().url),
        stepTimeoutMs: STEP_TIMEOUT_MS,
      });

      expect(report.ok).toBe(false);
      const failed = report.steps.at(-1);
      expect(report.steps.filter((s) => !s.ok)).toEqual([failed]);
      expect(failed).toMatchObject({ name: step, ok: false, code: 'LAKEBASE_API_UNREACHABLE' });
      // Before: the step waited for the REST deadline (10 s) and its retries, and failed with "timed out after 10000
      // ms" after several requests. Now the step's own timeout ends it, with a single request made.
      expect(failed?.detail).toBe(`The ${step} step did not finish within ${STEP_TIMEOUT_MS} ms (stepTimeoutMs).`);
      expect(failed?.suggestion).toContain('DATABRICKS_HOST');
      // The step's own measurement (it ran until its timer fired; a timer never fires early): the report says it
      // waited the step timeout, not how long the machine took.
      // no-wall-clock: allow (a lower bound around a real timer: load only lengthens it, so it cannot flake)
      expect(failed?.ms).toBeGreaterThanOrEqual(STEP_TIMEOUT_MS - 1);
      // The stalled request was cancelled (its socket closed), not left to its deadline.
      expect(await workspace().closed(stalls)).toBe(true);
      expect(workspace().requests.filter((r) => r.path === stalls)).toHaveLength(1);
    });
  }

  it('diagnoseUser: the user-scope step (the user credential never comes) fails the same way', async () => {
    workspace().answers.set(GET_ENDPOINT, () => ({
      name: ENDPOINT,
      status: { current_state: 'ACTIVE', hosts: { host: '127.0.0.1' } },
    }));
    const report = await diagnoseUser({
      env: env(workspace().url),
      userToken: fakeJwt({ sub: 'user@example.com', exp: Math.floor(Date.now() / 1000) + 3600 }),
      stepTimeoutMs: STEP_TIMEOUT_MS,
      logger: { warn: () => {} },
    });
    expect(report.ok).toBe(false);
    expect(report.steps).toHaveLength(1);
    expect(report.steps[0]).toMatchObject({ name: 'user-scope', ok: false, code: 'LAKEBASE_API_UNREACHABLE' });
    expect(report.steps[0]?.detail).toContain(`within ${STEP_TIMEOUT_MS} ms`);
    expect(workspace().requests.map((r) => r.path)).toEqual([CREDENTIALS]);
    expect(await workspace().closed(CREDENTIALS)).toBe(true);
  });
});
