// The emulator as the benchmarks use it: `lakebase emulator --json` in its own process (as users run it), driven over
// its loopback admin API (`/__emulator/*`).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../packages/cli/dist/bin.js', import.meta.url));

/** The local PostgreSQL the benchmarks use as storage and as the baseline server. */
export const UPSTREAM = process.env.BENCH_UPSTREAM_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';

/**
 * Runs `lakebase emulator --json` as its own process, as users run it: the emulator's TLS and relay work then has its
 * own event loop instead of competing with the load generator's.
 */
export async function spawnEmulator(extraArgs = []) {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'lakebase-bench-'));
  const args = [CLI, 'emulator', '--data-dir', dataDir, '--api-port', '0', '--pg-port', '0', '--json', ...extraArgs];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = await once(createInterface({ input: child.stdout }), 'line');
  const info = JSON.parse(line);
  const ca = await readFile(info.caFile, 'utf8');
  const admin = async (route, body) => {
    const response = await fetch(`${info.databricksHost}/__emulator/${route}`, {
      method: body === undefined ? 'GET' : 'POST',
      // The admin API takes only calls a browser could not send cross-origin: this header, and JSON bodies.
      headers: { 'x-lakebase-emulator': '1', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`emulator admin ${route}: ${response.status} ${await response.text()}`);
    return response.json();
  };
  return {
    ...info,
    ca,
    pid: child.pid,
    admin,
    stats: () => admin('stats'),
    setTokenTtl: (seconds) => admin('token-ttl', { seconds }),
    faults: (body) => admin('faults', body),
    /** Mint a database token for the default endpoint (Autoscaling) with the current TTL. */
    async mintToken() {
      const response = await fetch(`${info.databricksHost}/api/2.0/postgres/credentials`, {
        method: 'POST',
        headers: { authorization: `Bearer ${info.databricksToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ endpoint: info.endpoint }),
      });
      if (!response.ok) throw new Error(`credential: ${response.status} ${await response.text()}`);
      return (await response.json()).token;
    },
    async stop() {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
