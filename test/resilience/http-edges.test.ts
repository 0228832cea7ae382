/**
 * HTTP requests no client library would send, as raw bytes over real sockets, against every HTTP listener we ship: the
 * emulator's workspace API (HTTP and HTTPS) and the app. Each gets a 4xx in its server's own error shape (the
 * Databricks body `{error_code, message}` for the emulator, `{detail: {...}}` for the app), never Fastify's or Node's
 * default answer, and a request that breaks HTTP/1.1's Host rule (RFC 9112 3.2: exactly one) is refused, not served.
 */
import { readFileSync } from 'node:fs';
import { type Emulator, startEmulator } from '@lakebase-kit/emulator';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../app/server/app.js';
import { type RawResponse, rawRequest } from './raw-http.js';

interface Target {
  name: string;
  port: () => number;
  ca?: () => string;
  /** A route that takes a JSON body, its method, and the headers it needs to get past authentication. */
  json: { method: string; path: string; auth: () => string };
  /** A GET route that exists. */
  get: string;
  /** A path whose last segment is a route parameter (for the malformed percent-encoding). */
  prefix: string;
  /** Asserts the server's own error shape and returns its error code. */
  shape: (response: RawResponse) => string;
}

let emulator: Emulator;
let app: FastifyInstance;
let appPort: number;

beforeAll(async () => {
  emulator = await startEmulator({ storage: 'pglite', onNotice: () => {} });
  app = await buildApp({ database: { configured: false }, logger: false });
  await app.listen({ host: '127.0.0.1', port: 0 });
  appPort = (app.server.address() as { port: number }).port;
});
afterAll(async () => {
  await app?.close();
  await emulator?.stop();
});

/** The Databricks error body: exactly `error_code` (a string) and `message`, as JSON. */
function databricksShape(response: RawResponse): string {
  expect(response.headers).toMatch(/\r\ncontent-type: application\/json/i);
  const body = JSON.parse(response.body) as Record<string, unknown>;
  expect(Object.keys(body).sort()).toEqual(['error_code', 'message']);
  expect(typeof body.error_code).toBe('string');
  expect(body.message).toEqual(expect.any(String));
  expect((body.message as string).length).toBeGreaterThan(0);
  expect((body.message as string).length).toBeLessThan(1_000);
  return body.error_code as string;
}

/** The app's error body (app/server/errors.ts). */
function appShape(response: RawResponse): string {
  expect(response.headers).toMatch(/\r\ncontent-type: application\/json/i);
  const body = JSON.parse(response.body) as { detail: Record<string, unknown> };
  expect(Object.keys(body)).toEqual(['detail']);
  expect(body.detail).toMatchObject({
    error_code: expect.any(String),
    message: expect.any(String),
    technical_details: { error_type: expect.any(String), suggestion: expect.any(String) },
  });
  expect((body.detail.message as string).length).toBeLessThan(1_000);
  return body.detail.error_code as string;
}

const emulatorJson = {
  method: 'POST',
  path: '/api/2.0/postgres/credentials',
  auth: () => `Authorization: Bearer ${emulator.databricksToken}\r\n`,
};
const targets: Target[] = [
  {
    name: 'emulator workspace API (HTTP)',
    port: () => emulator.apiPort,
    json: emulatorJson,
    get: '/api/2.0/preview/scim/v2/Me',
    prefix: '/api/2.0/postgres/',
    shape: databricksShape,
  },
  {
    name: 'emulator workspace API (HTTPS)',
    port: () => emulator.apiTlsPort,
    ca: () => readFileSync(emulator.caFile, 'utf8'),
    json: emulatorJson,
    get: '/api/2.0/preview/scim/v2/Me',
    prefix: '/api/2.0/postgres/',
    shape: databricksShape,
  },
  {
    name: 'app',
    port: () => appPort,
    json: { method: 'PUT', path: '/api/preferences/theme', auth: () => '' },
    get: '/api/me',
    prefix: '/api/preferences/',
    shape: appShape,
  },
];

describe.each(targets)('$name', (target) => {
  const send = (request: string) =>
    rawRequest(target.port(), request, target.ca ? { ca: target.ca(), servername: 'localhost' } : {});
  const withBody = (contentType: string | undefined, body: string) =>
    `${target.json.method} ${target.json.path} HTTP/1.1\r\nHost: localhost\r\n${target.json.auth()}` +
    `${contentType ? `Content-Type: ${contentType}\r\n` : ''}Content-Length: ${Buffer.byteLength(body)}\r\n` +
    `Connection: close\r\n\r\n${body}`;

  it('a well-formed request is served (the control case)', async () => {
    const auth = target.json.auth();
    const response = await send(`GET ${target.get} HTTP/1.1\r\nHost: localhost\r\n${auth}Connection: close\r\n\r\n`);
    expect(response.status).toBe(200);
  });

  it('a malformed percent-encoding in the path: 400 in the error shape', async () => {
    const response = await send(
      `GET ${target.prefix}%E0%A4%A HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`,
    );
    expect(response.status).toBe(400);
    target.shape(response);
  });

  it('HTTP/1.1 without a Host header: 400 in the error shape', async () => {
    const response = await send(`GET ${target.get} HTTP/1.1\r\n${target.json.auth()}Connection: close\r\n\r\n`);
    expect(response.status).toBe(400);
    target.shape(response);
  });

  it('two Host headers (different or the same): 400 in the error shape, not served', async () => {
    for (const second of ['evil.example', 'localhost']) {
      const response = await send(
        `GET ${target.get} HTTP/1.1\r\nHost: localhost\r\nHost: ${second}\r\n${target.json.auth()}Connection: close\r\n\r\n`,
      );
      expect(response.status, second).toBe(400);
      target.shape(response);
    }
  });

  it('a URL past the header limit: 431 in the error shape; a long one within it: 404 in the error shape', async () => {
    const over = await send(`GET /${'a'.repeat(20_000)} HTTP/1.1\r\nHost: localhost\r\n\r\n`);
    expect(over.status).toBe(431);
    target.shape(over);
    const long = await send(
      `GET ${target.prefix}x/${'b'.repeat(8_000)} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`,
    );
    expect(long.status).toBe(404);
    target.shape(long);
  });

  it('a body that is not JSON, or not declared as JSON: 400 / 415 in the error shape', async () => {
    const malformed = await send(withBody('application/json', '{"endpoint":'));
    expect(malformed.status).toBe(400);
    target.shape(malformed);
    const notJson = await send(withBody('application/json', 'endpoint=x&value=1'));
    expect(notJson.status).toBe(400);
    target.shape(notJson);
    const plain = await send(withBody('text/plain', '{"value":1}'));
    expect(plain.status).toBe(415);
    target.shape(plain);
    for (const garbled of ['application/jsonx', '/;;', 'multipart/form-data; boundary=x']) {
      const response = await send(withBody(garbled, '{"value":1}'));
      expect(response.status, garbled).toBe(415);
      target.shape(response);
    }
  });

  it('a method the route does not have: 404 in the error shape', async () => {
    const response = await send(
      `PATCH ${target.json.path} HTTP/1.1\r\nHost: localhost\r\n${target.json.auth()}Connection: close\r\n\r\n`,
    );
    expect(response.status).toBe(404);
    target.shape(response);
  });

  it('bytes that are not HTTP, and a control character in a header: 400 in the error shape', async () => {
    const garbage = await send('NOT HTTP AT ALL\r\n\r\n');
    expect(garbage.status).toBe(400);
    target.shape(garbage);
    const control = await send(`GET ${target.get} HTTP/1.1\r\nHost: localhost\r\nX-Odd: a\u0001b\r\n\r\n`);
    expect(control.status).toBe(400);
    target.shape(control);
  });
});
