import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface Reply {
  status?: number;
  headers?: Record<string, string>;
  body?: unknown;
}

export type Handler = (req: RecordedRequest) => Reply | Promise<Reply>;

/** A local HTTP server with per-route handlers ("METHOD /path" without the query), recording every request. */
export class TestServer {
  readonly requests: RecordedRequest[] = [];
  readonly routes = new Map<string, Handler>();
  private server: http.Server | undefined;
  url = '';

  route(key: string, handler: Handler): this {
    this.routes.set(key, handler);
    return this;
  }

  count(key: string): number {
    return this.requests.filter((r) => `${r.method} ${r.path.split('?')[0]}` === key).length;
  }

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      req.on('end', async () => {
        const recorded = { method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers, body };
        this.requests.push(recorded);
        const handler = this.routes.get(`${recorded.method} ${recorded.path.split('?')[0]}`);
        const reply: Reply = handler
          ? await handler(recorded)
          : { status: 404, body: { error_code: 'NOT_FOUND', message: 'no route' } };
        if (res.destroyed) return;
        res.writeHead(reply.status ?? 200, { 'Content-Type': 'application/json', ...reply.headers });
        res.end(
          reply.body === undefined ? '' : typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body),
        );
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }
}

/** An unsigned JWT with the given claims (the client only decodes, never verifies). */
export function fakeJwt(claims: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part(claims)}.c2lnbmF0dXJl`;
}
