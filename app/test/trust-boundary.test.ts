import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { rawRequest } from '../../test/resilience/raw-http.js';
import { buildApp } from '../server/app.js';

/** The app's identity rules depend on where it listens, so these tests listen on real sockets (port 0). */
let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

async function listening(host: string, options: { production?: boolean } = {}): Promise<number> {
  app = await buildApp({ database: { configured: false }, logger: false, ...options });
  await app.listen({ host, port: 0 });
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('no TCP address');
  return address.port;
}

describe('identity when the app is reachable beyond loopback', () => {
  it('refuses requests without X-Forwarded-Email when bound to 0.0.0.0, even outside production', async () => {
    const port = await listening('0.0.0.0', { production: false });
    // Connecting through loopback changes nothing: the server is bound to every interface.
    const anonymous = await fetch(`http://127.0.0.1:${port}/api/me`);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toMatchObject({ detail: { error_code: 'UNAUTHENTICATED' } });
    const preferences = await fetch(`http://127.0.0.1:${port}/api/preferences`);
    expect(preferences.status).toBe(401);

    const proxied = await fetch(`http://127.0.0.1:${port}/api/me`, {
      headers: { 'x-forwarded-email': 'alice@example.com' },
    });
    expect(proxied.status).toBe(200);
    expect(await proxied.json()).toEqual({ email: 'alice@example.com', source: 'proxy' });
  });

  it('serves the local dev user only when bound to loopback', async () => {
    const port = await listening('127.0.0.1', { production: false });
    const response = await fetch(`http://127.0.0.1:${port}/api/me`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ email: 'dev@example.com', source: 'dev-user' });
  });

  it('still requires the header on loopback in production', async () => {
    const port = await listening('127.0.0.1', { production: true });
    expect((await fetch(`http://127.0.0.1:${port}/api/me`)).status).toBe(401);
  });
});

describe('identity header encoding', () => {
  it('reads a UTF-8 X-Forwarded-Email as UTF-8', async () => {
    const port = await listening('127.0.0.1', { production: true });
    const request = Buffer.concat([
      Buffer.from('GET /api/me HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nX-Forwarded-Email: '),
      Buffer.from('bü@example.com', 'utf8'),
      Buffer.from('\r\nX-Forwarded-Preferred-Username: '),
      Buffer.from('Zoë Ω', 'utf8'),
      Buffer.from('\r\n\r\n'),
    ]);
    const response = await rawRequest(port, request);
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toEqual({ email: 'bü@example.com', userName: 'Zoë Ω', source: 'proxy' });
  });

  it('treats bytes that are not UTF-8 as no identity', async () => {
    const port = await listening('127.0.0.1', { production: true });
    const request = Buffer.concat([
      Buffer.from('GET /api/me HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nX-Forwarded-Email: b'),
      Buffer.from([0xfc]), // latin1 ü: not valid UTF-8
      Buffer.from('@example.com\r\n\r\n'),
    ]);
    expect((await rawRequest(port, request)).status).toBe(401);
  });
});

describe("requests Node's HTTP parser refuses", () => {
  it('answers a control character in a header with 400 in the error shape', async () => {
    const port = await listening('127.0.0.1');
    const response = await rawRequest(
      port,
      Buffer.from('GET /api/me HTTP/1.1\r\nHost: localhost\r\nX-Forwarded-Email: a\u0001b@example.com\r\n\r\n'),
    );
    expect(response.status).toBe(400);
    expect(response.headers).toMatch(/content-type: application\/json/i);
    expect(JSON.parse(response.body)).toMatchObject({
      detail: {
        error_code: 'BAD_REQUEST',
        technical_details: { error_type: 'RequestError', suggestion: 'Correct the request and send it again.' },
      },
    });
  });

  it('answers headers over the limit with 431 in the error shape', async () => {
    const port = await listening('127.0.0.1');
    const response = await rawRequest(
      port,
      Buffer.from(`GET /api/me HTTP/1.1\r\nHost: localhost\r\nCookie: ${'x'.repeat(20_000)}\r\n\r\n`),
    );
    expect(response.status).toBe(431);
    expect(JSON.parse(response.body)).toMatchObject({
      detail: { error_code: 'HEADERS_TOO_LARGE', technical_details: { error_type: 'RequestError' } },
    });
  });
});
