// Benchmark 2: the cost of a new connection with a cached token (ours) vs a static password (plain pg), both through
// the emulator's TLS front door to the same PostgreSQL. Each sample opens one new connection (pool.connect() on an
// empty pool of one) and closes it (release(true)); samples alternate ours / plain, flipping who goes first.
import { median, percentile } from './lib.mjs';
import { oursEmulator, plainEmulator } from './sides.mjs';

async function timeConnect(pool) {
  const t0 = performance.now();
  const client = await pool.connect();
  const ms = performance.now() - t0;
  client.release(true);
  // Let the closed connection go before the next sample, so samples do not overlap.
  await new Promise((resolve) => setTimeout(resolve, 2));
  return ms;
}

export async function connectBenchmark({ emulator, samples, rounds }) {
  await emulator.setTokenTtl(3600);
  const ours = oursEmulator(emulator, 1);
  const plain = plainEmulator(emulator, await emulator.mintToken(), 1);
  // Warm up: ours mints and caches its token, resolves its target; both warm TLS session code paths.
  for (let i = 0; i < 10; i++) {
    await timeConnect(ours);
    await timeConnect(plain);
  }
  const before = await emulator.stats();
  const perRound = [];
  for (let round = 0; round < rounds; round++) {
    const samplesOf = { ours: [], plain: [] };
    for (let i = 0; i < samples; i++) {
      const order = i % 2 === 0 ? ['ours', 'plain'] : ['plain', 'ours'];
      for (const side of order) samplesOf[side].push(await timeConnect(side === 'ours' ? ours : plain));
    }
    perRound.push({
      ours: { p50: percentile(samplesOf.ours, 50), p99: percentile(samplesOf.ours, 99) },
      plain: { p50: percentile(samplesOf.plain, 50), p99: percentile(samplesOf.plain, 99) },
    });
  }
  const after = await emulator.stats();
  await Promise.all([ours.end(), plain.end()]);
  const p50Deltas = perRound.map((r) => r.ours.p50 - r.plain.p50);
  const p99Deltas = perRound.map((r) => r.ours.p99 - r.plain.p99);
  return {
    samplesPerRound: samples,
    rounds,
    perRound,
    p50DeltaMs: { median: median(p50Deltas), min: Math.min(...p50Deltas), max: Math.max(...p50Deltas) },
    p99DeltaMs: { median: median(p99Deltas), min: Math.min(...p99Deltas), max: Math.max(...p99Deltas) },
    credentialRequests: after.credentialRequests.total - before.credentialRequests.total,
  };
}
