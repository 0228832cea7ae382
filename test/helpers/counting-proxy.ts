/** An HTTP proxy on loopback that forwards every request to a target and records `METHOD path` of each. */
import http from 'node:http';
import { closeHttpServer, listenOnLoopback } from './loopback-http.js';

/** Forwards every request to `target` and records `METHOD path` of each (so "no request was sent" is observed). */
export class CountingProxy {
  readonly seen: string[] = [];
  url = '';
  private readonly server = http.createServer((req, res) => {
    this.seen.push(`${req.method} ${req.url}`);
    const upstream = http.request(
      new URL(req.url ?? '/', this.target),
      { method: req.method, headers: { ...req.headers, host: new URL(this.target).host } },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  constructor(private readonly target: string) {}
  async start(): Promise<this> {
    this.url = await listenOnLoopback(this.server);
    return this;
  }
  async stop(): Promise<void> {
    await closeHttpServer(this.server);
  }
}
