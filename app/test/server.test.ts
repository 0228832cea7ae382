import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildApp } from '../server/app.js';
import { createLogger } from '../server/logging.js';
import { readServerSettings } from '../server/settings.js';

/** A stream that keeps each line written to it. */
function lineSink(): { lines: string[]; stream: Writable } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  return { lines, stream };
}

describe('request logs', () => {
  it('keep only an allowlist of request headers: credentials in any header are never logged', async () => {
    const { lines, stream } = lineSink();
    const app = await buildApp({ database: { configured: false }, logger: createLogger({ stream }) });
    try {
      await app.inject({
        url: '/api/me',
        headers: {
          authorization: 'Bearer dapi0123456789abcdef0123456789abcdef',
          cookie: 'session=cookie-secret-value',
          'x-forwarded-access-token': 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl',
          'proxy-authorization': 'Basic cHJveHktc2VjcmV0',
          'x-api-key': 'api-key-secret-value',
          'x-databricks-token': 'dapi-databricks-header-secret',
          'x-some-future-secret': 'invented-header-secret',
          'x-forwarded-email': 'alice@example.com',
          'user-agent': 'log-test',
          'x-request-id': 'req-from-proxy',
        },
      });
    } finally {
      await app.close();
    }
    const log = lines.join('');
    expect(log).not.toMatch(
      /dapi0123|cookie-secret|eyJhbGci|cHJveHktc2VjcmV0|api-key-secret|dapi-databricks|invented-header/,
    );
    const request = lines.map((line) => JSON.parse(line)).find((entry) => entry.req);
    expect(request.reqId).toBe('req-from-proxy');
    expect(request.req.headers).toEqual({
      host: 'localhost:80',
      'user-agent': 'log-test',
      'x-forwarded-email': 'alice@example.com',
    });
  });
  it('write one access line per request with every field of the contract, and redact other lines as before', async () => {
    const { lines, stream } = lineSink();
    const logger = createLogger({ stream });
    const app = await buildApp({ database: { configured: false }, logger });
    try {
      await app.inject({
        method: 'GET',
        url: '/api/me?x=1',
        headers: {
          'x-forwarded-email': 'alice@example.com',
          'x-request-id': 'req-1',
          'content-length': '0',
          'user-agent': 'contract-test',
          authorization: 'Bearer not-logged',
        },
      });
      logger.info({ credentials: { token: 'secret-token-value' }, password: 'secret-password' }, 'other line');
    } finally {
      await app.close();
    }
    const entries = lines.map((line) => JSON.parse(line));
    const access = entries.filter((entry) => entry.msg === 'request completed');
    expect(access).toHaveLength(1);
    expect(access[0]).toEqual({
      level: 30,
      time: expect.any(Number),
      pid: process.pid,
      hostname: os.hostname(),
      reqId: 'req-1',
      req: {
        method: 'GET',
        url: '/api/me?x=1',
        headers: {
          host: 'localhost:80',
          'x-forwarded-email': 'alice@example.com',
          'content-length': '0',
          'user-agent': 'contract-test',
        },
        remoteAddress: '127.0.0.1',
      },
      res: { statusCode: 200 },
      responseTime: expect.any(Number),
      msg: 'request completed',
    });
    expect(entries.some((entry) => entry.msg === 'incoming request')).toBe(false);
    // The access line skips the redaction pass (its fields are chosen); every other line keeps it.
    const other = entries.find((entry) => entry.msg === 'other line');
    expect(other.credentials.token).toBe('[REDACTED]');
    expect(other.password).toBe('[REDACTED]');
  });
});

describe('the access line, attacked', () => {
  it('keeps a crafted request id, URL and header values as string values of one line, with no field added', async () => {
    const { lines, stream } = lineSink();
    const app = await buildApp({ database: { configured: false }, logger: createLogger({ stream }) });
    // Raw newlines cannot be sent in a header (Node refuses them); quotes, backslashes and braces can.
    const requestId = 'r","level":60,"msg":"forged\\"} {"level":60}';
    const userAgent = 'ua "quoted" \\ back\tslash } {"level":60}';
    const email = 'eve","reqId":"x@example.com';
    const url = '/api/me?q=%22%7D%0A%7B&x="}\\';
    try {
      // Over a real socket: inject() would percent-encode the URL's quote before the server saw it.
      await app.listen({ host: '127.0.0.1', port: 0 });
      const { port } = app.server.address() as AddressInfo;
      const status = await new Promise<number | undefined>((resolve, reject) => {
        const request = http.get(
          {
            host: '127.0.0.1',
            port,
            path: url,
            headers: { 'x-request-id': requestId, 'user-agent': userAgent, 'x-forwarded-email': email },
          },
          (response) => {
            response.resume();
            response.on('end', () => resolve(response.statusCode));
          },
        );
        request.on('error', reject);
        request.setTimeout(5_000, () => request.destroy(new Error('no answer in 5 s')));
      });
      expect(status).toBe(200);
    } finally {
      await app.close();
    }
    const access = lines.filter((line) => line.includes('request completed'));
    expect(access).toHaveLength(1);
    const entry = JSON.parse(access[0] as string);
    expect(Object.keys(entry)).toEqual([
      'level',
      'time',
      'pid',
      'hostname',
      'reqId',
      'req',
      'res',
      'responseTime',
      'msg',
    ]);
    expect(entry).toMatchObject({ level: 30, reqId: requestId, msg: 'request completed', res: { statusCode: 200 } });
    expect(entry.req.url).toBe(url);
    expect(entry.req.headers['user-agent']).toBe(userAgent);
    expect(entry.req.headers['x-forwarded-email']).toBe(email);
  });
});

describe("a request's own logger", () => {
  it('is made only when the request logs: a plain request makes none; a refused one logs with its id', async () => {
    const { lines, stream } = lineSink();
    const app = await buildApp({ database: { configured: false }, logger: createLogger({ stream }) });
    const children = vi.spyOn(app.log, 'child');
    try {
      for (let i = 0; i < 5; i++) {
        const ok = await app.inject({ url: '/api/me', headers: { 'x-forwarded-email': 'alice@example.com' } });
        expect(ok.statusCode).toBe(200);
      }
      expect(children).not.toHaveBeenCalled();
      const refused = await app.inject({
        method: 'PUT',
        url: '/api/preferences/-not-a-key',
        headers: { 'x-forwarded-email': 'alice@example.com', 'x-request-id': 'req-refused' },
        payload: { value: 1 },
      });
      expect(refused.statusCode).toBe(400);
      expect(children).toHaveBeenCalledTimes(1);
    } finally {
      await app.close();
    }
    const entries = lines.map((line) => JSON.parse(line));
    const own = entries.find((entry) => entry.errorCode && entry.msg !== 'request completed');
    expect(own).toMatchObject({ level: 30, reqId: 'req-refused', errorCode: expect.any(String) });
    // Every access line still names its request.
    const access = entries.filter((entry) => entry.msg === 'request completed');
    expect(access).toHaveLength(6);
    expect(access.at(-1)).toMatchObject({ reqId: 'req-refused', res: { statusCode: 400 } });
  });
});

describe('the access line', () => {
  it('follows the logger level, also when it changes at run time', async () => {
    const { lines, stream } = lineSink();
    const logger = createLogger({ stream });
    const app = await buildApp({ database: { configured: false }, logger });
    const completed = () => lines.filter((line) => line.includes('"msg":"request completed"')).length;
    try {
      await app.inject({ url: '/api/me' });
      expect(completed()).toBe(1);
      logger.level = 'warn';
      await app.inject({ url: '/api/me' });
      expect(completed()).toBe(1);
      logger.level = 'info';
      await app.inject({ url: '/api/me' });
      expect(completed()).toBe(2);
    } finally {
      await app.close();
    }
  });
});

describe('web UI serving', () => {
  let webRoot: string;
  beforeAll(async () => {
    webRoot = await mkdtemp(path.join(os.tmpdir(), 'lakebase-app-web-'));
    await writeFile(path.join(webRoot, 'index.html'), '<!doctype html><title>ui</title>');
  });
  afterAll(() => rm(webRoot, { recursive: true, force: true }));

  it('serves index.html at / and for client-side routes, JSON 404 under /api', async () => {
    const app = await buildApp({ database: { configured: false }, webRoot, logger: false });
    try {
      const root = await app.inject({ url: '/' });
      expect(root.statusCode).toBe(200);
      expect(root.body).toContain('<title>ui</title>');
      const deep = await app.inject({ url: '/settings/profile' });
      expect(deep.statusCode).toBe(200);
      expect(deep.headers['cache-control']).toBe('no-cache');
      const api = await app.inject({ url: '/api/unknown' });
      expect(api.statusCode).toBe(404);
      expect(api.json().detail.error_code).toBe('NOT_FOUND');
    } finally {
      await app.close();
    }
  });

  it('says how to build the UI when it is not built', async () => {
    const app = await buildApp({
      database: { configured: false },
      webRoot: path.join(webRoot, 'missing'),
      logger: false,
    });
    try {
      expect((await app.inject({ url: '/' })).body).toMatch(/npm run build/);
    } finally {
      await app.close();
    }
  });
});

describe('server settings', () => {
  it('listens on DATABRICKS_APP_PORT on all interfaces inside Databricks Apps, in production mode', () => {
    const settings = readServerSettings({ DATABRICKS_APP_PORT: '8080', DATABRICKS_APP_NAME: 'my-app', PORT: '3000' });
    expect(settings).toMatchObject({ port: 8080, host: '0.0.0.0', production: true });
  });

  it('listens on PORT (default 8000) on loopback locally', () => {
    expect(readServerSettings({})).toMatchObject({ port: 8000, host: '127.0.0.1', production: false });
    expect(readServerSettings({ PORT: '3000' }).port).toBe(3000);
    expect(readServerSettings({ NODE_ENV: 'production' }).production).toBe(true);
    expect(() => readServerSettings({ PORT: 'eighty' })).toThrow(/PORT must be a whole number from 0 to 65535/);
  });

  it('puts the emulator data under .lakebase/emulator where npm start was run, unless told otherwise', () => {
    expect(readServerSettings({}, '/repo').emulator).toEqual({
      enabled: true,
      dataDir: path.resolve('/repo/.lakebase/emulator'),
      tier: 'autoscaling',
    });
    expect(readServerSettings({ INIT_CWD: '/root-of-repo' }, '/repo/app').emulator.dataDir).toBe(
      path.resolve('/root-of-repo/.lakebase/emulator'),
    );
    const custom = readServerSettings({ LAKEBASE_EMULATOR_DIR: '/tmp/x', LAKEBASE_EMULATOR: 'off' }, '/repo');
    expect(custom.emulator).toMatchObject({ enabled: false, dataDir: '/tmp/x' });
    expect(readServerSettings({ MIGRATE_ON_START: 'true', DEV_USER_EMAIL: 'me@x.dev' })).toMatchObject({
      migrateOnStart: true,
      devUser: 'me@x.dev',
    });
  });
});
