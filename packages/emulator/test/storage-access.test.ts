/**
 * Storage is reached only through the front door (issue 22, finding 7). A client may run `ALTER ROLE ... PASSWORD`
 * through the front door (PostgreSQL lets every role change its own password), but that password must open nothing:
 * the embedded PostgreSQL has no TCP listener, its Unix socket is in a private directory, and the relay's own login
 * does not use passwords at all.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../src/index.js';
import { connectFrontDoor, frontDoorConfig } from './clients.js';

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const PSQL = '/usr/bin/psql';
const CHOSEN = 'client-chosen-password-1';

let emu: Emulator;
let dataDir: string;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'lakebase-storage-access-'));
  emu = await startEmulator({ apiPort: 0, pgPort: 0, dataDir });
  expect(emu.storage).toBe('postgres');
});
afterAll(async () => {
  await emu?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

/** The cluster's postmaster.pid: what the running server itself says about where it listens. */
async function postmaster(): Promise<{ port: number; socketDir: string; listen: string }> {
  const root = path.join(dataDir, 'postgres');
  const pointer = (await readFile(path.join(root, 'external-cluster'), 'utf8').catch(() => '')).trim();
  const lines = (await readFile(path.join(pointer || root, 'data', 'postmaster.pid'), 'utf8')).split('\n');
  return { port: Number(lines[3]), socketDir: lines[4] ?? '', listen: (lines[5] ?? '').trim() };
}

/** Logs in to storage over TCP as the workspace user with the password the client chose: what it got. */
async function tryLogin(listen: string, port: number): Promise<string> {
  const direct = new pg.Client({
    host: listen === '*' ? '127.0.0.1' : listen,
    port,
    user: emu.user,
    password: CHOSEN,
    database: 'databricks_postgres',
    connectionTimeoutMillis: 5_000,
  });
  direct.on('error', () => {});
  return direct.connect().then(
    async () => {
      const who = await direct.query('select current_user as u');
      await direct.end();
      return `logged in as ${who.rows[0].u}`;
    },
    (error: Error) => error.message,
  );
}

describe('storage access (embedded PostgreSQL)', () => {
  it('a password set with ALTER ROLE through the front door does not log in to storage directly', async () => {
    const { token } = await emu.workspace.mintDatabaseToken(emu.user, [{ kind: 'instance', name: emu.instanceName }]);
    const session = await connectFrontDoor(frontDoorConfig(emu, { password: token }));
    await session.query(`alter role current_user password '${CHOSEN}'`);
    await session.end();

    const server = await postmaster();
    // The attack: storage's TCP listener, if it has one, with the role's name and the password the client chose.
    // (Without one, `port` only names the socket file: something else may listen on that TCP port.)
    const outcome = server.listen ? await tryLogin(server.listen, server.port) : 'no TCP listener';
    expect(outcome).not.toMatch(/^logged in/);
    // No TCP listener at all (postmaster.pid's listen address is empty), only a socket in a private directory.
    expect(server.listen).toBe('');
    const dir = await stat(server.socketDir);
    expect(dir.mode & 0o777).toBe(0o700);
  });

  it.skipIf(!isRoot || !existsSync(PSQL))(
    "another OS account cannot reach storage's socket, with or without the password",
    async () => {
      const server = await postmaster();
      const nobody = spawnSync(
        PSQL,
        [
          '-h',
          server.socketDir,
          '-p',
          String(server.port),
          '-U',
          emu.user,
          '-d',
          'databricks_postgres',
          '-c',
          'select 1',
        ],
        {
          uid: 65534,
          gid: 65534,
          env: { PGPASSWORD: CHOSEN, PATH: '/usr/bin:/bin' },
          encoding: 'utf8',
          timeout: 10_000,
        },
      );
      expect(nobody.status).not.toBe(0);
      expect(nobody.stderr).toMatch(/Permission denied/);
    },
  );
});
