/**
 * The proxy's guard rails and lifecycle over real sockets: loopback unless a local password guards it, SCRAM with
 * 28P01 for a wrong password, a coded error for a taken port, workspace failures as a PostgreSQL error that carries
 * the LAKEBASE_* code, SSLRequest/GSSENCRequest answers, TLS to local clients, /healthz and the drain on close, and
 * no token in any log line.
 */
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, it, vi } from 'vitest';
import { LakebaseRoles } from '../../src/index.js';
import { pgWire } from '../../src/toolkit.js';
import { tokenCollectingFetch } from '../helpers/emulator.js';
import { libpqEnv, tool, useProxies } from './helpers.js';

const { emulator, proxy } = useProxies();

function client(port: number, extra: pg.ClientConfig = {}): pg.Client {
  return new pg.Client({ host: '127.0.0.1', port, user: 'ignored', database: 'databricks_postgres', ...extra });
}

describe('safe by default', () => {
  it('refuses to listen off loopback without a local password, before binding anything', async () => {
    await expect(proxy({ listenAddress: '0.0.0.0' })).rejects.toMatchObject({
      code: 'LAKEBASE_PROXY_UNSAFE_ADDRESS',
      suggestion: expect.stringContaining('--local-password'),
    });
    await expect(proxy({ listenAddress: '::' })).rejects.toMatchObject({ code: 'LAKEBASE_PROXY_UNSAFE_ADDRESS' });
  });

  it('a taken port is LAKEBASE_PORT_IN_USE', async () => {
    const first = await proxy();
    await expect(proxy({ listenPort: first.port })).rejects.toMatchObject({
      code: 'LAKEBASE_PORT_IN_USE',
      message: expect.stringContaining(String(first.port)),
    });
    // A taken health port too (the listener already bound is released again).
    await expect(proxy({ healthPort: first.port })).rejects.toMatchObject({ code: 'LAKEBASE_PORT_IN_USE' });
  });

  it('with a local password: SCRAM-SHA-256, a wrong password is 28P01, the right one logs in', async () => {
    const p = await proxy({ localPassword: 'correct horse' });
    const wrong = client(p.port, { password: 'battery staple' });
    await expect(wrong.connect()).rejects.toMatchObject({ code: '28P01' });
    const psqlWrong = tool('psql', ['-AtX', '-c', 'select 1'], libpqEnv(p, { PGPASSWORD: 'nope' }));
    await expect(psqlWrong).rejects.toThrow(/password authentication failed/);
    const right = client(p.port, { password: 'correct horse' });
    await right.connect();
    expect((await right.query('select current_user as u')).rows[0].u).toBe(emulator().user);
    await right.end();
    const { stdout } = await tool('psql', ['-AtX', '-c', 'select 7'], libpqEnv(p, { PGPASSWORD: 'correct horse' }));
    expect(stdout.trim()).toBe('7');
    expect(p.stats().refused).toBe(2);
  });

  it('never logs a token', async () => {
    const tokens = new Set<string>();
    const fetch = tokenCollectingFetch(tokens);
    const lines: string[] = [];
    const log = (message: string, fields?: Record<string, unknown>) =>
      lines.push(`${message} ${JSON.stringify(fields)}`);
    const p = await proxy({ fetch, logger: { debug: log, info: log, warn: log } });
    const c = client(p.port);
    await c.connect();
    await c.query('select 1');
    await c.end();
    await p.close();
    await fetch.collected();
    expect(tokens.size).toBeGreaterThan(0);
    expect(lines.some((line) => line.includes('session opened'))).toBe(true);
    for (const token of tokens) expect(lines.join('\n')).not.toContain(token);
  });
});

describe('--allow-user: a user other than the identity logs in with its own secret, never with the proxy token', () => {
  /** A second workspace user with a PostgreSQL role, and a database token of its own for the proxy's target. */
  async function otherUser(email: string): Promise<string> {
    const em = emulator();
    em.workspace.addUser(email);
    const { token } = await em.workspace.mintDatabaseToken(email, [{ kind: 'instance', name: em.instanceName }]);
    return token;
  }
  const whoAmI = async (c: pg.Client) => (await c.query('select current_user as u')).rows[0].u;

  it('without allowUser the named user is replaced by the identity, and no password is asked', async () => {
    const p = await proxy();
    const c = client(p.port, { user: 'someone-else' });
    await c.connect();
    expect(await whoAmI(c)).toBe(emulator().user);
    await c.end();
  });

  it('a user with its own token logs in as itself; the identity needs no password; psql too', async () => {
    const token = await otherUser('bob@example.com');
    const p = await proxy({ allowUser: true });
    const bob = client(p.port, { user: 'bob@example.com', password: token });
    await bob.connect();
    expect(await whoAmI(bob)).toBe('bob@example.com');
    await bob.end();
    const own = client(p.port, { user: emulator().user });
    await own.connect();
    expect(await whoAmI(own)).toBe(emulator().user);
    await own.end();
    const { stdout } = await tool(
      'psql',
      ['-AtX', '-c', 'select current_user'],
      libpqEnv(p, { PGUSER: 'bob@example.com', PGPASSWORD: token }),
    );
    expect(stdout.trim()).toBe('bob@example.com');
  });

  it('refuses another user with no password, an empty one, a wrong one, or the token of a third identity', async () => {
    await otherUser('carol@example.com');
    const daveToken = await otherUser('dave@example.com');
    const p = await proxy({ allowUser: true });
    // libpq with no password at all gives up on the request for one.
    const noPassword = tool('psql', ['-wAtX', '-c', 'select 1'], libpqEnv(p, { PGUSER: 'carol@example.com' }));
    await expect(noPassword).rejects.toThrow(/no password supplied/);
    // An empty password is refused by the proxy itself, with a hint, before any login upstream.
    const empty = client(p.port, { user: 'carol@example.com', password: '' });
    await expect(empty.connect()).rejects.toMatchObject({
      code: '28P01',
      hint: expect.stringContaining('--allow-user'),
    });
    // Anything else reaches Lakebase, which refuses what is not carol's own token.
    const wrong = client(p.port, { user: 'carol@example.com', password: 'not-a-token' });
    await expect(wrong.connect()).rejects.toMatchObject({ code: expect.stringMatching(/^28/) });
    const borrowed = client(p.port, { user: 'carol@example.com', password: daveToken });
    await expect(borrowed.connect()).rejects.toMatchObject({ code: expect.stringMatching(/^28/) });
    expect(p.stats().refused).toBe(3); // the empty one here, the two above upstream; psql's never got that far
  });

  it("a native password role logs in with its password; the proxy's token never stands in for it", async () => {
    const em = emulator();
    const env = em.env('autoscaling');
    const role = await new LakebaseRoles({ env }).create('reporting_proxy');
    const p = await proxy({ env, allowUser: true });
    const reporting = client(p.port, { user: 'reporting_proxy', password: role.password as string });
    await reporting.connect();
    expect(await whoAmI(reporting)).toBe('reporting_proxy');
    await reporting.end();
    const guessed = client(p.port, { user: 'reporting_proxy', password: 'guess' });
    await expect(guessed.connect()).rejects.toMatchObject({ code: '28P01' });
  });

  it('cannot be combined with a local password (one password cannot be both)', async () => {
    await expect(proxy({ allowUser: true, localPassword: 'correct horse' })).rejects.toMatchObject({
      code: 'LAKEBASE_PROXY_OPTION_CONFLICT',
      suggestion: expect.stringContaining('--allow-user'),
    });
  });

  it('never logs the password a client passes through', async () => {
    const token = await otherUser('erin@example.com');
    const lines: string[] = [];
    const log = (message: string, fields?: Record<string, unknown>) =>
      lines.push(`${message} ${JSON.stringify(fields)}`);
    const p = await proxy({ allowUser: true, logger: { debug: log, info: log, warn: log } });
    const erin = client(p.port, { user: 'erin@example.com', password: token });
    await erin.connect();
    await erin.end();
    const wrong = client(p.port, { user: 'erin@example.com', password: `${token}x` });
    await expect(wrong.connect()).rejects.toMatchObject({ code: expect.stringMatching(/^28/) });
    expect(lines.some((line) => line.includes('session opened'))).toBe(true);
    expect(lines.join('\n')).not.toContain(token.slice(0, 40));
  });
});

describe('--read-only', () => {
  it("reaches the endpoint's read host: sessions are read-only", async () => {
    const em = emulator();
    const postgresApi = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${em.databricksHost}/api/2.0/postgres/${path}`, {
        method,
        headers: { Authorization: `Bearer ${em.databricksToken}`, 'Content-Type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return (await res.json()) as Record<string, unknown>;
    };
    const branch = em.endpoint.replace(/\/endpoints\/[^/]+$/, '');
    const created = await postgresApi('POST', `${branch}/endpoints?endpoint_id=proxy-reader`, {
      spec: { endpoint_type: 'ENDPOINT_TYPE_READ_ONLY' },
    });
    // Until the create operation reports done (the emulator's operations take 100 ms), polled, bounded.
    await vi.waitFor(async () => expect((await postgresApi('GET', created.name as string)).done).toBe(true), {
      timeout: 5000,
      interval: 20,
    });
    try {
      const p = await proxy({ env: em.env('autoscaling'), readOnly: true });
      const c = client(p.port);
      await c.connect();
      try {
        expect((await c.query("select current_setting('transaction_read_only') as ro")).rows[0].ro).toBe('on');
        await expect(c.query('create table proxy_ro_refused (id int)')).rejects.toMatchObject({ code: '25006' });
      } finally {
        await c.end();
      }
    } finally {
      await postgresApi('DELETE', `${branch}/endpoints/proxy-reader`);
    }
  });
});

describe('workspace failures reach the client as a PostgreSQL error', () => {
  it('a failing credential endpoint is a FATAL whose message carries the LAKEBASE_* code and the suggestion', async () => {
    emulator().workspace.faults.failFraction(1, 500);
    const p = await proxy({ apiRetry: { maxAttempts: 1 }, credentialOptions: { maxAttempts: 1 } });
    const c = client(p.port);
    const error = (await c.connect().then(
      () => undefined,
      (e: unknown) => e,
    )) as { message: string; code: string; hint?: string };
    expect(error.message).toMatch(/^LAKEBASE_[A-Z_]+: /);
    expect(error.code).toBe('08004');
    expect(error.hint).toBeTruthy();
    expect(error.message).toContain(error.hint as string);
    emulator().workspace.faults.clear();
    const again = client(p.port);
    await again.connect(); // the next connection tries again
    await again.end();
  });
});

describe('an unreachable database', () => {
  it('is a FATAL carrying LAKEBASE_CONNECT_FAILED, not a dropped socket', async () => {
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve())); // nothing listens there now
    const p = await proxy({ env: { ...emulator().env('provisioned'), PGHOST: '127.0.0.1', PGPORT: String(port) } });
    const error = (await client(p.port)
      .connect()
      .then(
        () => undefined,
        (e: unknown) => e,
      )) as { message: string; code: string };
    expect(error.code).toBe('08004');
    expect(error.message).toMatch(/^LAKEBASE_CONNECT_FAILED: Cannot reach the database at 127\.0\.0\.1:/);
  });
});

/** Sends one startup-phase packet on a fresh socket and returns the first chunk answered. */
async function firstChunk(port: number, packet: Buffer): Promise<Buffer> {
  const socket = net.connect({ host: '127.0.0.1', port });
  try {
    socket.write(packet);
    const [chunk] = (await Promise.race([
      new Promise((resolve) => socket.once('data', (data: Buffer) => resolve([data]))),
      new Promise((_, reject) => socket.once('close', () => reject(new Error('closed without an answer')))),
    ])) as [Buffer];
    return chunk;
  } finally {
    socket.destroy();
  }
}

const firstAnswer = async (port: number, packet: Buffer) =>
  (await firstChunk(port, packet)).subarray(0, 1).toString('latin1');

describe('encryption requests', () => {
  it('answers GSSENCRequest and (without --tls) SSLRequest with N; sslmode=require then fails as libpq says', async () => {
    const p = await proxy();
    expect(await firstAnswer(p.port, pgWire.startupPacket(pgWire.GSSENC_REQUEST_CODE))).toBe('N');
    expect(await firstAnswer(p.port, pgWire.startupPacket(pgWire.SSL_REQUEST_CODE))).toBe('N');
    const required = tool('psql', ['-AtX', '-c', 'select 1'], libpqEnv(p, { PGSSLMODE: 'require' }));
    await expect(required).rejects.toThrow(/server does not support SSL/);
    const { stdout } = await tool('psql', ['-AtX', '-c', 'select 1'], libpqEnv(p, { PGGSSENCMODE: 'prefer' }));
    expect(stdout.trim()).toBe('1');
  });

  it('a protocol the proxy does not speak is answered with a FATAL ErrorResponse, not a dropped socket', async () => {
    const p = await proxy();
    const answer = await firstChunk(p.port, pgWire.startupPacket(0x0002_0000, { user: 'x' }));
    expect(answer.subarray(0, 1).toString('latin1')).toBe('E');
    expect(pgWire.parseErrorFields(answer.subarray(5))).toMatchObject({ S: 'FATAL', C: '0A000' });
  });

  it('with a certificate, local clients may use verify-full TLS', async () => {
    const dir = join(emulator().dataDir, 'tls');
    const [certPem, keyPem] = await Promise.all([
      readFile(join(dir, 'server.pem'), 'utf8'),
      readFile(join(dir, 'server-key.pem'), 'utf8'),
    ]);
    const p = await proxy({ tls: { certPem, keyPem } });
    const env = libpqEnv(p, { PGHOST: 'localhost', PGSSLMODE: 'verify-full', PGSSLROOTCERT: emulator().caFile });
    const { stdout } = await tool('psql', ['-AtX', '-c', 'select 1'], env);
    expect(stdout.trim()).toBe('1');
    const c = client(p.port, { host: 'localhost', ssl: { ca: await readFile(emulator().caFile, 'utf8') } });
    await c.connect();
    const stream = (c as unknown as { connection: { stream: { encrypted?: boolean; authorized?: boolean } } })
      .connection.stream;
    expect(stream.encrypted && stream.authorized).toBe(true);
    await c.end();
  });
});

describe('lifecycle', () => {
  it('/healthz answers 200 while accepting; close() drains open clients, then stops', async () => {
    const p = await proxy({ healthPort: 0 });
    const healthz = `http://127.0.0.1:${p.healthPort}/healthz`;
    expect((await fetch(healthz)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${p.healthPort}/other`)).status).toBe(404);
    const c = client(p.port);
    await c.connect();
    let closed = false;
    const closing = p.close({ drainMs: 60_000 }).then(() => {
      closed = true;
    });
    expect((await fetch(healthz)).status).toBe(503);
    // Draining: the open session still works, a new connection is refused.
    expect((await c.query('select 3 as n')).rows[0].n).toBe(3);
    await expect(client(p.port).connect()).rejects.toThrow(/ECONNREFUSED/);
    expect(closed).toBe(false);
    await c.end();
    await closing;
    expect(p.stats().active).toBe(0);
  });

  it('close() ends the clients still open when the drain time is up', async () => {
    const p = await proxy();
    const c = client(p.port);
    c.on('error', () => {});
    await c.connect();
    const ended = new Promise<void>((resolve) => c.once('end', () => resolve()));
    await p.close({ drainMs: 1 });
    await ended;
    expect(p.stats().active).toBe(0);
  });
});
