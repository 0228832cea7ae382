import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { EmulatorConnectionInfo } from '@lakebase-kit/emulator';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
});
