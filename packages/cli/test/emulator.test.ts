import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { EmulatorConnectionInfo } from '@lakebase-kit/emulator';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alive, childrenOf, parentOf } from '../../emulator/test/processes.js';
import { BIN, runCommand, spawnUntilFirstLine, stopChild } from './helpers.js';

type ConnectionInfo = EmulatorConnectionInfo;

async function mintProvisionedToken(info: ConnectionInfo): Promise<string> {
  const response = await fetch(`${info.databricksHost}/api/2.0/database/credentials`, {
    method: 'POST',
    headers: { authorization: `Bearer ${info.databricksToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ request_id: crypto.randomUUID(), instance_names: [info.instanceName] }),
  });
  expect(response.status).toBe(200);
  const body = (await response.json()) as { token: string; expiration_time: string };
  return body.token;
}

async function clientFor(info: ConnectionInfo, password: string): Promise<pg.Client> {
  const client = new pg.Client({
    host: info.pgHost,
    port: info.pgPort,
    user: info.user,
    database: info.database,
    password,
    ssl: { ca: await readFile(info.caFile, 'utf8'), rejectUnauthorized: true },
  });
  await client.connect();
  return client;
}

describe('lakebase emulator (built CLI, real sockets)', () => {
  let dataDir: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'lakebase-cli-emulator-'));
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('prints help with an example', async () => {
    const { code, stdout } = await runCommand(process.execPath, [BIN, 'emulator', '--help']);
    expect(code).toBe(0);
    expect(stdout).toContain('--token-ttl <seconds>');
    expect(stdout).toContain('Examples:');
  });

  it('rejects a malformed port with a one-line error and a non-zero exit', async () => {
    const { code, stderr } = await runCommand(process.execPath, [BIN, 'emulator', '--pg-port', 'abc']);
    expect(code).toBe(1);
    expect(stderr).toMatch(
      /^error: .*expected a whole number from 0 to 65535, got 'abc'\. \[LAKEBASE_USAGE_ERROR\]\nfix: Run `lakebase emulator --help`/,
    );
    expect(stderr.trimEnd().split('\n')).toHaveLength(2);
  });

  it('serves psql and pg over verified TLS, shuts down cleanly on SIGTERM and keeps data across a restart', async () => {
    const args = ['emulator', '--data-dir', dataDir, '--api-port', '0', '--pg-port', '0', '--json'];
    const first = await spawnUntilFirstLine(args);
    const info = JSON.parse(first.firstLine) as ConnectionInfo;
    for (const field of [
      'databricksHost',
      'databricksToken',
      'clientId',
      'clientSecret',
      'pgHost',
      'pgPort',
      'instanceName',
      'endpoint',
      'database',
      'user',
      'caFile',
    ]) {
      expect(info, field).toHaveProperty(field);
    }
    expect(info.database).toBe('databricks_postgres');
    expect(info.pgPort).toBeGreaterThan(0); // port 0 asked for a free port, and the line says which
    expect(new URL(info.databricksHost).port).not.toBe('0');

    const token = await mintProvisionedToken(info);
    const client = await clientFor(info, token);
    const { rows } = await client.query<{ current_user: string }>('select current_user');
    expect(rows[0]?.current_user).toBe(info.user);
    await client.query('create table if not exists kept (note text)');
    await client.query('insert into kept values ($1)', ['survives restart']);
    await client.end();

    const psql = await runCommand(
      'psql',
      [
        `host=localhost port=${info.pgPort} user=${info.user} dbname=databricks_postgres sslmode=verify-full sslrootcert=${info.caFile}`,
        '-At',
        '-c',
        'select current_user',
      ],
      { env: { ...process.env, PGPASSWORD: token } },
    );
    expect(psql.stderr).toBe('');
    expect(psql.stdout.trim()).toBe(info.user);
    expect(first.stderr()).not.toContain(token);

    expect(await stopChild(first.child, 'SIGTERM')).toBe(0);
    expect(first.laterLines()).toEqual([]); // --json: exactly one line on stdout

    const second = await spawnUntilFirstLine(args);
    const again = JSON.parse(second.firstLine) as ConnectionInfo;
    expect(again.databricksToken).toBe(info.databricksToken); // identities persist with the data dir
    const reader = await clientFor(again, await mintProvisionedToken(again));
    const kept = await reader.query<{ note: string }>('select note from kept');
    expect(kept.rows.map((row) => row.note)).toEqual(['survives restart']);
    await reader.end();
    expect(await stopChild(second.child, 'SIGINT')).toBe(0);
  });

  it('rejects an --upstream that is not a URL with a coded error and a fix', async () => {
    const { code, stderr } = await runCommand(process.execPath, [
      BIN,
      'emulator',
      '--upstream',
      'not a url',
      '--data-dir',
      path.join(dataDir, 'never-made'),
    ]);
    expect(code).toBe(1);
    expect(stderr).toMatch(
      /^error: The upstream is not a URL\. \[EMULATOR_UPSTREAM_INVALID\]\nfix: Pass the admin URL/,
    );
    expect(stderr).not.toContain('ERR_INVALID_URL');
    await expect(readdir(path.join(dataDir, 'never-made'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  describe.each([
    { what: 'the emulator', alsoKillWatchdog: false },
    { what: 'the emulator and the watchdog that stops its server', alsoKillWatchdog: true },
  ])('after SIGKILL of $what', ({ alsoKillWatchdog }) => {
    it('starts again on the same data dir with the data kept and no PostgreSQL left from the first run', async () => {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'lakebase-cli-sigkill-'));
      const args = ['emulator', '--data-dir', dir, '--api-port', '0', '--pg-port', '0', '--json'];
      try {
        const first = await spawnUntilFirstLine(args);
        const info = JSON.parse(first.firstLine) as ConnectionInfo;
        expect(info.storage).toBe('postgres');
        const client = await clientFor(info, await mintProvisionedToken(info));
        client.on('error', () => {}); // its server goes away below
        await client.query('create table survived (v int)');
        await client.query('insert into survived values (1)');
        const oldServer = await postmasterPid(dir);
        expect(alive(oldServer)).toBe(true);

        if (alsoKillWatchdog) {
          // A crash that takes the watchdog too: the server is orphaned and keeps running.
          const watchdog = await parentOf(oldServer);
          for (const pid of [...(await childrenOf(watchdog)).filter((p) => p !== oldServer), watchdog]) {
            process.kill(pid, 'SIGKILL');
          }
        }
        expect(await stopChild(first.child, 'SIGKILL')).toBeNull();
        if (alsoKillWatchdog) expect(alive(oldServer)).toBe(true);

        const second = await spawnUntilFirstLine(args);
        expect(alive(oldServer)).toBe(false);
        const again = JSON.parse(second.firstLine) as ConnectionInfo;
        const reader = await clientFor(again, await mintProvisionedToken(again));
        expect((await reader.query('select v from survived')).rows).toEqual([{ v: 1 }]);
        await reader.end();
        const newServer = await postmasterPid(dir);
        expect(newServer).not.toBe(oldServer);
        expect(await stopChild(second.child, 'SIGTERM')).toBe(0);
        expect(alive(newServer)).toBe(false); // a clean stop stops the server too
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  });
});

async function postmasterPid(dataDir: string): Promise<number> {
  return Number.parseInt(await readFile(path.join(dataDir, 'postgres', 'data', 'postmaster.pid'), 'utf8'), 10);
}
