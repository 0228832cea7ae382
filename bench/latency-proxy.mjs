// A loopback TCP proxy that adds latency, run as its own process (so its CPU is not the measured client's): every
// chunk from the server is held `delayMs` before it is passed on, in order; the client's bytes go through at once.
// One query's round trip then takes at least `delayMs` more, as a network hop to Lakebase does (no `tc` needed).
// Run: `node bench/latency-proxy.mjs <upstream-host> <upstream-port> <delayMs>`; prints `{"port":N}` once listening.
// From a benchmark: `startLatencyProxy({ host, port, delayMs })`; its `releaseTurns()` tells how many replies (of all
// connections) each turn of the proxy's event loop released: Node's timers tick in whole milliseconds, so replies
// held over the same tick leave together.
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
    /** Median and mean of the replies released per event-loop turn since the last call. */
    releaseTurns: () =>
      new Promise((resolve) => {
        child.once('message', resolve);
        child.send('turns');
      }),
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', resolve);
        child.kill();
      }),
  };
}

/** Replies released in the current event-loop turn, and the counts of past turns. */
let turn = 0;
let turns = [];
function countRelease() {
  if (turn++ === 0)
    setImmediate(() => {
      turns.push(turn);
      turn = 0;
    });
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
      while (held.length > 0 && held[0][0] <= now) {
        client.write(held.shift()[1]);
        countRelease();
      }
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
  process.on('message', () => {
    const sorted = turns.sort((a, b) => a - b);
    const mean = sorted.reduce((sum, n) => sum + n, 0) / Math.max(1, sorted.length);
    process.send({ median: sorted[sorted.length >> 1] ?? 0, mean });
    turns = [];
  });
}
