import { EventEmitter, once } from 'node:events';
import http from 'node:http';
import type { Socket } from 'node:net';
import { afterEach, beforeEach, expect } from 'vitest';
import { closeHttpServer, listenOnLoopback } from '../../../../test/helpers/loopback-http.js';

export interface StalledRequest {
  path: string;
  /** True once the request's socket closed. */
  closed: boolean;
}

/**
 * A workspace that accepts every request and never answers, except the paths (with query) given in `answers`, which
 * it answers 200 with that JSON. Records each request and when its socket closed, so a test can tell a cancelled
 * request from one left to its deadline.
 */
export class StallingWorkspace {
  readonly requests: StalledRequest[] = [];
  readonly answers = new Map<string, () => unknown>();
  /** Emits 'request' and 'close' (with the entry) as they happen, so a test waits for the event, not a time. */
  private readonly events = new EventEmitter();
  private readonly server = http.createServer((req, res) => {
    const entry: StalledRequest = { path: req.url ?? '', closed: false };
    this.requests.push(entry);
    this.events.emit('request', entry);
    (req.socket as Socket).once('close', () => {
      entry.closed = true;
      this.events.emit('close', entry);
    });
    const answer = this.answers.get(entry.path);
    if (answer) res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer()));
  });
  url = '';

  async start(): Promise<this> {
    this.url = await listenOnLoopback(this.server);
    return this;
  }

  async stop(): Promise<void> {
    await closeHttpServer(this.server);
  }

  /** Resolves once a request for `path` has arrived (fails after 2 s). */
  async waitFor(path: string): Promise<void> {
    await this.until('request', (r) => r.path === path, 2000);
    expect(this.requests.map((r) => r.path)).toContain(path);
  }

  /**
   * Whether the socket of the first request for `path` closed, waiting up to `waitMs` for it: far less than the REST
   * client's 10 s deadline, so a true answer means the request was cancelled, not left to time out.
   */
  async closed(path: string, waitMs = 1000): Promise<boolean> {
    await this.until('close', (r) => r.path === path && r === this.requests.find((q) => q.path === path), waitMs);
    return this.requests.find((r) => r.path === path)?.closed ?? false;
  }

  /** Resolves once an entry matching `match` exists or the `event` for one is emitted, or after `waitMs`. */
  private async until(event: 'request' | 'close', match: (r: StalledRequest) => boolean, waitMs: number) {
    const done = (r: StalledRequest) => match(r) && (event === 'request' || r.closed);
    if (this.requests.some(done)) return;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), waitMs);
    try {
      for (;;) {
        const [entry] = (await once(this.events, event, { signal: controller.signal })) as [StalledRequest];
        if (done(entry)) return;
      }
    } catch {
      // The bound passed: the caller's assertion says what was missing.
    } finally {
      clearTimeout(timer);
    }
  }
}

/** An Autoscaling endpoint's settings for a client of a stalling workspace (add its `DATABRICKS_HOST`). */
export const STALLING_ENDPOINT_ENV = {
  DATABRICKS_TOKEN: 'dapi0123456789abcdef0123456789abcdef',
  LAKEBASE_ENDPOINT: 'projects/p/branches/b/endpoints/e',
  LAKEBASE_DATABASE: 'test',
};

/** A fresh stalling workspace for each test of the calling file, stopped after it; call the result to reach it. */
export function stallingWorkspacePerTest(): () => StallingWorkspace {
  let workspace: StallingWorkspace | undefined;
  beforeEach(async () => {
    workspace = await new StallingWorkspace().start();
  });
  afterEach(async () => {
    await workspace?.stop();
  });
  return () => {
    if (!workspace) throw new Error('the stalling workspace exists only inside a test');
    return workspace;
  };
}
