import { createLakebasePool } from '@lakebase-kit/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../src/index.js';
import { connectFrontDoor, frontDoorConfig } from './clients.js';

/**
 * Computes: endpoint settings through `PATCH` (checked against Lakebase's sizes), scale to zero after the suspend
 * timeout on the workspace clock, `POST /__emulator/endpoints/suspend`, and the wake: the first logins are refused
 * with 57P03 "the database system is starting up", then the endpoint is ACTIVE; the pool retries through it.
 */
describe('endpoint computes and scale to zero', () => {
  let emulator: Emulator;
  // The workspace clock runs with real time (tokens the pool mints must be valid) plus what a test moves it on by.
  let skippedMs = 0;

  beforeAll(async () => {
    emulator = await startEmulator({ now: () => Date.now() + skippedMs, onNotice: () => {} });
  });
  afterAll(async () => {
    await emulator?.stop();
  });

  async function api(method: string, path: string, body?: unknown) {
    const response = await fetch(`${emulator.databricksHost}/api/2.0/postgres/${path}`, {
      method,
      headers: { authorization: `Bearer ${emulator.databricksToken}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    // biome-ignore lint/suspicious/noExplicitAny: test assertions read arbitrary JSON
    return { status: response.status, json: (await response.json()) as Record<string, any> };
  }
  async function suspend(wakeMs?: number) {
    const response = await fetch(`${emulator.databricksHost}/__emulator/endpoints/suspend`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-lakebase-emulator': '1' },
      body: JSON.stringify({ endpoint: emulator.endpoint, ...(wakeMs === undefined ? {} : { wakeMs }) }),
    });
    expect(response.status).toBe(200);
    return (await response.json()) as { status: { current_state: string } };
  }
  const state = async () => (await api('GET', emulator.endpoint)).json.status.current_state as string;
  async function login(): Promise<string | undefined> {
    const { token } = await emulator.workspace.mintDatabaseToken(emulator.user, [
      { kind: 'endpoint', name: emulator.endpoint },
    ]);
    return connectFrontDoor(frontDoorConfig(emulator, { password: token })).then(
      async (client) => {
        await client.end();
        return undefined;
      },
      (error: { code?: string; message?: string }) => `${error.code} ${error.message}`,
    );
  }

  it('updates min/max CU and the suspend timeout with an update_mask; refuses sizes outside Lakebase’s rules', async () => {
    const mask = 'spec.autoscaling_limit_min_cu,spec.autoscaling_limit_max_cu,spec.suspend_timeout_duration';
    const updated = await api('PATCH', `${emulator.endpoint}?update_mask=${mask}`, {
      spec: { autoscaling_limit_min_cu: 0.5, autoscaling_limit_max_cu: 4, suspend_timeout_duration: '300s' },
    });
    expect(updated.status).toBe(200);
    expect(updated.json.done).toBe(true);
    expect(updated.json.response.status).toMatchObject({
      autoscaling_limit_min_cu: 0.5,
      autoscaling_limit_max_cu: 4,
      suspend_timeout_duration: '300s',
    });
    for (const spec of [
      { autoscaling_limit_min_cu: 1, autoscaling_limit_max_cu: 16 }, // spread 15 > 8
      { autoscaling_limit_min_cu: 0.25, autoscaling_limit_max_cu: 1 },
      { autoscaling_limit_min_cu: 4, autoscaling_limit_max_cu: 20 }, // 20 is not a size
      { autoscaling_limit_min_cu: 32, autoscaling_limit_max_cu: 36 },
    ]) {
      const refused = await api(
        'PATCH',
        `${emulator.endpoint}?update_mask=spec.autoscaling_limit_min_cu,spec.autoscaling_limit_max_cu`,
        { spec },
      );
      expect(refused.status).toBe(400);
      expect(refused.json.error_code).toBe('INVALID_PARAMETER_VALUE');
    }
    const noMask = await api('PATCH', emulator.endpoint, { spec: { autoscaling_limit_min_cu: 1 } });
    expect(noMask.status).toBe(400);
    const short = await api('PATCH', `${emulator.endpoint}?update_mask=spec.suspend_timeout_duration`, {
      spec: { suspend_timeout_duration: '59s' },
    });
    expect(short.status).toBe(400);
  });

  it('an endpoint idle longer than its suspend timeout is IDLE; the next login wakes it after transient 57P03s', async () => {
    expect(await login()).toBeUndefined();
    expect(await state()).toBe('ACTIVE');
    skippedMs += 299_000;
    expect(await state()).toBe('ACTIVE');
    skippedMs += 2_000;
    expect(await state()).toBe('IDLE');
    const refusedBefore = emulator.stats().logins.refused;
    expect(await login()).toBe('57P03 the database system is starting up');
    let attempts = 1;
    for (;;) {
      const outcome = await login();
      attempts++;
      if (outcome === undefined) break;
      expect(outcome).toBe('57P03 the database system is starting up');
      expect(attempts).toBeLessThan(200);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(await state()).toBe('ACTIVE');
    expect(emulator.stats().logins.refused - refusedBefore).toBe(attempts - 1);
  });

  it('no_suspension keeps it awake however long it idles', async () => {
    const updated = await api('PATCH', `${emulator.endpoint}?update_mask=spec.no_suspension`, {
      spec: { no_suspension: true },
    });
    expect(updated.status).toBe(200);
    expect(updated.json.response.status.no_suspension).toBe(true);
    skippedMs += 30 * 86_400_000;
    expect(await state()).toBe('ACTIVE');
    expect(await login()).toBeUndefined();
  });

  it('POST /__emulator/endpoints/suspend suspends at once; the pool hides the wake from the app', async () => {
    expect((await suspend(400)).status.current_state).toBe('IDLE');
    const refusedBefore = emulator.stats().logins.refused;
    const pool = createLakebasePool({
      env: emulator.env('autoscaling'),
      connectRetry: { baseDelayMs: 50, maxDelayMs: 200 },
    });
    try {
      const { rows } = await pool.query('select 1 as one').catch((e: Error & { code?: string }) => {
        throw new Error(`pool query failed: ${e.code} ${e.message}`);
      });
      expect(rows[0].one).toBe(1);
      expect(pool.transientRetryCount).toBeGreaterThan(0);
    } finally {
      await pool.end();
    }
    expect(emulator.stats().logins.refused - refusedBefore).toBeGreaterThan(0);
    expect(await state()).toBe('ACTIVE');
  });
});
