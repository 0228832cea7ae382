// Benchmark 5: the emulator's relay overhead. The same pg.Pool workload runs through the emulator's TLS front door
// (upstream storage = the local PostgreSQL) and directly against that PostgreSQL, in alternating rounds.
// The direct side talks to the server as it is configured (no TLS on 127.0.0.1:5432), so the ratio includes the
// emulator's TLS as well as its relay: the whole cost a client of the emulator pays.
import { readFile } from 'node:fs/promises';
import pg from 'pg';
import { spawnEmulator, UPSTREAM } from './emulator.mjs';
import { interleaved, quick, throughput, verdict } from './lib.mjs';

/** CPU seconds (user + system) a process has used, from /proc (Linux). */
async function cpuSeconds(pid) {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}

export async function relayBenchmark({ rounds = quick ? 3 : 5, durationMs = quick ? 1000 : 3000, workers = 10 } = {}) {
  const emulator = await spawnEmulator(['--upstream', UPSTREAM]);
  try {
    const throughEmulator = new pg.Pool({
      host: emulator.pgHost,
      port: emulator.pgPort,
      user: emulator.user,
      database: emulator.database,
      password: await emulator.mintToken(),
      ssl: { ca: emulator.ca },
      max: workers,
    });
    const direct = new pg.Pool({ connectionString: UPSTREAM, max: workers });
    const emulatorCpu = [];
    const measure = async (pool) => {
      const run = () => pool.query('select 1');
      await throughput(run, { workers, durationMs: 200 }); // warm the pool's connections
      const cpu0 = await cpuSeconds(emulator.pid);
      const t0 = performance.now();
      const { perSecond, failed } = await throughput(run, { workers, durationMs });
      const wallSeconds = (performance.now() - t0) / 1000;
      if (pool === throughEmulator) emulatorCpu.push(((await cpuSeconds(emulator.pid)) - cpu0) / wallSeconds);
      if (failed) throw new Error(`${failed} queries failed`);
      return perSecond;
    };
    const result = await interleaved({ rounds, ours: throughEmulator, baseline: direct, measure });
    await Promise.all([throughEmulator.end(), direct.end()]);
    return { workers, durationMs, rounds, ...result, emulatorCpu };
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
