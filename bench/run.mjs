// `npm run bench` (after a build): runs the six benchmarks of issue 6 and the proxy's of issue 26 (7), prints every
// ratio against its target with MET or MISSED, and writes bench/results.json. `--quick` runs fewer and shorter rounds
// (~5 minutes).
// Every comparison is measured in this run, interleaved (sides alternate, rotating who goes first), over several
// rounds; figures are per-round medians with their range.
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import { appBenchmark } from './app.mjs';
import { connectBenchmark } from './connect.mjs';
import { spawnEmulator, UPSTREAM } from './emulator.mjs';
import { fmt, median, quick, spread, verdict } from './lib.mjs';
import { checkoutCost, createBenchTable, dropBenchTable, poolBenchmark } from './pool.mjs';
import { proxyBenchmark, proxyReport } from './proxy.mjs';
import { relayBenchmark, relayReport } from './relay.mjs';
import { rotationBenchmark } from './rotation.mjs';

const plan = quick
  ? {
      pool: { rounds: 2, durationMs: 500 },
      connect: { samples: 60, rounds: 2 },
      rotation: { rounds: 2, segmentMs: 5000, faultRounds: 2, faultSegmentMs: 4000 },
      relay: { rounds: 3, durationMs: 1000, pgbenchRounds: 2, pgbenchSeconds: 4 },
      app: { rounds: 2, durationSeconds: 2 },
      proxy: { rounds: 2, seconds: 4, connectSamples: 60 },
    }
  : {
      pool: { rounds: 4, durationMs: 1200 },
      connect: { samples: 150, rounds: 3 },
      rotation: { rounds: 4, segmentMs: 15_000, faultRounds: 2, faultSegmentMs: 10_000 },
      relay: { rounds: 5, durationMs: 3000, pgbenchRounds: 3, pgbenchSeconds: 10 },
      app: { rounds: 4, durationSeconds: 5 },
      proxy: { rounds: 3, seconds: 10, connectSamples: 200 },
    };

const verdicts = [];
/** Records and prints one target check. */
function check(benchmark, label, value, target, { higherIsBetter = true, unit = '', note = '' } = {}) {
  const met = higherIsBetter ? value >= target : value <= target;
  verdicts.push({ benchmark, label, value, target, higherIsBetter, met, note });
  console.log(
    `  ${label}: ${fmt(value, 3)}${unit} ${verdict(value, target, higherIsBetter)}${note ? `  ${note}` : ''}`,
  );
  return met;
}

const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(0)} s`;
const results = {
  date: new Date().toISOString(),
  quick,
  machine: {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
  },
  postgres: UPSTREAM.replace(/\/\/[^@]*@/, '//'),
  plan,
};

console.log(
  `lakebase-kit benchmarks${quick ? ' (--quick)' : ''}: ${results.machine.cpus} cores, ${results.machine.memoryGiB} GiB, Node ${process.version}`,
);
console.log('PostgreSQL 15 on 127.0.0.1:5432 (ssl off). Ratios are ours / baseline, per-round median (min-max).\n');

await createBenchTable();
const emulator = await spawnEmulator(['--upstream', UPSTREAM]);
try {
  // 1 and 4 (workload 1)
  const pool = await poolBenchmark({ emulator, ...plan.pool });
  results.pool = pool;
  console.log(
    `[1] Pool overhead: pool of ${pool.poolMax}, ${pool.rounds} rounds x ${pool.durationMs} ms per side  (${elapsed()})`,
  );
  console.log('    direct = ours (static URL) vs plain pg.Pool, both without TLS straight to PostgreSQL');
  console.log(
    '    emulator = ours (Autoscaling, live token) vs plain pg.Pool (static token), both TLS via the emulator',
  );
  for (const row of pool.rows) {
    const label = `${row.setup.padEnd(8)} ${row.workload.padEnd(12)} ${String(row.clients).padStart(2)} clients`;
    console.log(
      `  ${label}: ours ${spread(row.oursQps)} q/s, plain ${spread(row.plainQps)} q/s, ratio ${fmt(row.vsPlain.median, 3)} (${fmt(row.vsPlain.min, 3)}-${fmt(row.vsPlain.max, 3)}) ${verdict(row.vsPlain.median, 0.97)}`,
    );
    verdicts.push({
      benchmark: 1,
      label: `${row.setup} ${row.workload} ${row.clients} clients: ours/plain q/s`,
      value: row.vsPlain.median,
      target: 0.97,
      higherIsBetter: true,
      met: row.vsPlain.median >= 0.97,
    });
    if (row.failed.ours || row.failed.plain) console.log(`    failed queries: ${JSON.stringify(row.failed)}`);
  }

  const checkout = await checkoutCost({ rounds: plan.pool.rounds, durationMs: plan.pool.durationMs });
  results.checkout = checkout;
  console.log(
    `  evidence: one pool checkout as pool.query does it (callback connect + release, no query): ours ${spread(checkout.oursMicros)} us, plain ${spread(checkout.plainMicros)} us, extra ${spread(checkout.extraMicros)} us per query`,
  );

  // 2
  const connect = await connectBenchmark({ emulator, ...plan.connect });
  results.connect = connect;
  console.log(
    `\n[2] Connect cost: ${connect.rounds} rounds x ${connect.samplesPerRound} new connections per side, via the emulator (TLS)  (${elapsed()})`,
  );
  for (const [i, r] of connect.perRound.entries()) {
    console.log(
      `  round ${i + 1}: ours p50 ${fmt(r.ours.p50)} ms p99 ${fmt(r.ours.p99)} ms | static password p50 ${fmt(r.plain.p50)} ms p99 ${fmt(r.plain.p99)} ms`,
    );
  }
  console.log(`  credential requests during the samples: ${connect.credentialRequests} (token cached)`);
  check(2, 'p50 difference ours - static (ms)', connect.p50DeltaMs.median, 1, { higherIsBetter: false, unit: ' ms' });
  console.log(
    `  p99 difference ours - static: ${fmt(connect.p99DeltaMs.median)} ms (range ${fmt(connect.p99DeltaMs.min)}..${fmt(connect.p99DeltaMs.max)}), no target`,
  );

  // 3 and 4 (rotation, faults)
  const rotation = await rotationBenchmark({ emulator, ...plan.rotation });
  results.rotation = rotation;
  const r = rotation.rotation;
  const seconds = (rotation.rounds * rotation.segmentMs) / 1000;
  console.log(
    `\n[3] Rotation under load: ${rotation.poolMax} workers on a pool of ${rotation.poolMax}, ${rotation.lifetimeSeconds} s connection lifetime, ${rotation.rounds} rounds x ${rotation.segmentMs / 1000} s per side (${seconds} s each)  (${elapsed()})`,
  );
  for (const [name, s] of Object.entries(r)) {
    console.log(
      `  ${name.padEnd(13)} q/s ${spread(s.qps)}, p50 ${spread(s.p50)} ms, p99 ${spread(s.p99)} ms, ${s.completed} ok, ${s.failed} failed, ${s.logins} logins, ${s.credentialRequests} credential requests${s.rotations === undefined ? '' : `, ${s.rotations} rotations`}`,
    );
    if (s.errors.length) console.log(`    first errors: ${s.errors.join(' | ')}`);
  }
  check(3, 'failed queries, 5 s TTL', r.ours5s.failed, 0, { higherIsBetter: false });
  check(3, 'p99 ratio 5 s TTL / 1 h TTL', rotation.p99Ratio.median, 1.25, {
    higherIsBetter: false,
    note: `(range ${fmt(rotation.p99Ratio.min, 3)}-${fmt(rotation.p99Ratio.max, 3)})`,
  });
  const perRotation = r.ours5s.credentialRequests / r.ours5s.rotations;
  check(3, 'credential requests per rotation', perRotation, 1.1, {
    higherIsBetter: false,
    note: `(${r.ours5s.credentialRequests} requests, ${r.ours5s.rotations} rotations, ${r.ours5s.logins} logins; refresh at half-life: ~${fmt(seconds / 2.5, 0)} expected)`,
  });

  console.log(
    `\n[4] Against @databricks/lakebase 0.6.0 (Autoscaling mode, via the emulator, same pool size)  (${elapsed()})`,
  );
  for (const row of pool.rows.filter((x) => x.setup === 'emulator')) {
    const label = `workload 1 ${row.workload.padEnd(12)} ${String(row.clients).padStart(2)} clients`;
    console.log(
      `    ${label}: ours ${spread(row.oursQps)} q/s | @databricks/lakebase ${spread(row.databricksQps)} q/s | failed ${row.failed.ours} / ${row.failed.databricks}`,
    );
    verdicts.push({
      benchmark: 4,
      label: `${label}: ours/databricks q/s`,
      value: row.vsDatabricks.median,
      target: 1,
      higherIsBetter: true,
      met: row.vsDatabricks.median >= 1,
    });
    console.log(
      `      ratio ${fmt(row.vsDatabricks.median, 3)} (${fmt(row.vsDatabricks.min, 3)}-${fmt(row.vsDatabricks.max, 3)}) ${verdict(row.vsDatabricks.median, 1)}`,
    );
  }
  const d = r.databricks5s;
  console.log(
    `    workload 3 (5 s TTL, 2 s lifetime): ours ${spread(r.ours5s.qps)} q/s, p99 ${spread(r.ours5s.p99)} ms, ${r.ours5s.failed} failed, ${r.ours5s.credentialRequests} credential requests | @databricks/lakebase ${spread(d.qps)} q/s, p99 ${spread(d.p99)} ms, ${d.failed} failed, ${d.credentialRequests} credential requests`,
  );
  check(4, 'workload 3 ours/databricks q/s', rotation.qpsVsDatabricks.median, 1, {
    note: `(range ${fmt(rotation.qpsVsDatabricks.min, 3)}-${fmt(rotation.qpsVsDatabricks.max, 3)})`,
  });
  check(4, 'workload 3 failed queries, ours', r.ours5s.failed, 0, {
    higherIsBetter: false,
    note: `(theirs: ${d.failed})`,
  });
  const f = rotation.faults;
  console.log(
    `    workload 3 + 20 % credential failures (503), ${rotation.faultRounds} rounds x ${rotation.faultSegmentMs / 1000} s: ours ${spread(f.ours.qps)} q/s, ${f.ours.completed} ok, ${f.ours.failed} failed, ${f.ours.credentialRequests} requests (${f.ours.credentialFailuresInjected} failed by injection) | @databricks/lakebase ${spread(f.databricks.qps)} q/s, ${f.databricks.completed} ok, ${f.databricks.failed} failed, ${f.databricks.credentialRequests} requests (${f.databricks.credentialFailuresInjected} failed by injection)`,
  );
  if (f.databricks.errors.length)
    console.log(`      @databricks/lakebase first errors: ${f.databricks.errors.join(' | ')}`);
  if (f.ours.errors.length) console.log(`      ours first errors: ${f.ours.errors.join(' | ')}`);
  check(4, 'faults ours/databricks q/s', rotation.faultQpsVsDatabricks.median, 1, {
    note: `(range ${fmt(rotation.faultQpsVsDatabricks.min, 3)}-${fmt(rotation.faultQpsVsDatabricks.max, 3)})`,
  });
  check(4, 'faults failed queries, ours', f.ours.failed, 0, {
    higherIsBetter: false,
    note: `(theirs: ${f.databricks.failed})`,
  });
} finally {
  await emulator.stop();
  await dropBenchTable();
}

// 5
const relay = await relayBenchmark(plan.relay);
results.relay = relay;
console.log(`\n[5] Emulator relay vs PgBouncer (session mode, TLS) vs direct  (${elapsed()})`);
for (const line of relayReport(relay)) console.log(line);
const relayNote = (r) => `(range ${fmt(r.min, 3)}-${fmt(r.max, 3)})`;
check(5, 'select 1: through emulator / direct q/s', relay.select1.toDirect.median, 0.8, {
  note: relayNote(relay.select1.toDirect),
});
check(5, 'pgbench select-only: emulator / pgbouncer tps', relay.selectOnly.toPgbouncer.median, 1, {
  note: relayNote(relay.selectOnly.toPgbouncer),
});
check(5, 'pgbench TPC-B-like: emulator / pgbouncer tps', relay.tpcb.toPgbouncer.median, 1, {
  note: relayNote(relay.tpcb.toPgbouncer),
});

// 6
const app = await appBenchmark(plan.app);
results.app = app;
console.log(
  `\n[6] App GET /api/preferences (10 rows): autocannon ${app.connections} connections, pool ${app.poolMax}, ${app.rounds} rounds x ${app.durationSeconds} s  (${elapsed()})`,
);
console.log(
  `  app ${spread(app.app.rps)} req/s (p99 ${fmt(median(app.app.p99Ms))} ms), minimal Fastify + pg ${spread(app.minimal.rps)} req/s (p99 ${fmt(median(app.minimal.p99Ms))} ms)`,
);
console.log(
  `  non-2xx / errors: app ${app.app.non2xx} / ${app.app.errors}, minimal ${app.minimal.non2xx} / ${app.minimal.errors}`,
);
check(6, 'app / minimal req/s', app.ratio.median, 0.9, {
  note: `(range ${fmt(app.ratio.min, 3)}-${fmt(app.ratio.max, 3)})`,
});
console.log(
  `  evidence: the app with LOG_LEVEL=warn (no per-request log line): ${spread(app.appQuiet.rps)} req/s, ratio to minimal ${fmt(app.quietRatio.median, 3)} (${fmt(app.quietRatio.min, 3)}-${fmt(app.quietRatio.max, 3)})`,
);
console.log(
  `  app peak RSS under load: ${fmt(app.appPeakRssMiB, 0)} MiB (minimal server: ${fmt(app.minimalPeakRssMiB, 0)} MiB)`,
);

// 7 (issue 26)
const proxy = await proxyBenchmark(plan.proxy);
results.proxy = proxy;
console.log(
  `\n[7] lakebase proxy vs PgBouncer (session mode) vs direct, in front of the emulator front door  (${elapsed()})`,
);
for (const line of proxyReport(proxy)) console.log(line);
for (const [name, w] of Object.entries(proxy.workloads)) {
  const tpcb = name.startsWith('tpcb');
  const label = `pgbench ${tpcb ? 'TPC-B-like' : 'select-only'} -c ${name.replace(/\D/g, '')}: proxy / pgbouncer tps`;
  check(7, label, w.toPgbouncer.median, tpcb ? 1 : 0.9, { note: relayNote(w.toPgbouncer) });
}
check(7, 'new connection p50: proxy - direct', proxy.connect.extraMs, 1, { higherIsBetter: false, unit: ' ms' });

results.verdicts = verdicts;
results.durationSeconds = Math.round((Date.now() - started) / 1000);
await writeFile(new URL('./results.json', import.meta.url), `${JSON.stringify(results, null, 2)}\n`);
const missed = verdicts.filter((v) => !v.met);
console.log(
  `\n${verdicts.length - missed.length} of ${verdicts.length} targets MET, ${missed.length} MISSED (${elapsed()}); bench/results.json written.`,
);
for (const v of missed)
  console.log(
    `  MISSED [${v.benchmark}] ${v.label}: ${fmt(v.value, 3)} (target ${v.higherIsBetter ? '>=' : '<='} ${v.target})`,
  );
