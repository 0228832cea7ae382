/**
 * A workspace that misbehaves: a small local HTTP server on 127.0.0.1 stands in for the Databricks REST API and
 * answers the credential call badly (hangs, drips bytes, sends a token that has already expired or expires in a year,
 * a huge body, broken JSON). The pool runs with its default timeouts (only PGCONNECT_TIMEOUT shortened where the test
 * needs the connect timeout to pass) and with PGUSER set, as Databricks Apps sets it. Each case must end in a coded
 * `LAKEBASE_CREDENTIAL_FAILED` within the connect timeout, without hammering the workspace.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  createLakebasePool,
  isLakebaseError,
  type LakebaseError,
  type LakebasePool,
  type LakebasePoolOptions,
} from '@lakebase-kit/client';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MAX_TIMER_DELAY_MS } from '../../packages/client/src/time.js';
import { FakeTime, flush } from '../../packages/client/test/helpers/fake-time.js';
import { closeHttpServer, listenOnLoopback } from '../helpers/loopback-http.js';

const CREDENTIALS = '/api/2.0/database/credentials';
const USER = 'someone@example.com';

type Behaviour = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/** The stand-in workspace: every credential request is counted and answered by the current behaviour. */
class MisbehavingWorkspace {
  credentialRequests = 0;
  behaviour: Behaviour = (_req, res) => res.writeHead(500).end();
  private readonly server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.url?.startsWith(CREDENTIALS)) this.credentialRequests++;
      this.behaviour(req, res);
    });
  });
  private readonly drips = new Set<NodeJS.Timeout>();
  url = '';

  async start(): Promise<void> {
    this.url = await listenOnLoopback(this.server);
  }

  /** Sends headers, then one byte every 100 ms, forever. */
  drip(): Behaviour {
    return (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write('{"token": "');
      const timer = setInterval(() => res.write('a'), 100);
      this.drips.add(timer);
      res.on('close', () => clearInterval(timer));
    };
  }

  async stop(): Promise<void> {
    for (const timer of this.drips) clearInterval(timer);
    await closeHttpServer(this.server);
  }
}

function credential(expiresAt: Date): Behaviour {
  return (_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ token: `lakebase-db-token-${Date.now()}`, expiration_time: expiresAt.toISOString() }));
  };
}

// A fresh server per test: requests a closed pool still has in flight (until their own deadline) go nowhere.
let workspace = new MisbehavingWorkspace();
const home = mkdtempSync(path.join(tmpdir(), 'lakebase-misbehaving-'));
const pools: LakebasePool[] = [];
const warnings: { message: string; fields: Record<string, unknown> | undefined }[] = [];

function pool(env: Record<string, string> = {}, options: Partial<LakebasePoolOptions> = {}): LakebasePool {
  const created = createLakebasePool({
    ...options,
    env: {
      HOME: home,
      DATABRICKS_HOST: workspace.url,
      DATABRICKS_TOKEN: 'dapi0123456789abcdef0123456789abcdef',
      LAKEBASE_INSTANCE_NAME: 'misbehaving',
      PGHOST: '127.0.0.1',
      PGUSER: USER,
      ...env,
    },
    logger: { warn: (message, fields) => warnings.push({ message, fields }) },
  });
  pools.push(created);
  return created;
}

/** The first query's error. */
async function firstQueryFailure(p: LakebasePool): Promise<{ error: LakebaseError }> {
  return { error: await failureOf(p.query('select 1')) };
}

async function failureOf(query: Promise<unknown>): Promise<LakebaseError> {
  const error = await query.then(
    () => {
      throw new Error('the query should have failed');
    },
    (e: unknown) => e,
  );
  if (!isLakebaseError(error)) throw error;
  return error;
}

/** Lets real I/O (the workspace's sockets) run until `ready()` holds; bounded by a number of event-loop turns. */
async function ioUntil(ready: () => boolean): Promise<void> {
  for (let turn = 0; turn < 100_000 && !ready(); turn++) await new Promise((resolve) => setImmediate(resolve));
}

beforeEach(async () => {
  workspace = new MisbehavingWorkspace();
  await workspace.start();
});
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.end()));
  await workspace.stop();
  warnings.length = 0;
});
afterAll(() => rmSync(home, { recursive: true, force: true }));

describe('a credential endpoint that hangs or drips bytes', () => {
  const cases: [string, () => Behaviour, Record<string, string>][] = [
    ['hangs, PGUSER set', () => () => {}, {}],
    ['hangs, no PGUSER', () => () => {}, { PGUSER: '' }],
    ['drips, PGUSER set', () => workspace.drip(), {}],
    ['drips, no PGUSER', () => workspace.drip(), { PGUSER: '' }],
  ];
  for (const [name, behaviour, env] of cases) {
    it(`${name}: the first query fails with LAKEBASE_CREDENTIAL_FAILED (timeout) within the connect timeout + 1 s`, async () => {
      workspace.behaviour = behaviour();
      // The pool's clock and timers are fake: the connect timeout passes when the test says, and only then.
      const time = new FakeTime();
      let settled = false;
      const query = pool({ PGCONNECT_TIMEOUT: '2', ...env }, { clock: time, timers: time })
        .query('select 1')
        .finally(() => {
          settled = true;
        });
      const failure = failureOf(query);
      await ioUntil(() => workspace.credentialRequests === 1);
      await time.advance(1999);
      expect(settled).toBe(false);
      await time.advance(1);
      const error = await failure;
      expect(error.code).toBe('LAKEBASE_CREDENTIAL_FAILED');
      expect(error.details).toMatchObject({ reason: 'timeout' });
      expect(error.suggestion).toBeTruthy();
      expect(workspace.credentialRequests).toBe(1); // one request, bounded by the connect timeout, not retried
    });
  }
});

describe('a token that has already expired when it arrives', () => {
  it('is a failed refresh: backoff of at least 1 s, one coded warning, and an idle pool goes quiet', async () => {
    // On a fake clock: the token is an hour old by it, and each wait between attempts is a timer the test fires.
    const time = new FakeTime();
    workspace.behaviour = credential(new Date(time.now() - 3_600_000));
    const p = pool({}, { clock: time, timers: time });
    let settled = false;
    const failure = failureOf(
      p.query('select 1').finally(() => {
        settled = true;
      }),
    );
    // The query's connect-timeout timer is pending from the start; each failed attempt adds its backoff timer.
    await ioUntil(() => workspace.credentialRequests === 1);
    const base = time.pending;
    const waits: number[] = [];
    for (let step = 0; step < 20 && !settled; step++) {
      await ioUntil(() => settled || time.pending > base);
      if (settled) break;
      const wait = (time.nextAt as number) - time.now();
      waits.push(wait);
      await time.advance(wait);
    }
    const error = await failure;
    expect(error.code).toBe('LAKEBASE_CREDENTIAL_FAILED');
    expect(error.details).toMatchObject({ causeCode: 'LAKEBASE_API_ERROR', reason: 'token-expired' });
    // Three attempts at least 1 s apart.
    expect(workspace.credentialRequests).toBe(3);
    expect(waits).toHaveLength(2);
    for (const wait of waits) expect(wait).toBeGreaterThanOrEqual(1000);
    const idleStart = workspace.credentialRequests;
    // Idle for 1.5 s of the fake clock; then a few event-loop turns for a request those timers started to arrive.
    await time.advance(1500);
    for (let turn = 0; turn < 50; turn++) await flush();
    expect(workspace.credentialRequests - idleStart).toBeLessThanOrEqual(2);
    const reports = warnings.filter((w) => w.fields?.reason === 'token-expired');
    expect(reports).toHaveLength(1);
    expect(reports[0]?.fields).toMatchObject({ code: 'LAKEBASE_API_ERROR' });
  });
});

describe('a token that expires far in the future', () => {
  it('a year-long token: one request, no timer overflow', async () => {
    workspace.behaviour = credential(new Date(Date.now() + 365 * 24 * 3_600_000));
    const overflow: Error[] = [];
    const onWarning = (w: Error) => {
      if (w.name === 'TimeoutOverflowWarning') overflow.push(w);
    };
    process.on('warning', onWarning);
    try {
      // Every timer the pool sets is recorded: an overflowing one (> 2^31-1 ms) would fire after 1 ms, in a loop.
      const delays: number[] = [];
      const real = globalThis.setTimeout;
      const spy = vi.spyOn(globalThis, 'setTimeout').mockImplementation(((fn: () => void, ms?: number) => {
        delays.push(ms ?? 0);
        return real(fn, ms);
      }) as typeof setTimeout);
      try {
        const p = pool();
        await p.lakebase.credentials?.getToken();
        await flush(); // the refresh timer is set once the token is in; a warning is emitted on the next tick
      } finally {
        spy.mockRestore();
      }
      expect(delays.length).toBeGreaterThan(0);
      expect(Math.max(...delays)).toBeLessThanOrEqual(MAX_TIMER_DELAY_MS);
      expect(workspace.credentialRequests).toBe(1);
      expect(overflow).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });
});

describe('responses that are not a credential', () => {
  it('a huge body is refused with a code, read no further and not retried', async () => {
    let sent = 0;
    workspace.behaviour = (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      const chunk = Buffer.alloc(64 * 1024, 'a');
      const pump = () => {
        while (sent < 100 * 1024 * 1024 && res.write(chunk)) sent += chunk.length;
        if (sent < 100 * 1024 * 1024) res.once('drain', pump);
        else res.end();
      };
      res.write('{"token": "');
      pump();
    };
    const { error } = await firstQueryFailure(pool());
    expect(error.code).toBe('LAKEBASE_CREDENTIAL_FAILED');
    // Refused as too large (not a timeout of the connect wait), and not retried.
    expect(error.details).toMatchObject({ causeCode: 'LAKEBASE_API_ERROR', reason: 'response-too-large' });
    expect(workspace.credentialRequests).toBe(1);
    expect(sent).toBeLessThan(20 * 1024 * 1024); // the client stopped reading long before 100 MB
  });

  it('a declared Content-Length over the cap is refused before reading', async () => {
    workspace.behaviour = (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': String(50 * 1024 * 1024) });
      res.write('{');
    };
    const { error } = await firstQueryFailure(pool());
    expect(error.details).toMatchObject({ causeCode: 'LAKEBASE_API_ERROR', reason: 'response-too-large' });
  });

  it('broken JSON fails at once with a code', async () => {
    workspace.behaviour = (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{"token": "abc');
    };
    const { error } = await firstQueryFailure(pool());
    expect(error.code).toBe('LAKEBASE_CREDENTIAL_FAILED');
    // At once: the failure is the broken JSON itself (not the connect timeout's), with no retry.
    expect(error.details).toMatchObject({ causeCode: 'LAKEBASE_API_ERROR', reason: 'invalid-json' });
    expect(workspace.credentialRequests).toBe(1);
  });
});
