import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { LoginAuthority, LoginDecision, LoginRequest } from '../../src/contracts.js';
import { ensureCertificates } from '../../src/postgres/certs.js';
import { type FrontDoor, startFrontDoor } from '../../src/postgres/front-door.js';
import type { SessionStorage } from '../../src/postgres/storage.js';

/** The test PostgreSQL (trust auth): used as upstream storage and as the "direct" baseline. */
export const UPSTREAM_URL = process.env.LAKEBASE_TEST_UPSTREAM_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';

/** Unique suffix so parallel test files and reruns never collide on role or table names. */
export const runId = (): string => randomBytes(4).toString('hex');

/**
 * A stand-in for the workspace: password `good-<user>` logs in as `<user>`; a few magic names produce each refusal
 * the real authority can send. `refuseAll` simulates expired tokens / a stopped instance for new logins.
 */
export class TestAuthority implements LoginAuthority {
  refuseAll = false;
  readonly requests: Omit<LoginRequest, 'password'>[] = [];

  async authorizeLogin(request: LoginRequest): Promise<LoginDecision> {
    const { password, ...rest } = request;
    this.requests.push(rest);
    if (request.user.startsWith('throw-')) throw new Error('authority is broken');
    if (this.refuseAll) return { ok: false, sqlstate: '57P03', message: 'the database system is not available' };
    if (request.user.startsWith('missing-')) {
      return { ok: false, sqlstate: '28000', message: `role "${request.user}" does not exist` };
    }
    if (request.database.startsWith('nodb')) {
      return { ok: false, sqlstate: '3D000', message: `database "${request.database}" does not exist` };
    }
    if (request.user.startsWith('stopped-')) {
      return { ok: false, sqlstate: '57P03', message: 'the database system is starting up' };
    }
    if (password !== `good-${request.user}`) {
      return { ok: false, sqlstate: '28P01', message: `password authentication failed for user "${request.user}"` };
    }
    return {
      ok: true,
      role: request.user,
      database: request.database,
      resource: { kind: 'instance', name: 'test-instance' },
    };
  }
}

/** A front door on a random port with fresh certificates, in front of `storage`. */
export interface Harness {
  dataDir: string;
  caFile: string;
  caPem: string;
  door: FrontDoor;
  authority: TestAuthority;
  storage: SessionStorage;
  /** pg client config for `user` over verified TLS to host `localhost`. */
  config(user: string, extra?: pg.ClientConfig): pg.ClientConfig;
  connect(user: string, extra?: pg.ClientConfig): Promise<pg.Client>;
  close(): Promise<void>;
}

export async function startHarness(
  makeStorage: (dataDir: string) => SessionStorage,
  dataDir?: string,
): Promise<Harness> {
  const dir = dataDir ?? (await mkdtemp(join(tmpdir(), 'lakebase-pg-test-')));
  const certs = await ensureCertificates(dir);
  const authority = new TestAuthority();
  const storage = makeStorage(dir);
  const door = await startFrontDoor({
    host: '127.0.0.1',
    port: 0,
    tls: { certPem: certs.certPem, keyPem: certs.keyPem },
    authority,
    storage,
  });
  const config = (user: string, extra: pg.ClientConfig = {}): pg.ClientConfig => ({
    host: 'localhost',
    port: door.port,
    user,
    password: `good-${user}`,
    database: 'databricks_postgres',
    ssl: { ca: certs.caPem, rejectUnauthorized: true },
    ...extra,
  });
  const clients: pg.Client[] = [];
  return {
    dataDir: dir,
    caFile: certs.caFile,
    caPem: certs.caPem,
    door,
    authority,
    storage,
    config,
    async connect(user, extra) {
      const client = new pg.Client(config(user, extra));
      client.on('error', () => {});
      await client.connect();
      clients.push(client);
      return client;
    },
    async close() {
      await Promise.allSettled(clients.map((c) => c.end()));
      await door.close();
      await storage.close();
      if (!dataDir) await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Expects `promise` to reject with a pg error whose SQLSTATE is `code`. */
export async function sqlstateOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (err) {
    return (err as { code?: string }).code ?? `no code: ${String(err)}`;
  }
}
