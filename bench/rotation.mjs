// Benchmark 3 (rotation under load) and the rotation workloads of benchmark 4 (against @databricks/lakebase).
// Full load: as many closed-loop workers as the pool has connections, each running `select 1` back to back, through
// the emulator (upstream storage = the local PostgreSQL). Every segment uses a fresh pool, ended after it.
// Sides:
// - ours, 5 s token TTL, 2 s connection lifetime (jittered to 1.6-2 s, our default 20 % jitter)
// - ours, 1 h token TTL, same 2 s lifetime (the reference for p99: the same run without token rotation)
// - @databricks/lakebase, 5 s TTL, 2 s lifetime (set on the returned pg.Pool: it has no such option)
// and, with the credential endpoint failing 20 % of calls (503), ours vs @databricks/lakebase at 5 s TTL.
import { interleavedSides, loadWithLatency, ratioSummary } from './lib.mjs';
import { databricksEmulator, oursEmulator } from './sides.mjs';

const POOL_MAX = 10;
const LIFETIME_S = 2;

function makeSide(kind, ttlSeconds) {
  return { kind, ttlSeconds };
}

async function runSegment(emulator, side, { durationMs, faultFraction }) {
  await emulator.setTokenTtl(side.ttlSeconds);
  const pool =
    side.kind === 'ours'
      ? oursEmulator(emulator, POOL_MAX, { recycleIntervalSeconds: LIFETIME_S })
      : databricksEmulator(emulator, POOL_MAX, { maxLifetimeSeconds: LIFETIME_S });
  let rotations = 0;
  let measuring = false;
  pool.lakebase?.credentials?.on('token-refreshed', () => {
    if (measuring) rotations++;
  });
  // First connection outside the measurement (both sides pay their first token the same way).
  await pool.query('select 1');
  measuring = true;
  await emulator.faults(faultFraction ? { failFraction: { fraction: faultFraction, status: 503 } } : { clear: true });
  const before = await emulator.stats();
  const result = await loadWithLatency(() => pool.query('select 1'), { workers: POOL_MAX, durationMs });
  const after = await emulator.stats();
  measuring = false;
  await emulator.faults({ clear: true });
  await pool.end();
  return {
    ...result,
    credentialRequests: after.credentialRequests.total - before.credentialRequests.total,
    credentialFailuresInjected:
      after.credentialRequests.failedByInjection - before.credentialRequests.failedByInjection,
    logins: after.logins.succeeded - before.logins.succeeded,
    rotations: side.kind === 'ours' ? rotations : undefined,
  };
}

const pick = (figures, key) => figures.map((f) => f[key]);
const sum = (figures, key) => figures.reduce((total, f) => total + (f[key] ?? 0), 0);

function summarise(figures) {
  return {
    qps: pick(figures, 'perSecond'),
    p50: pick(figures, 'p50'),
    p99: pick(figures, 'p99'),
    completed: sum(figures, 'completed'),
    failed: sum(figures, 'failed'),
    errors: figures.flatMap((f) => f.errors).slice(0, 5),
    credentialRequests: sum(figures, 'credentialRequests'),
    credentialFailuresInjected: sum(figures, 'credentialFailuresInjected'),
    logins: sum(figures, 'logins'),
    rotations: figures[0]?.rotations === undefined ? undefined : sum(figures, 'rotations'),
  };
}

export async function rotationBenchmark({ emulator, rounds, segmentMs, faultRounds, faultSegmentMs }) {
  const rotation = await interleavedSides({
    rounds,
    sides: {
      ours5s: makeSide('ours', 5),
      ours1h: makeSide('ours', 3600),
      databricks5s: makeSide('databricks', 5),
    },
    measure: (side) => runSegment(emulator, side, { durationMs: segmentMs }),
  });
  const faults = await interleavedSides({
    rounds: faultRounds,
    sides: { ours: makeSide('ours', 5), databricks: makeSide('databricks', 5) },
    measure: (side) => runSegment(emulator, side, { durationMs: faultSegmentMs, faultFraction: 0.2 }),
  });
  await emulator.setTokenTtl(3600);
  const r = {
    ours5s: summarise(rotation.ours5s),
    ours1h: summarise(rotation.ours1h),
    databricks5s: summarise(rotation.databricks5s),
  };
  const f = { ours: summarise(faults.ours), databricks: summarise(faults.databricks) };
  return {
    poolMax: POOL_MAX,
    lifetimeSeconds: LIFETIME_S,
    rounds,
    segmentMs,
    faultRounds,
    faultSegmentMs,
    rotation: r,
    p99Ratio: ratioSummary(r.ours5s.p99, r.ours1h.p99),
    qpsVsDatabricks: ratioSummary(r.ours5s.qps, r.databricks5s.qps),
    faults: f,
    faultQpsVsDatabricks: ratioSummary(f.ours.qps, f.databricks.qps),
  };
}
