// A loopback TCP proxy that adds latency, run as its own process (so its CPU is not the measured client's): every
// chunk from the server is held `delayMs` before it is passed on, in order; the client's bytes go through at once.
// One query's round trip then takes at least `delayMs` more, as a network hop to Lakebase does (no `tc` needed).
// Run: `node bench/latency-proxy.mjs <upstream-host> <upstream-port> <delayMs>`; prints `{"port":N}` once listening.
// From a benchmark: `startLatencyProxy({ host, port, delayMs })`.
import { fork } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

/** Starts the proxy in a child process; resolves to its port and a stop(). */
export async function startLatencyProxy({ host, port, delayMs }) {
  const child = fork(fileURLToPath(import.meta.url), [host, String(port), String(delayMs)], { stdio: 'pipe' });
  const listening = await new Promise((resolve, reject) => {
    child.once('message', resolve);
    child.once('exit', (code) => reject(new Error(`latency proxy exited with ${code}`)));
  });
  return {
    port: listening.port,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', resolve);
        child.kill();
      }),
  };
}

function serve(upstreamHost, upstreamPort, delayMs) {
  const server = net.createServer((client) => {
    client.setNoDelay(true);
    const upstream = net.connect(upstreamPort, upstreamHost);
    upstream.setNoDelay(true);
    const held = []; // [dueAt, chunk], in arrival order
    let timer; // the pending release, if any
    const release = () => {
      timer = undefined;
      const now = performance.now();
      while (held.length > 0 && held[0][0] <= now) client.write(held.shift()[1]);
      if (held.length > 0) timer = setTimeout(release, Math.max(0, held[0][0] - now));
    };
    upstream.on('data', (chunk) => {
      held.push([performance.now() + delayMs, chunk]);
      if (timer === undefined) timer = setTimeout(release, delayMs);
    });
    client.pipe(upstream);
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
  });
  server.listen(0, '127.0.0.1', () => process.send?.({ port: server.address().port }));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [host, port, delayMs] = process.argv.slice(2);
  serve(host, Number(port), Number(delayMs));
}
