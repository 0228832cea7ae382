/**
 * Secrets in per-user mode: users' OAuth tokens (as the Apps proxy forwards them) and the database tokens minted with
 * them never reach a log line (the client's logger, the app's pino log at debug, stdout/stderr), an error's text, or
 * an HTTP response, across success, a token without the postgres scope, a user without a role, a token of another
 * user, a garbage token and a closed pool.
 */
import { Writable } from 'node:stream';
import { createLakebasePool, createUserPools } from '@lakebase-kit/client';
import { type Emulator, startEmulator } from '@lakebase-kit/emulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../app/server/app.js';
import { createLogger } from '../../app/server/logging.js';
import { errorText, leakedSecrets, OutputCapture, recordingLogger, tokenCollectingFetch } from './helpers.js';

let emulator: Emulator;

beforeAll(async () => {
  emulator = await startEmulator({ onNotice: () => {} });
});
afterAll(async () => {
  await emulator?.stop();
});

describe('user tokens in per-user mode', () => {
  it('appear in no log, error or response', async () => {
    const capture = new OutputCapture().start();
    const lines: string[] = [];
    const appLog: string[] = [];
    const responses: string[] = [];
    const minted = new Set<string>();
    const secrets = new Set<string>();
    const errors: unknown[] = [];
    const main = createLakebasePool({ env: emulator.env('autoscaling'), logger: recordingLogger(lines) });
    try {
      const issue = async (email: string, options: { scopes?: string[]; role?: boolean } = {}) => {
        const token = (await emulator.workspace.issueUserToken(email, options)).access_token;
        secrets.add(token);
        return token;
      };
      const ann = await issue('ann@example.com');
      const ben = await issue('ben@example.com');
      const noScope = await issue('cy@example.com', { scopes: ['sql'] });
      const noRole = await issue('dee@example.com', { role: false });
      const garbage = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLW5vdC12YWxpZA';
      secrets.add(garbage);

      await main.query(
        'create table if not exists user_preferences (user_email text not null, key text not null, value jsonb not null, created_at timestamptz not null default now(), updated_at timestamptz not null default now(), primary key (user_email, key))',
      );
      await main.query('grant select, insert, update, delete on user_preferences to "ann@example.com"');
      const userPools = createUserPools(main, { env: {}, fetch: tokenCollectingFetch(minted) });
      const stream = new Writable({
        write(chunk, _encoding, done) {
          appLog.push(String(chunk));
          done();
        },
      });
      const app = await buildApp({
        database: {
          configured: true,
          pool: main,
          info: { tier: 'autoscaling', database: emulator.database },
          userPools,
        },
        production: true,
        logger: createLogger({ level: 'debug', stream }),
      });
      const call = async (email: string, token: string, method: 'GET' | 'PUT' = 'GET') => {
        const response = await app.inject({
          method,
          url: method === 'GET' ? '/api/preferences' : '/api/preferences/theme',
          headers: { 'x-forwarded-email': email, 'x-forwarded-access-token': token },
          ...(method === 'PUT' ? { payload: { value: 'dark' } } : {}),
        });
        responses.push(JSON.stringify(response.headers), response.body);
        return response.statusCode;
      };
      expect(await call('ann@example.com', ann, 'PUT')).toBe(201);
      expect(await call('ann@example.com', ann)).toBe(200);
      expect(await call('ben@example.com', ben)).toBe(403); // ben has a role but no grant: permission denied
      expect(await call('cy@example.com', noScope)).toBe(403);
      expect(await call('dee@example.com', noRole)).toBe(403);
      expect(await call('ann@example.com', ben)).toBe(403);
      expect(await call('ann@example.com', garbage)).toBe(401);

      for (const token of [noScope, noRole, garbage]) {
        await userPools.acquire(token).catch((error: unknown) => errors.push(error));
      }
      await app.close();
      await main.end();
      await userPools.acquire(ann).catch((error: unknown) => errors.push(error));
      for (const error of errors) capture.add(errorText(error));
      expect(errors).toHaveLength(4);
    } finally {
      await main.end();
      capture.stop();
    }
    for (const token of minted) secrets.add(token);
    expect(minted.size).toBe(3); // the database tokens minted with ann's, ben's and dee's user tokens
    expect(appLog.length).toBeGreaterThan(5);
    const everything = [capture.text, lines.join('\n'), appLog.join(''), responses.join('\n')].join('\n');
    expect(leakedSecrets(everything, secrets)).toEqual([]);
  });
});
