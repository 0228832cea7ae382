import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../server/app.js';
import { createLogger } from '../server/logging.js';
import { readServerSettings } from '../server/settings.js';
import { assertBuilt, spawnServer } from './spawn-server.js';

/**
 * Beyond loopback and outside Databricks Apps nothing strips `X-Forwarded-Email` from a client's request, so anyone
 * who reaches the port can claim any identity. The app cannot know whether a trusted proxy sits in front of it, so it
 * says so once at start, in a warning line with stable text.
 */
const WARNING = 'identity header trusted from any client';

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

/** The app's own pino logger, writing its JSON lines into an array. */
function capturedLogger(): { logger: ReturnType<typeof createLogger>; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return {
    logger: createLogger({ stream }),
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

async function warningsWhenListening(host: string, options: { databricksApps?: boolean; production?: boolean }) {
  const { logger, lines } = capturedLogger();
  app = await buildApp({ database: { configured: false }, logger, ...options });
  await app.listen({ host, port: 0 });
  // A request after start: the warning is about start, not repeated per request.
  await fetch(`http://127.0.0.1:${(app.server.address() as { port: number }).port}/api/health`);
  return lines().filter((line) => typeof line.msg === 'string' && line.msg.includes(WARNING));
}

describe('the app warns when it trusts X-Forwarded-Email from the network', () => {
  it('bound to 0.0.0.0 outside Databricks Apps: exactly one warning that names the risk and the fix', async () => {
    const warnings = await warningsWhenListening('0.0.0.0', { production: true });
    expect(warnings).toHaveLength(1);
    const [warning] = warnings;
    expect(warning?.level).toBe(40); // pino's warn
    expect(warning?.msg).toContain('X-Forwarded-Email');
    expect(warning?.msg).toContain('127.0.0.1');
    expect(warning?.addresses).toEqual(expect.arrayContaining([expect.stringContaining('0.0.0.0')]));
  });

  it('bound to loopback: no warning', async () => {
    expect(await warningsWhenListening('127.0.0.1', { production: true })).toEqual([]);
    await app?.close();
    expect(await warningsWhenListening('127.0.0.1', { production: false })).toEqual([]);
  });

  it('on Databricks Apps (the proxy sets the header and nothing else reaches the app): no warning', async () => {
    expect(await warningsWhenListening('0.0.0.0', { databricksApps: true, production: true })).toEqual([]);
  });

  it('the server settings say whether it runs on Databricks Apps: DATABRICKS_APP_NAME or DATABRICKS_APP_PORT', () => {
    expect(readServerSettings({}).databricksApps).toBe(false);
    expect(readServerSettings({ DATABRICKS_APP_NAME: 'my-app' }).databricksApps).toBe(true);
    expect(readServerSettings({ DATABRICKS_APP_PORT: '8000' }).databricksApps).toBe(true);
    // Empty means unset.
    expect(readServerSettings({ DATABRICKS_APP_NAME: '', DATABRICKS_APP_PORT: ' ' }).databricksApps).toBe(false);
  });
});

describe('the started server (node app/dist/server/main.js)', () => {
  it('on Databricks Apps (bound to 0.0.0.0 by DATABRICKS_APP_PORT) and on loopback: no warning', async () => {
    assertBuilt();
    const servers = await Promise.all([
      spawnServer({ DATABRICKS_APP_PORT: '0', LAKEBASE_EMULATOR: 'off' }),
      spawnServer({ LAKEBASE_EMULATOR: 'off' }),
    ]);
    try {
      const [apps, local] = servers.map((server) => server.output());
      // Bound beyond loopback (identity required, though not in production) and on loopback (the dev user).
      expect((await fetch(`${servers[0]?.url}/api/me`)).status).toBe(401);
      expect((await fetch(`${servers[1]?.url}/api/me`)).status).toBe(200);
      for (const output of [apps, local]) expect(output).not.toContain(WARNING);
    } finally {
      await Promise.all(servers.map((server) => server.stop()));
    }
  });
});
