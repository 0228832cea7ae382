import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildApp } from '../server/app.js';
import { createTestDatabase, schemaPool, TEST_DATABASE_URL, type TestDatabase, uniqueSchemaName } from './helpers.js';

const ALICE = { 'x-forwarded-email': 'alice@example.com' };

describe('health with a reachable database', () => {
  let database: TestDatabase;
  let app: FastifyInstance;
  const expiresAt = new Date(Date.now() + 3_600_000);

  beforeAll(async () => {
    database = await createTestDatabase();
    app = await buildApp({
      database: {
        configured: true,
        pool: database.pool,
        info: { tier: 'provisioned', instanceName: 'my-instance', database: 'test', user: 'postgres' },
        tokenExpiresAt: () => expiresAt,
      },
      logger: false,
    });
  });
  afterAll(async () => {
    await app?.close();
    await database?.drop();
  });

  it('answers 200 with tier, token expiry and pool counts', async () => {
    const response = await app.inject({ url: '/api/health' });
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body).toMatchObject({
      status: 'ok',
      process: { production: false },
      database: {
        configured: true,
        reachable: true,
        info: { tier: 'provisioned', instanceName: 'my-instance', database: 'test', user: 'postgres' },
        tokenExpiresAt: expiresAt.toISOString(),
        pool: { max: 5 },
      },
    });
    expect(body.database.pool.total).toBeGreaterThanOrEqual(1);
    expect(Number.isInteger(body.database.latencyMs)).toBe(true);
    expect(body.database.error).toBeUndefined();
  });

  it('latencyMs is the time the database took to answer, in ms', async () => {
    // A database that takes 40 ms to answer, on a fake monotonic clock (health times the query with performance.now):
    // the reported latency is exactly those 40 ms, without waiting for them.
    let fakeNow = 1_000;
    const now = vi.spyOn(performance, 'now').mockImplementation(() => fakeNow);
    const pool = database.pool;
    const query = pool.query;
    pool.query = (async (...args: Parameters<pg.Pool['query']>) => {
      fakeNow += 40;
      return (query as (...forwarded: unknown[]) => unknown).apply(pool, args);
    }) as pg.Pool['query'];
    try {
      const response = await app.inject({ url: '/api/health' });
      expect(response.json().database.latencyMs).toBe(40);
    } finally {
      pool.query = query;
      now.mockRestore();
    }
  });
});

describe('health and errors with an unreachable database', () => {
  let pool: pg.Pool;
  let app: FastifyInstance;

  beforeAll(async () => {
    // Port 1 refuses connections; the password must never show up in a response.
    pool = new pg.Pool({
      host: '127.0.0.1',
      port: 1,
      user: 'postgres',
      password: 'super-secret-password',
      connectionTimeoutMillis: 2000,
    });
    app = await buildApp({
      database: { configured: true, pool, info: { tier: 'static', database: 'test' } },
      logger: false,
    });
  });
  afterAll(async () => {
    await app?.close();
    await pool?.end();
  });

  it('answers health 503 naming LAKEBASE_UNAVAILABLE', async () => {
    const response = await app.inject({ url: '/api/health' });
    expect(response.statusCode).toBe(503);
    expect(response.json()).toMatchObject({
      status: 'unavailable',
      database: { configured: true, reachable: false, error: { error_code: 'LAKEBASE_UNAVAILABLE' } },
    });
  });

  it('answers preferences with 503 in the error shape, without stack or secrets', async () => {
    const response = await app.inject({ url: '/api/preferences', headers: ALICE });
    expect(response.statusCode).toBe(503);
    expect(response.json()).toEqual({
      detail: {
        error_code: 'LAKEBASE_UNAVAILABLE',
        message: 'The Lakebase database is not reachable right now.',
        technical_details: {
          error_type: 'ConnectionError',
          suggestion: 'Check GET /api/health and the server log; the database may be starting, stopped or unreachable.',
        },
      },
    });
    expect(response.body).not.toMatch(/super-secret|at .*\.js|ECONNREFUSED/);
  });
});

describe('errors from a database without the schema', () => {
  it('answers 503 LAKEBASE_SCHEMA_MISSING telling to run the migrations', async () => {
    const schema = uniqueSchemaName('app_empty');
    const admin = new pg.Pool({ connectionString: TEST_DATABASE_URL, max: 1 });
    await admin.query(`CREATE SCHEMA "${schema}"`);
    const pool = schemaPool(schema);
    const app = await buildApp({
      database: { configured: true, pool, info: { tier: 'static', database: 'test' } },
      logger: false,
    });
    try {
      const response = await app.inject({ url: '/api/preferences', headers: ALICE });
      expect(response.statusCode).toBe(503);
      expect(response.json().detail).toMatchObject({ error_code: 'LAKEBASE_SCHEMA_MISSING' });
      expect(response.json().detail.technical_details.suggestion).toMatch(/lakebase migrate/);
      expect(response.body).not.toMatch(/select|user_preferences"/i);
    } finally {
      await app.close();
      await pool.end();
      await admin.query(`DROP SCHEMA "${schema}" CASCADE`);
      await admin.end();
    }
  });
});
