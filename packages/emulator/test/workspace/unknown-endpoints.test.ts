import { describe, expect, it } from 'vitest';
import { UNKNOWN_ENDPOINTS_LISTED } from '../../src/workspace/types.js';
import { startWorkspace } from './helpers.js';

const ADMIN = { 'x-lakebase-emulator': '1' };

describe('unknown endpoints', () => {
  it('answer 404 ENDPOINT_NOT_FOUND and are counted and listed in /__emulator/stats, most called first', async () => {
    const f = await startWorkspace({}, { listen: true });
    const pat = f.ws.user.pat;
    const jobs = await f.call('GET', '/api/2.1/jobs/list?limit=5', { token: pat });
    expect(jobs.status).toBe(404);
    expect(jobs.json).toEqual({
      error_code: 'ENDPOINT_NOT_FOUND',
      message: "No API found for 'GET /api/2.1/jobs/list'",
    });
    await f.call('GET', '/api/2.1/jobs/list', { token: pat });
    // A known path with a method it does not serve is an unknown endpoint too.
    const wrongMethod = await f.call('DELETE', '/api/2.0/database/credentials', { token: pat });
    expect(wrongMethod.status).toBe(404);
    expect(wrongMethod.json.error_code).toBe('ENDPOINT_NOT_FOUND');

    const stats = await f.call('GET', '/__emulator/stats', { headers: ADMIN });
    expect(stats.status).toBe(200);
    expect(stats.json.unknownEndpoints).toEqual({
      total: 3,
      calls: [
        { method: 'GET', path: '/api/2.1/jobs/list', count: 2 },
        { method: 'DELETE', path: '/api/2.0/database/credentials', count: 1 },
      ],
    });
    // Implemented calls are not listed.
    expect((await f.call('GET', '/api/2.0/preview/scim/v2/Me', { token: pat })).status).toBe(200);
    expect(f.ws.stats().unknownEndpoints.total).toBe(3);
  });

  it('lists a bounded number of distinct paths but counts every call', async () => {
    const f = await startWorkspace();
    for (let i = 0; i < UNKNOWN_ENDPOINTS_LISTED + 5; i++) await f.call('GET', `/scan/${i}`);
    const { unknownEndpoints } = f.ws.stats();
    expect(unknownEndpoints.total).toBe(UNKNOWN_ENDPOINTS_LISTED + 5);
    expect(unknownEndpoints.calls).toHaveLength(UNKNOWN_ENDPOINTS_LISTED);
  });
});

describe('POST /telemetry-ext', () => {
  it('answers 200 with every entry accepted, counts the report and lists nothing as unknown', async () => {
    const f = await startWorkspace({}, { listen: true });
    const report = await f.call('POST', '/telemetry-ext', {
      token: f.ws.user.pat,
      body: { uploadTime: Date.now(), items: [], protoLogs: ['{"entry":1}', '{"entry":2}'] },
    });
    expect(report.status).toBe(200);
    expect(report.json).toEqual({ errors: [], numSuccess: 0, numProtoSuccess: 2, numRealtimeSuccess: 0 });
    // Bodiless, without a token: still accepted (drivers report before and without auth too).
    expect((await f.call('POST', '/telemetry-ext')).status).toBe(200);
    const stats = f.ws.stats();
    expect(stats.telemetryReports).toBe(2);
    expect(stats.unknownEndpoints.total).toBe(0);
  });
});
