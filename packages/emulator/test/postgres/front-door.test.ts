import { spawn } from 'node:child_process';
import { type AddressInfo, createServer, connect as netConnect } from 'node:net';
import { pgWire } from '@lakebase-kit/client/toolkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createPgliteStorage } from '../../src/postgres/pglite-storage.js';
import { type Harness, runId, sqlstateOf, startHarness } from './helpers.js';

const { errorResponse, parseErrorFields, startupPacket } = pgWire;

/** Sends raw bytes on a plain TCP connection and collects everything until the server closes. */
function rawExchange(port: number, bytes: Buffer, hangUp = false): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = netConnect({ host: '127.0.0.1', port }, () => (hangUp ? socket.end(bytes) : socket.write(bytes)));
    socket.on('data', (c) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(chunks)));
    socket.setTimeout(10_000, () => socket.destroy(new Error('no answer')));
  });
}

function errorFieldsOf(reply: Buffer): Record<string, string> {
  expect(String.fromCharCode(reply[0] ?? 0)).toBe('E');
  return parseErrorFields(reply.subarray(5, 1 + reply.readInt32BE(1)));
}

function runPsql(args: string[], env: Record<string, string>, input?: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/psql', args, { env: { ...process.env, ...env } });
    let out = '';
    child.stdout.on('data', (c) => {
      out += c;
    });
    child.stderr.on('data', (c) => {
      out += c;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, out }));
    child.stdin.end(input ?? '');
  });
}

describe('front door (PGlite storage)', () => {
  let h: Harness;
  const id = runId();
  const user = `alice-${id}@example.com`;

  beforeAll(async () => {
    h = await startHarness((dir) => createPgliteStorage({ dataDir: dir }));
  });
  afterAll(async () => {
    await h?.close();
  });

  it('logs in over verified TLS and runs as the Databricks role', async () => {
    const client = await h.connect(user, { application_name: 'front-door-test' });
    const { rows } = await client.query('select current_user, session_user');
    expect(rows[0]).toEqual({ current_user: user, session_user: user });
    expect((client as unknown as { processID: number }).processID).toBeGreaterThan(0);
    const params = await client.query("select current_setting('is_superuser') as su, current_database() as db");
    expect(params.rows[0]).toEqual({ su: 'off', db: 'databricks_postgres' });
    expect(h.authority.requests.at(-1)).toMatchObject({
      serverName: 'localhost',
      user,
      database: 'databricks_postgres',
    });
    await client.end();
  });

  it('sends no SNI when the client connects to an IP address', async () => {
    const client = await h.connect(user, { host: '127.0.0.1' });
    expect(h.authority.requests.at(-1)?.serverName).toBeUndefined();
    await client.end();
  });

  it.each([
    ['28P01', { user: `bob-${id}`, password: 'wrong' }],
    ['28000', { user: `missing-${id}` }],
    ['3D000', { user: `bob-${id}`, database: 'nodb' }],
    ['57P03', { user: `stopped-${id}` }],
  ])('refusal %s reaches the client as its SQLSTATE', async (code, cfg) => {
    const refusedBefore = h.door.stats().refusedAuth;
    const client = new pg.Client(h.config(cfg.user, cfg));
    expect(await sqlstateOf(client.connect())).toBe(code);
    expect(h.door.stats().refusedAuth).toBe(refusedBefore + 1);
  });

  it('reports a failing authority as an internal error, without crashing', async () => {
    expect(await sqlstateOf(new pg.Client(h.config(`throw-${id}`)).connect())).toBe('XX000');
  });

  it('declines GSSAPI encryption and then accepts an SSLRequest on the same connection', async () => {
    const answers = await new Promise<string>((resolve, reject) => {
      let got = '';
      const socket = netConnect({ host: '127.0.0.1', port: h.door.port }, () => socket.write(startupPacket(80877104)));
      socket.on('data', (c: Buffer) => {
        got += c.toString('latin1');
        if (got === 'N') socket.write(startupPacket(80877103));
        if (got === 'NS') socket.destroy();
      });
      socket.on('error', reject);
      socket.on('close', () => resolve(got));
    });
    expect(answers).toBe('NS');
  });

  it('refuses a startup without TLS like a hostssl-only server', async () => {
    const client = new pg.Client(h.config(user, { ssl: false }));
    const err = await client.connect().catch((e: Error & { code?: string }) => e);
    expect((err as { code?: string }).code).toBe('28000');
    expect(String((err as Error).message)).toBe(
      `no pg_hba.conf entry for host "127.0.0.1", user "${user}", database "databricks_postgres", no encryption`,
    );
    expect(h.door.stats().refusedNoTls).toBeGreaterThan(0);
  });

  it('answers garbage and oversized startup packets with a protocol error, and keeps serving', async () => {
    const oversized = Buffer.alloc(8);
    oversized.writeInt32BE(1_000_000, 0);
    expect(errorFieldsOf(await rawExchange(h.door.port, oversized))).toMatchObject({ S: 'FATAL', C: '08P01' });
    const tiny = Buffer.from([0, 0, 0, 2, 1, 2, 3, 4]);
    expect(errorFieldsOf(await rawExchange(h.door.port, tiny)).C).toBe('08P01');
    const badLayout = Buffer.concat([startupPacket(196608, { user: 'x' }).subarray(0, -1), Buffer.from('zz')]);
    badLayout.writeInt32BE(badLayout.length, 0);
    expect(errorFieldsOf(await rawExchange(h.door.port, badLayout)).C).toBe('08P01');
    const v2 = startupPacket(0x20000, {});
    expect(errorFieldsOf(await rawExchange(h.door.port, v2)).C).toBe('0A000');
    // A client that just disconnects mid-packet.
    expect(await rawExchange(h.door.port, Buffer.from([0, 0]), true)).toHaveLength(0);
    const client = await h.connect(user);
    expect((await client.query('select 1 as one')).rows[0].one).toBe(1);
    await client.end();
    expect(errorResponse({ severity: 'FATAL', code: '08P01', message: 'x' })[0]).toBe(0x45);
  });

  it('keeps an open session working after the authority starts refusing new logins', async () => {
    const client = await h.connect(user);
    h.authority.refuseAll = true;
    try {
      expect(await sqlstateOf(new pg.Client(h.config(user)).connect())).toBe('57P03');
      expect((await client.query('select current_user as u')).rows[0].u).toBe(user);
    } finally {
      h.authority.refuseAll = false;
    }
    await client.end();
  });

  it('supports PG17 direct TLS negotiation (the server sees a ClientHello first, not an SSLRequest)', async () => {
    // A relay in front of the door records the first byte each client sends: 0x16 opens a TLS ClientHello (direct),
    // 0x00 the length of the 8-byte SSLRequest (the default negotiation).
    const firstBytes: number[] = [];
    const relay = createServer((inbound) => {
      const outbound = netConnect({ host: '127.0.0.1', port: h.door.port });
      inbound.once('data', (chunk: Buffer) => firstBytes.push(chunk[0] as number));
      inbound.pipe(outbound).pipe(inbound);
      inbound.on('error', () => outbound.destroy());
      outbound.on('error', () => inbound.destroy());
    });
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
    const port = (relay.address() as AddressInfo).port;
    try {
      for (const extra of [{ sslnegotiation: 'direct' }, {}]) {
        const client = await h.connect(user, { host: 'localhost', port, ...extra } as pg.ClientConfig);
        expect((await client.query('select current_user as u')).rows[0].u).toBe(user);
        await client.end();
      }
      expect(firstBytes).toEqual([0x16, 0x00]);
    } finally {
      relay.close();
    }
  });

  it('lets psql connect with sslmode=verify-full, and COPY in and out', async () => {
    const conn = `host=localhost port=${h.door.port} user=${user} dbname=databricks_postgres sslmode=verify-full sslrootcert=${h.caFile}`;
    const env = { PGPASSWORD: `good-${user}`, PGCONNECT_TIMEOUT: '10' };
    const who = await runPsql([conn, '-XAtc', 'select current_user'], env);
    expect(who).toEqual({ code: 0, out: `${user}\n` });

    const table = `copy_${id}`;
    const copy = await runPsql(
      [
        conn,
        '-X',
        '-v',
        'ON_ERROR_STOP=1',
        '-c',
        `create table ${table}(a int, b text)`,
        '-c',
        `copy ${table} from stdin`,
      ],
      env,
      '1\tone\n2\ttwo\n',
    );
    expect(copy.code, copy.out).toBe(0);
    const out = await runPsql([conn, '-XAtc', `copy (select * from ${table} order by a) to stdout`], env);
    expect(out.out).toBe('1\tone\n2\ttwo\n');
  });

  it('counts connections and active sessions, and close() ends sessions', async () => {
    const client = await h.connect(user);
    const stats = h.door.stats();
    expect(stats.activeSessions).toBeGreaterThanOrEqual(1);
    expect(stats.connections).toBeGreaterThan(5);
    await client.end();
    // The door counts the session ended when it sees the socket close: wait for that, bounded.
    await vi.waitFor(() => expect(h.door.stats().activeSessions).toBe(stats.activeSessions - 1), { timeout: 5000 });
  });
});
