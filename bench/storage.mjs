// The cost of the emulator's default storage (an embedded PostgreSQL) against PGlite, side by side in one run:
// time to a ready `lakebase emulator` (first start on an empty data dir, later starts on the same dir), memory, and
// pgbench through the TLS front door (select-only and TPC-B-like). Not part of `npm run bench` or CI.
//   node bench/storage.mjs [--quick]      (after `npm run build`; needs `pgbench` on PATH, Linux for /proc)
// pgbench comes with the PostgreSQL client tools: `apt-get install postgresql-client` (Debian/Ubuntu).
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { median, quick, spread } from './lib.mjs';

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('../packages/cli/dist/bin.js', import.meta.url));
const STORAGES = ['postgres', 'pglite'];
const plan = quick ? { starts: 2, seconds: 5, clients: 4 } : { starts: 4, seconds: 15, clients: 4 };

/** Starts `lakebase emulator --json` and resolves when it prints its ready line, with the time that took. */
async function startEmulator(storage, dataDir) {
  const started = performance.now();
  const child = spawn(
    process.execPath,
    [CLI, 'emulator', '--storage', storage, '--data-dir', dataDir, '--api-port', '0', '--pg-port', '0', '--json'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const [line] = await once(createInterface({ input: child.stdout }), 'line');
  return { child, info: JSON.parse(line), readyMs: performance.now() - started };
}

async function stopEmulator(child) {
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await exited;
}

/** Proportional set size in MB (shared pages split among the processes that share them), from /proc. */
async function pssMb(pid) {
  const rollup = await readFile(`/proc/${pid}/smaps_rollup`, 'utf8').catch(() => '');
  return Number(/^Pss:\s+(\d+) kB/m.exec(rollup)?.[1] ?? 0) / 1024;
}

/** The emulator process plus, for the embedded PostgreSQL, every process of its server's process group. */
async function memory(emulatorPid, dataDir) {
  const emulator = await pssMb(emulatorPid);
  const pidFile = await readFile(path.join(dataDir, 'postgres', 'data', 'postmaster.pid'), 'utf8').catch(() => '');
  const postmaster = Number.parseInt(pidFile, 10);
  let server = 0;
  if (postmaster > 0) {
    const group = (await statOf(postmaster)).pgrp;
    for (const name of await readdir('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      const stat = await statOf(Number(name)).catch(() => undefined);
      if (stat?.pgrp === group) server += await pssMb(Number(name));
    }
  }
  return { emulator, server, total: emulator + server };
}

async function statOf(pid) {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { ppid: Number(fields[1]), pgrp: Number(fields[2]) };
}

async function mintToken(info) {
  const response = await fetch(`${info.databricksHost}/api/2.0/database/credentials`, {
    method: 'POST',
    headers: { authorization: `Bearer ${info.databricksToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ instance_names: [info.instanceName] }),
  });
  if (!response.ok) throw new Error(`credential: ${response.status} ${await response.text()}`);
  return (await response.json()).token;
}

/** Runs pgbench through the front door (verified TLS, a minted token) and returns its tps. */
async function pgbench(info, args) {
  const env = {
    ...process.env,
    PGHOST: info.pgHost,
    PGPORT: String(info.pgPort),
    PGUSER: info.user,
    PGDATABASE: info.database,
    PGSSLMODE: 'verify-full',
    PGSSLROOTCERT: info.caFile,
    PGPASSWORD: await mintToken(info),
  };
  const { stdout } = await run('pgbench', args, { env, timeout: (plan.seconds + 120) * 1000, maxBuffer: 1 << 24 });
  const tps = /tps = ([\d.]+)/.exec(stdout)?.[1];
  return tps === undefined ? undefined : Number(tps);
}

async function measure(storage) {
  const result = { storage, firstStartMs: [], laterStartMs: [], memoryReadyMb: [], memoryLoadedMb: [] };
  const dataDir = await mkdtemp(path.join(os.tmpdir(), `lakebase-bench-storage-${storage}-`));
  try {
    for (let i = 0; i < plan.starts; i++) {
      const fresh = await mkdtemp(path.join(os.tmpdir(), `lakebase-bench-first-${storage}-`));
      const first = await startEmulator(storage, fresh);
      result.firstStartMs.push(first.readyMs);
      await stopEmulator(first.child);
      await rm(fresh, { recursive: true, force: true });
    }
    await stopEmulator((await startEmulator(storage, dataDir)).child); // make the dir once
    for (let i = 0; i < plan.starts; i++) {
      const later = await startEmulator(storage, dataDir);
      result.laterStartMs.push(later.readyMs);
      await stopEmulator(later.child);
    }

    const { child, info } = await startEmulator(storage, dataDir);
    try {
      result.memoryReadyMb.push((await memory(child.pid, dataDir)).total);
      await pgbench(info, ['-i', '-s', '1', '-q', '--no-vacuum']);
      const load = ['-n', '-c', String(plan.clients), '-j', '2', '-T', String(plan.seconds)];
      result.selectOnlyTps = await pgbench(info, ['-S', ...load]);
      result.tpcbTps = await pgbench(info, load);
      const loaded = await memory(child.pid, dataDir);
      result.memoryLoadedMb.push(loaded.total);
      result.memoryLoadedSplit = loaded;
    } finally {
      await stopEmulator(child);
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
  return result;
}

try {
  await run('pgbench', ['--version']);
} catch {
  console.error('pgbench not found: install the PostgreSQL client tools (apt-get install postgresql-client).');
  process.exit(1);
}
console.log(
  `emulator storage cost: ${plan.starts} starts each, pgbench ${plan.clients} clients x ${plan.seconds} s, scale 1`,
);
const results = [];
for (const storage of STORAGES) results.push(await measure(storage));
const row = (label, f) => console.log(`${label.padEnd(34)}${results.map((r) => f(r).padStart(24)).join('')}`);
row('', (r) => r.storage);
row('first start to ready, ms', (r) => spread(r.firstStartMs, 0));
row('later start to ready, ms', (r) => spread(r.laterStartMs, 0));
row('memory when ready, MB (PSS)', (r) => median(r.memoryReadyMb).toFixed(0));
row('memory after pgbench, MB (PSS)', (r) => median(r.memoryLoadedMb).toFixed(0));
row('pgbench select-only, tps', (r) => String(r.selectOnlyTps?.toFixed(0)));
row('pgbench TPC-B-like, tps', (r) => String(r.tpcbTps?.toFixed(0)));
console.log(JSON.stringify({ machine: `${os.cpus().length} cpu, node ${process.version}`, plan, results }));
