import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../server/app.js';

/** The body the original Python template returns, byte for byte. */
const NOT_CONFIGURED_BODY =
  '{"detail":{"error_code":"LAKEBASE_NOT_CONFIGURED","message":"User preferences are not available. Lakebase database is not configured for this deployment.","technical_details":{"error_type":"ConfigurationError","suggestion":"Configure Lakebase resource in databricks.yml or set PGHOST and LAKEBASE_DATABASE environment variables."}}}';

describe('with no database configured', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await buildApp({ database: { configured: false }, production: true, logger: false });
  });
  afterAll(() => app?.close());

  const headers = { 'x-forwarded-email': 'alice@example.com' };

  it.each([
    ['GET', '/api/preferences', undefined],
    ['GET', '/api/preferences/theme', undefined],
    ['PUT', '/api/preferences/theme', { value: 'dark' }],
    ['DELETE', '/api/preferences/theme', undefined],
  ] as const)('%s %s answers 503 with exactly the original body', async (method, url, payload) => {
    const response = await app.inject({ method, url, headers, ...(payload ? { payload } : {}) });
    expect(response.statusCode).toBe(503);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    expect(response.body).toBe(NOT_CONFIGURED_BODY);
  });

  it('still validates input first (400 beats 503)', async () => {
    const response = await app.inject({
      method: 'PUT',
      url: '/api/preferences/bad%20key',
      headers,
      payload: { value: 1 },
    });
    expect(response.statusCode).toBe(400);
  });

  it('reports health 503 with the reason and the suggestion', async () => {
    const response = await app.inject({ url: '/api/health' });
    expect(response.statusCode).toBe(503);
    expect(response.json()).toMatchObject({
      status: 'unavailable',
      process: { production: true },
      database: {
        configured: false,
        reachable: false,
        error: {
          error_code: 'LAKEBASE_NOT_CONFIGURED',
          suggestion:
            'Configure Lakebase resource in databricks.yml or set PGHOST and LAKEBASE_DATABASE environment variables.',
        },
      },
    });
  });

  it('answers /api/me without a database', async () => {
    const response = await app.inject({ url: '/api/me', headers });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ email: 'alice@example.com', source: 'proxy' });
  });
});

describe('local mode identity', () => {
  it('uses the configured dev user when no proxy header is sent, and the header when it is', async () => {
    const app = await buildApp({ database: { configured: false }, devUser: 'me@localhost.dev', logger: false });
    try {
      expect((await app.inject({ url: '/api/me' })).json()).toEqual({ email: 'me@localhost.dev', source: 'dev-user' });
      const proxied = await app.inject({ url: '/api/me', headers: { 'x-forwarded-email': 'bob@example.com' } });
      expect(proxied.json()).toEqual({ email: 'bob@example.com', source: 'proxy' });
    } finally {
      await app.close();
    }
  });
});
