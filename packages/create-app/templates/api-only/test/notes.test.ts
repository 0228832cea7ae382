import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { type Database, openDatabase } from '../src/database.js';

describe('the API on the embedded emulator', () => {
  let dir: string;
  let database: Database;
  let app: FastifyInstance;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'lakebase-api-test-'));
    // Nothing configured: openDatabase starts the emulator, connects through the client and migrates.
    database = await openDatabase({}, path.join(dir, 'emulator'));
    app = buildApp(database.pool);
  });
  afterAll(async () => {
    await app?.close();
    await database?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('reports the database reachable', async () => {
    const response = await app.inject({ method: 'GET', url: '/api/health' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ok', database: { reachable: true } });
  });

  it('stores a note and lists it', async () => {
    const created = await app.inject({ method: 'POST', url: '/api/notes', payload: { body: 'hello' } });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({ body: 'hello' });
    const listed = await app.inject({ method: 'GET', url: '/api/notes' });
    expect(listed.json()).toEqual([expect.objectContaining({ id: created.json().id, body: 'hello' })]);
  });

  it('refuses an empty note', async () => {
    const response = await app.inject({ method: 'POST', url: '/api/notes', payload: { body: '' } });
    expect(response.statusCode).toBe(400);
  });
});
