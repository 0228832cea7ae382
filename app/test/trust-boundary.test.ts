import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
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
