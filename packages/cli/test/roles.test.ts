/**
 * `lakebase role` and `lakebase token --read-only/--table/--ttl` against the emulator (its default storage: an
 * embedded PostgreSQL with a hot standby for read-only sessions): roles made through the CLI log in by their rule,
 * and scoped tokens are enforced by the server.
 */
import { readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadEnvFiles, withClient } from '@lakebase-kit/client';
import { type Emulator, startEmulator } from '@lakebase-kit/emulator';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, expectCodedFailure, runCommand } from './helpers.js';

let emulator: Emulator;
let home: string;
let dir: string;

beforeAll(async () => {
  emulator = await startEmulator({ onNotice: () => {} });
  home = await mkdtemp(path.join(os.tmpdir(), 'lakebase-cli-roles-home-'));
  dir = await mkdtemp(path.join(os.tmpdir(), 'lakebase-cli-roles-cwd-'));
  await withClient({ env: env() }, async (client) => {
    await client.query(`create table orders (id int); insert into orders values (1), (2);
                        create table salaries (amount int); insert into salaries values (100)`);
  });
});
afterAll(async () => {
  await emulator?.stop();
  for (const d of [home, dir]) if (d) await rm(d, { recursive: true, force: true });
});

function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { HOME: home, PATH: process.env.PATH, LANG: 'C.UTF-8', ...emulator.env('autoscaling'), ...extra };
}
async function lakebase(...args: string[]) {
  return runCommand(process.execPath, [BIN, ...args], { cwd: dir, env: env() });
}
async function ok(...args: string[]): Promise<string> {
  const result = await lakebase(...args);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return result.stdout;
}
async function fails(code: string, ...args: string[]): Promise<string> {
  return expectCodedFailure(await lakebase(...args), code);
}
/** A client of the emulator's front door as `user` with `password`, verifying its certificate. */
function login(user: string, password: string): Promise<pg.Client> {
  const client = new pg.Client({
    host: emulator.pgHost,
    port: emulator.pgPort,
    database: emulator.database,
    user,
    password,
    ssl: { ca: readFileSync(emulator.caFile, 'utf8'), rejectUnauthorized: true },
  });
  client.on('error', () => {});
  return client.connect().then(() => client);
}
async function refused(promise: Promise<unknown>): Promise<string | undefined> {
  return promise.then(
    async (result) => {
      await (result as pg.Client | undefined)?.end?.();
      return undefined;
    },
    (error: { code?: string }) => error.code,
  );
}

describe('lakebase role', () => {
  it('create --password --json prints the password once; it logs in with it, not with a token', async () => {
    const created = JSON.parse(await ok('role', 'create', 'reporting', '--password', '--json'));
    expect(created).toEqual({
      role: 'reporting',
      authMethod: 'PG_PASSWORD_SCRAM_SHA_256',
      password: expect.any(String),
    });
    expect(created.password).toMatch(/^[A-Za-z0-9_-]{32}$/);
    const client = await login('reporting', created.password);
    expect((await client.query('select current_user as u')).rows[0].u).toBe('reporting');
    await client.end();
    expect(await refused(login('reporting', 'wrong-password'))).toBe('28P01');
    const token = (await ok('token')).trim();
    expect(await refused(login('reporting', token))).toBe('28P01');

    const listed = JSON.parse(await ok('role', 'list', '--json')) as { role: string; authMethod: string }[];
    expect(listed).toContainEqual(
      expect.objectContaining({ role: 'reporting', authMethod: 'PG_PASSWORD_SCRAM_SHA_256' }),
    );
    await fails('LAKEBASE_ROLE_EXISTS', 'role', 'create', 'reporting', '--password');
  });

  it('create --password --write-env writes LAKEBASE_PG_URL to .env.local (0600) in place of the endpoint; the URL logs in', async () => {
    const writeDir = await mkdtemp(path.join(os.tmpdir(), 'lakebase-cli-roles-env-'));
    try {
      const envLocal = path.join(writeDir, '.env.local');
      await writeFile(envLocal, `APP_SETTING=kept\nLAKEBASE_ENDPOINT=${emulator.endpoint}\n`);
      const result = await runCommand(
        process.execPath,
        [BIN, 'role', 'create', 'legacy_app', '--password', '--write-env', '--json'],
        { cwd: writeDir, env: env() },
      );
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(result.stdout.trim().split('\n')).toHaveLength(1); // --json: one line, nothing else
      const printed = JSON.parse(result.stdout);
      expect(printed).toEqual({ role: 'legacy_app', authMethod: 'PG_PASSWORD_SCRAM_SHA_256' });
      expect(statSync(envLocal).mode & 0o777).toBe(0o600);
      const { env: fileEnv } = await loadEnvFiles(writeDir, {});
      const url = fileEnv.LAKEBASE_PG_URL as string;
      expect(fileEnv.LAKEBASE_ENDPOINT).toBeUndefined();
      expect(fileEnv.APP_SETTING).toBe('kept');
      expect(url).toMatch(/^postgresql:\/\/legacy_app:[A-Za-z0-9_-]{32}@localhost:\d+\//);
      expect(result.stdout).not.toContain(new URL(url).password);
      const user = await withClient({ env: { LAKEBASE_PG_URL: url } }, async (client) => {
        return (await client.query('select current_user as u')).rows[0].u;
      });
      expect(user).toBe('legacy_app');
    } finally {
      await rm(writeDir, { recursive: true, force: true });
    }
  });

  it('create --no-login makes a role that cannot log in; --identity user makes an OAuth role; delete removes a role', async () => {
    expect(JSON.parse(await ok('role', 'create', 'readers', '--no-login', '--json'))).toEqual({
      role: 'readers',
      authMethod: 'NO_LOGIN',
    });
    expect(await refused(login('readers', 'anything'))).toBe('28000');

    const jane = 'jane-roles@example.com';
    await emulator.workspace.issueUserToken(jane, { role: false });
    expect(JSON.parse(await ok('role', 'create', jane, '--identity', 'user', '--json'))).toEqual({
      role: jane,
      authMethod: 'LAKEBASE_OAUTH_V1',
    });
    const { token } = await emulator.workspace.mintDatabaseToken(jane, [{ kind: 'endpoint', name: emulator.endpoint }]);
    const client = await login(jane, token);
    expect((await client.query('select current_user as u')).rows[0].u).toBe(jane);
    await client.end();

    expect((await ok('role', 'delete', 'readers')).trim()).toBe('Deleted role readers.');
    const listed = JSON.parse(await ok('role', 'list', '--json')) as { role: string }[];
    expect(listed.map((r) => r.role)).not.toContain('readers');
    await fails('LAKEBASE_ROLE_NOT_FOUND', 'role', 'delete', 'readers');
  });

  it('a user without CAN_MANAGE on the project is refused with LAKEBASE_PERMISSION_DENIED asking for it', async () => {
    const mallory = emulator.workspace.addUser('mallory-roles@example.com');
    const asMallory = async (...args: string[]) =>
      runCommand(process.execPath, [BIN, ...args], { cwd: dir, env: env({ DATABRICKS_TOKEN: mallory.pat }) });
    await ok('role', 'create', 'kept_by_owner', '--no-login');
    const created = expectCodedFailure(
      await asMallory('role', 'create', 'mallory_made', '--no-login'),
      'LAKEBASE_PERMISSION_DENIED',
    );
    expect(created).toMatch(/fix: .*CAN_MANAGE on it/);
    // CAN_USE lets her list the roles (delete looks the role up first), still not delete one.
    const projectId = emulator.endpoint.split('/')[1] as string;
    const granted = await fetch(`${emulator.databricksHost}/api/2.0/permissions/database-projects/${projectId}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${emulator.databricksToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ access_control_list: [{ user_name: mallory.userName, permission_level: 'CAN_USE' }] }),
    });
    expect(granted.status).toBe(200);
    const deleted = expectCodedFailure(
      await asMallory('role', 'delete', 'kept_by_owner'),
      'LAKEBASE_PERMISSION_DENIED',
    );
    expect(deleted).toMatch(/fix: .*CAN_MANAGE on it/);
    const listed = (JSON.parse(await ok('role', 'list', '--json')) as { role: string }[]).map((r) => r.role);
    expect(listed).toContain('kept_by_owner');
    expect(listed).not.toContain('mallory_made');
  });

  it('refuses contradictory flags before any request', async () => {
    await fails('LAKEBASE_USAGE_ERROR', 'role', 'create', 'x', '--password', '--identity', 'user');
    await fails('LAKEBASE_USAGE_ERROR', 'role', 'create', 'x');
    await fails('LAKEBASE_USAGE_ERROR', 'role', 'create', 'x', '--no-login', '--write-env');
    const listed = JSON.parse(await ok('role', 'list', '--json')) as { role: string }[];
    expect(listed.map((r) => r.role)).not.toContain('x');
  });
});

describe('lakebase token scopes', () => {
  it('--read-only: SELECT works, INSERT fails with 25006 or 42501', async () => {
    const printed = JSON.parse(await ok('token', '--read-only', '--json'));
    expect(printed.readOnly).toBe(true);
    const client = await login(emulator.user, printed.token);
    try {
      expect((await client.query('select count(*)::int as n from orders')).rows[0].n).toBe(2);
      const insert = await refused(client.query('insert into orders values (3)'));
      expect(['25006', '42501']).toContain(insert);
    } finally {
      await client.end();
    }
  });

  it('--table: reads that table and not another', async () => {
    const printed = JSON.parse(await ok('token', '--table', 'public.orders', '--ttl', '10m', '--json'));
    expect(printed.tables).toEqual(['public.orders']);
    expect(Date.parse(printed.expiresAt) - Date.now()).toBeLessThanOrEqual(600_000 + 2_000);
    const client = await login(emulator.user, printed.token);
    try {
      expect((await client.query('select count(*)::int as n from orders')).rows[0].n).toBe(2);
      expect(await refused(client.query('select * from salaries'))).toBe('42501');
    } finally {
      await client.end();
    }
  });

  it('a TTL outside 5 min..1 h is the workspace REST error, coded; a bad table name is refused before any request', async () => {
    const stderr = await fails('LAKEBASE_API_ERROR', 'token', '--ttl', '2h');
    expect(stderr).toContain('INVALID_PARAMETER_VALUE');
    expect(stderr).toContain('ttl');
    const before = emulator.stats().credentialRequests.total;
    await fails('LAKEBASE_CONFIG_INVALID', 'token', '--table', 'orders');
    await fails('LAKEBASE_CONFIG_INVALID', 'token', '--table', 'public.orders;drop');
    expect(emulator.stats().credentialRequests.total).toBe(before);
  });
});
