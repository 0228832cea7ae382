import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, beforeEach, expect } from 'vitest';

export interface StalledRequest {
  path: string;
  /** `performance.now()` when the request's socket closed. */
  closedAt?: number;
}

/**
 * A workspace that accepts every request and never answers, except the paths (with query) given in `answers`, which
 * it answers 200 with that JSON. Records each request and when its socket closed, so a test can tell a cancelled
 * request from one left to its deadline.
 */
export class StallingWorkspace {
  readonly requests: StalledRequest[] = [];
  readonly answers = new Map<string, () => unknown>();
  private readonly server = http.createServer((req, res) => {
    const entry: StalledRequest = { path: req.url ?? '' };
    this.requests.push(entry);
    (req.socket as Socket).once('close', () => {
      entry.closedAt = performance.now();
    });
    const answer = this.answers.get(entry.path);
    if (answer) res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer()));
  });
  url = '';

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Resolves once a request for `path` has arrived (fails after 2 s). */
  async waitFor(path: string): Promise<void> {
    for (let i = 0; i < 200 && !this.requests.some((r) => r.path === path); i++)
      await new Promise((resolve) => setTimeout(resolve, 10));
    expect(this.requests.map((r) => r.path)).toContain(path);
  }

  /** When the socket of the first request for `path` closed, waiting up to `waitMs` for it (Infinity if never). */
  async closedAt(path: string, waitMs = 1000): Promise<number> {
    const request = this.requests.find((r) => r.path === path);
    for (let waited = 0; waited < waitMs && request?.closedAt === undefined; waited += 10)
      await new Promise((resolve) => setTimeout(resolve, 10));
    return request?.closedAt ?? Number.POSITIVE_INFINITY;
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
