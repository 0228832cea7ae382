import { describe, expect, it, vi } from 'vitest';
import { FaultInjector } from '../../src/workspace/login/faults.js';
import { type CallInit, startWorkspace } from './helpers.js';

const PROVISIONED = '/api/2.0/database/credentials';
const AUTOSCALING = '/api/2.0/postgres/credentials';

async function setup(listen = false) {
  const raw = await startWorkspace({}, { listen });
  // Admin calls carry the header a browser cannot send cross-origin; the refusal tests below call without it.
  const f = {
    ...raw,
    call: (method: string, url: string, init: CallInit = {}) =>
      raw.call(method, url, { ...init, headers: { 'x-lakebase-emulator': '1', ...init.headers } }),
  };
  const api = f.as(f.ws.user.pat);
  const provisioned = () => api('POST', PROVISIONED, { instance_names: [f.ws.instanceName] });
  const autoscaling = () => api('POST', AUTOSCALING, { endpoint: f.ws.endpointName });
  return { f, api, provisioned, autoscaling };
}

describe('credential fault injection', () => {
  it('failNext fails the next calls on both endpoints with the standard 503 body, then recovers', async () => {
    const { f, provisioned, autoscaling } = await setup(true);
    f.ws.faults.failNext(2, 503);
    const first = await provisioned();
    expect(first.status).toBe(503);
    expect(first.json).toEqual({ error_code: 'TEMPORARILY_UNAVAILABLE', message: expect.any(String) });
    expect(first.headers['retry-after']).toBeUndefined();
    expect((await autoscaling()).status).toBe(503);
    expect((await provisioned()).status).toBe(200);
    expect(f.ws.stats().credentialRequests).toEqual({ provisioned: 2, autoscaling: 1, total: 3, failedByInjection: 2 });
  });

  it('answers 429 REQUEST_LIMIT_EXCEEDED with Retry-After (default 1 s)', async () => {
    const { f, provisioned, autoscaling } = await setup(true);
    f.ws.faults.failNext(1, 429, { retryAfterSeconds: 7 });
    f.ws.faults.failNext(1, 429);
    const explicit = await provisioned();
    expect(explicit.status).toBe(429);
    expect(explicit.json).toEqual({ error_code: 'REQUEST_LIMIT_EXCEEDED', message: expect.any(String) });
    expect(explicit.headers['retry-after']).toBe('7');
    const defaulted = await autoscaling();
    expect(defaulted.status).toBe(429);
    expect(defaulted.headers['retry-after']).toBe('1');
  });

  it('answers 500 INTERNAL_ERROR', async () => {
    const { f, provisioned } = await setup();
    f.ws.faults.failNext(1, 500);
    const response = await provisioned();
    expect(response.status).toBe(500);
    expect(response.json.error_code).toBe('INTERNAL_ERROR');
  });

  it('injects before validation, so even a bad request consumes a failure', async () => {
    const { f, api } = await setup();
    f.ws.faults.failNext(1, 503);
    expect((await api('POST', PROVISIONED, {})).status).toBe(503);
    expect((await api('POST', PROVISIONED, {})).status).toBe(400);
  });

  it('failFraction fails calls whose random roll falls under the fraction', () => {
    const rolls = [0.1, 0.9, 0.29, 0.31];
    const injector = new FaultInjector(() => rolls.shift() ?? 0.99);
    injector.failFraction(0.3, 500);
    const outcomes = Array.from({ length: 5 }, () => injector.nextFailure()?.statusCode ?? 200);
    expect(outcomes).toEqual([500, 200, 500, 200, 200]);
  });

  it('failFraction 1 fails every call and 0 none, over HTTP', async () => {
    const { f, provisioned, autoscaling } = await setup();
    f.ws.faults.failFraction(1, 503);
    expect((await provisioned()).status).toBe(503);
    expect((await autoscaling()).status).toBe(503);
    f.ws.faults.failFraction(0, 503);
    expect((await provisioned()).status).toBe(200);
    expect(f.ws.stats().credentialRequests.failedByInjection).toBe(2);
  });

  it('setLatency delays every credential response, failures included; clear removes everything', async () => {
    const { f, provisioned, autoscaling } = await setup();
    // On fake timers: a response has not come 1 ms before the latency has passed, and has come once it has.
    const delay = vi.spyOn(f.ws.faults as FaultInjector, 'delay'); // passes through: only tells when a request reached it
    const answeredAfter = async (call: () => Promise<{ status: number }>, ms: number) => {
      let status: number | undefined;
      const reached = delay.mock.calls.length + 1;
      const done = call().then((r) => {
        status = r.status;
      });
      if (ms > 0) {
        // The latency timer is set once the request reached the route (after its async auth). Not vi.waitFor: on fake
        // timers it advances the clock while it polls.
        for (let turn = 0; turn < 10_000 && delay.mock.calls.length < reached; turn++)
          await new Promise((resolve) => setImmediate(resolve));
        expect(delay.mock.calls.length).toBe(reached);
        await vi.advanceTimersByTimeAsync(ms - 1);
        expect(status).toBeUndefined();
      }
      await vi.advanceTimersByTimeAsync(1);
      await done;
      return status;
    };
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      f.ws.faults.setLatency(80);
      expect(await answeredAfter(autoscaling, 80)).toBe(200);

      f.ws.faults.failNext(1, 503);
      expect(await answeredAfter(provisioned, 80)).toBe(503);

      f.ws.faults.failNext(3, 503);
      f.ws.faults.failFraction(1, 500);
      f.ws.faults.clear();
      expect(await answeredAfter(provisioned, 0)).toBe(200);
    } finally {
      vi.useRealTimers();
    }
  });

  it('rejects nonsense knob values', async () => {
    const { f } = await setup();
    expect(() => f.ws.faults.failNext(1, 404 as 500)).toThrow(RangeError);
    expect(() => f.ws.faults.failFraction(1.5, 500)).toThrow(RangeError);
    expect(() => f.ws.faults.setLatency(-1)).toThrow(RangeError);
    expect(() => f.ws.setTokenTtl(0)).toThrow(RangeError);
  });
});

describe('/__emulator admin routes', () => {
  it('serves stats', async () => {
    const { f, provisioned } = await setup(true);
    await provisioned();
    const stats = await f.call('GET', '/__emulator/stats');
    expect(stats.status).toBe(200);
    expect(stats.json).toEqual({
      credentialRequests: { provisioned: 1, autoscaling: 0, total: 1, failedByInjection: 0 },
      oauthTokensIssued: 0,
      logins: { attempted: 0, succeeded: 0, refused: 0, failedByInjection: 0 },
      telemetryReports: 0,
      unknownEndpoints: { total: 0, calls: [] },
    });
  });

  it('sets faults, latency and clears them', async () => {
    const { f, provisioned } = await setup(true);
    const set = await f.call('POST', '/__emulator/faults', {
      body: { failNext: { count: 1, status: 429, retryAfterSeconds: 3 }, latencyMs: 0 },
    });
    expect(set.status).toBe(200);
    const limited = await provisioned();
    expect(limited.status).toBe(429);
    expect(limited.headers['retry-after']).toBe('3');

    await f.call('POST', '/__emulator/faults', { body: { failFraction: { fraction: 1, status: 503 } } });
    expect((await provisioned()).status).toBe(503);
    await f.call('POST', '/__emulator/faults', { body: { clear: true } });
    expect((await provisioned()).status).toBe(200);

    const bad = await f.call('POST', '/__emulator/faults', { body: { failNext: { count: 1, status: 404 } } });
    expect(bad.status).toBe(400);
    expect(bad.json.error_code).toBe('INVALID_PARAMETER_VALUE');
  });

  it('sets and clears login faults', async () => {
    const { f } = await setup(true);
    const user = f.ws.user.userName;
    const instance = { kind: 'instance' as const, name: f.ws.instanceName };
    const token = (await f.ws.mintDatabaseToken(user, [instance])).token;
    const login = () =>
      f.ws.authorizeLogin({ serverName: undefined, user, database: 'databricks_postgres', password: token });
    const set = await f.call('POST', '/__emulator/login-faults', { body: { failNext: { count: 2, kind: 'reset' } } });
    expect(set.status).toBe(200);
    expect(await login()).toMatchObject({ ok: false, disconnect: true });
    await f.call('POST', '/__emulator/login-faults', { body: { clear: true, failForMs: { ms: 60_000 } } });
    expect(await login()).toMatchObject({ ok: false, sqlstate: 'XX000' });
    await f.call('POST', '/__emulator/login-faults', { body: { clear: true } });
    expect((await login()).ok).toBe(true);
    const bad = await f.call('POST', '/__emulator/login-faults', { body: { failNext: { count: 1, kind: 'flaky' } } });
    expect(bad.status).toBe(400);
  });

  it('forces instance state and token TTL', async () => {
    const { f, api } = await setup(true);
    const name = f.ws.instanceName;
    const state = await f.call('POST', `/__emulator/instances/${name}/state`, { body: { state: 'STOPPED' } });
    expect(state.status).toBe(200);
    expect((await api('GET', `/api/2.0/database/instances/${name}`)).json.state).toBe('STOPPED');
    const endpointPath = `/__emulator/instances/${encodeURIComponent(f.ws.endpointName)}/state`;
    expect((await f.call('POST', endpointPath, { body: { state: 'STOPPED' } })).status).toBe(200);
    expect((await api('GET', `/api/2.0/postgres/${f.ws.endpointName}`)).json.status.disabled).toBe(true);

    expect((await f.call('POST', '/__emulator/instances/ghost/state', { body: { state: 'STOPPED' } })).status).toBe(
      404,
    );
    expect((await f.call('POST', `/__emulator/instances/${name}/state`, { body: { state: 'ON' } })).status).toBe(400);

    expect((await f.call('POST', '/__emulator/token-ttl', { body: { seconds: 42 } })).status).toBe(200);
    const minted = await api('POST', '/api/2.0/database/credentials', { instance_names: [name] });
    expect(minted.json.expiration_time).toBe('2026-01-01T00:00:42.000Z');
    expect((await f.call('POST', '/__emulator/token-ttl', { body: { seconds: 0 } })).status).toBe(400);
  });

  it('refuses what a web page in the browser can send: forms, text bodies, calls without the header', async () => {
    const { f, api, provisioned } = await setup(true);
    const name = f.ws.instanceName;
    const url = `/__emulator/instances/${name}/state`;
    // A cross-site form POST (no custom header possible) and a "simple" fetch with a text body.
    const form = await f.call('POST', url, {
      body: 'state=STOPPED',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-lakebase-emulator': '' },
    });
    expect(form.status).toBe(403);
    const text = await f.call('POST', '/__emulator/token-ttl', {
      body: '{"seconds":1}',
      headers: { 'content-type': 'text/plain' },
    });
    expect(text.status).toBe(415);
    const formWithHeader = await f.call('POST', url, {
      body: 'state=STOPPED',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(formWithHeader.status).toBe(415);
    const jsonWithoutHeader = await f.call('POST', '/__emulator/token-ttl', {
      body: { seconds: 1 },
      headers: { 'x-lakebase-emulator': '' },
    });
    expect(jsonWithoutHeader.status).toBe(403);
    expect(jsonWithoutHeader.json.message).toContain('x-lakebase-emulator');
    // Nothing changed.
    expect((await api('GET', `/api/2.0/database/instances/${name}`)).json.state).toBe('AVAILABLE');
    expect((await provisioned()).json.expiration_time).toBe('2026-01-01T01:00:00.000Z'); // TTL still 3600 s

    // No CORS preflight is answered, so a browser never sends the real request.
    const preflight = await fetch(`${f.base}/__emulator/token-ttl`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://evil.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type, x-lakebase-emulator',
      },
    });
    expect(preflight.ok).toBe(false);
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    expect(preflight.headers.get('access-control-allow-headers')).toBeNull();
  });

  it('refuses non-loopback clients', async () => {
    const { f } = await setup();
    const response = await f.app.inject({
      method: 'GET',
      url: '/__emulator/stats',
      remoteAddress: '10.1.2.3',
      headers: { 'x-lakebase-emulator': '1' },
    });
    expect(response.statusCode).toBe(403);
    expect(response.json().error_code).toBe('PERMISSION_DENIED');
  });
});
