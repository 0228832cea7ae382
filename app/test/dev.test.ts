import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const DEV_SCRIPT = fileURLToPath(new URL('../scripts/dev.mjs', import.meta.url));

async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

/** A port picked by freePort was taken by another process before the dev servers bound it. */
const PORT_TAKEN = /EADDRINUSE|already in use/i;

interface DevRun {
  child: ChildProcess;
  vite: string;
  output: () => string;
}

function startDev(dataDir: string, apiPort: number, vitePort: number): DevRun {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !/^(PG|LAKEBASE_|DATABRICKS_|DB_POOL|NODE_ENV$)/.test(name)),
  );
  // Its own process group, so cleanup can end the watchers and servers under it even if dev.mjs is stuck.
  const child = spawn(process.execPath, [DEV_SCRIPT], {
    env: { ...clean, PORT: String(apiPort), VITE_PORT: String(vitePort), LAKEBASE_EMULATOR_DIR: dataDir },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  const collect = (chunk: Buffer) => {
    output += chunk.toString();
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  return { child, vite: `http://localhost:${vitePort}`, output: () => output };
}

/** SIGKILL to the whole group: the last resort, when SIGTERM did not end it. */
function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

type Health = { status?: string; database?: { reachable?: boolean } };

/** Polls /api/health through Vite's proxy until it is ok, dev exits, a port turns out taken, or `deadline`. */
async function waitHealthy(run: DevRun, deadline: number): Promise<Health | undefined> {
  let health: Health | undefined;
  while (health?.status !== 'ok' && Date.now() < deadline) {
    if (run.child.exitCode !== null || PORT_TAKEN.test(run.output())) return undefined;
    health = await fetch(`${run.vite}/api/health`, { signal: AbortSignal.timeout(5000) })
      .then((r) => (r.ok ? (r.json() as Promise<Health>) : undefined))
      .catch(() => undefined);
    if (health?.status !== 'ok') await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return health;
}

/**
 * `npm run dev`: the server (tsc --watch + node --watch) and Vite's dev server, which proxies /api to it.
 * Every wait is bounded and the whole process group is killed afterwards, so a failure reports dev's output instead of
 * hanging, and no watcher outlives the test. A port that another test took between freePort() and the bind is retried
 * once with new ports.
 */
describe('npm run dev', () => {
  const runs: DevRun[] = [];
  let dataDir: string | undefined;

  afterAll(async () => {
    for (const { child } of runs) {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = once(child, 'exit');
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 20_000))]);
      }
      killGroup(child);
    }
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('serves the UI from Vite and the API through its /api proxy, and stops on SIGTERM', async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'lakebase-app-dev-'));
    const deadline = Date.now() + 100_000;
    let run: DevRun | undefined;
    let health: Health | undefined;
    for (let attempt = 0; attempt < 2 && health?.status !== 'ok'; attempt++) {
      if (run) {
        // The previous attempt lost a port race: end it completely before trying again.
        const exited = run.child.exitCode === null ? once(run.child, 'exit') : Promise.resolve();
        run.child.kill('SIGTERM');
        await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 20_000))]);
        killGroup(run.child);
      }
      run = startDev(dataDir, await freePort(), await freePort());
      runs.push(run);
      health = await waitHealthy(run, deadline);
      if (!PORT_TAKEN.test(run.output())) break;
    }
    const dev = run as DevRun;
    expect(dev.child.exitCode, dev.output()).toBeNull();
    expect(health, dev.output()).toMatchObject({ status: 'ok', database: { reachable: true } });
    const page = await (await fetch(`${dev.vite}/`, { signal: AbortSignal.timeout(10_000) })).text();
    expect(page).toContain('/@vite/client'); // Vite's dev page, with hot reload, not the built UI

    const exited = once(dev.child, 'exit');
    dev.child.kill('SIGTERM');
    const stopped = await Promise.race([
      exited.then(([code]) => ({ code })),
      new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 25_000)),
    ]);
    expect(stopped, `still running 25 s after SIGTERM:\n${dev.output()}`).toEqual({ code: 0 });
  }, 150_000);
});
