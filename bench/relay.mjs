// Benchmark 5: the emulator's relay overhead. The same pg.Pool workload runs through the emulator's TLS front door
// (upstream storage = the local PostgreSQL) and directly against that PostgreSQL, in alternating rounds.
// The direct side talks to the server as it is configured (no TLS on 127.0.0.1:5432), so the ratio includes the
// emulator's TLS as well as its relay: the whole cost a client of the emulator pays.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { interleaved, quick, throughput, verdict } from './lib.mjs';

const CLI = fileURLToPath(new URL('../packages/cli/dist/bin.js', import.meta.url));

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
  return {
    ...info,
    async stop() {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

const UPSTREAM = process.env.BENCH_UPSTREAM_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';

export async function relayBenchmark({ rounds = quick ? 3 : 5, durationMs = quick ? 1000 : 3000, workers = 10 } = {}) {
  const emulator = await spawnEmulator(['--upstream', UPSTREAM]);
  try {
    const credential = await fetch(`${emulator.databricksHost}/api/2.0/database/credentials`, {
      method: 'POST',
      headers: { authorization: `Bearer ${emulator.databricksToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ instance_names: [emulator.instanceName] }),
    }).then((response) => response.json());
    const throughEmulator = new pg.Pool({
      host: emulator.pgHost,
      port: emulator.pgPort,
      user: emulator.user,
      database: emulator.database,
      password: credential.token,
      ssl: { ca: await readFile(emulator.caFile, 'utf8') },
      max: workers,
    });
    const direct = new pg.Pool({ connectionString: UPSTREAM, max: workers });
    const measure = async (pool) => {
      const run = () => pool.query('select 1');
      await throughput(run, { workers, durationMs: 200 }); // warm the pool's connections
      const { perSecond, failed } = await throughput(run, { workers, durationMs });
      if (failed) throw new Error(`${failed} queries failed`);
      return perSecond;
    };
    const result = await interleaved({ rounds, ours: throughEmulator, baseline: direct, measure });
    await Promise.all([throughEmulator.end(), direct.end()]);
    return { workers, durationMs, rounds, ...result };
  } finally {
    await emulator.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await relayBenchmark();
  const fmt = (values) => values.map((v) => v.toFixed(0)).join(' ');
  console.log(`emulator relay, select 1, ${result.workers} clients, ${result.rounds} rounds x ${result.durationMs} ms`);
  console.log(`  through emulator q/s: ${fmt(result.ours)}`);
  console.log(`  direct q/s:           ${fmt(result.baseline)}`);
  console.log(
    `  ratio median ${result.median.toFixed(3)} (range ${result.min.toFixed(3)}-${result.max.toFixed(3)}) ${verdict(result.median, 0.8)}`,
  );
}
