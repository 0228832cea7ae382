// Shared measurement helpers for the benchmarks: interleaved rounds (A B A B ...), medians and spreads.

/** Runs `workers` concurrent loops of `operation` for `durationMs`; returns completed operations per second. */
export async function throughput(operation, { workers, durationMs }) {
  const deadline = performance.now() + durationMs;
  let completed = 0;
  let failed = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (performance.now() < deadline) {
        try {
          await operation();
          completed++;
        } catch {
          failed++;
        }
      }
    }),
  );
  return { perSecond: completed / ((performance.now() - started) / 1000), completed, failed };
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Measures `ours` against `baseline` in alternating rounds, so drift on the machine hits both alike.
 * Returns each side's per-round figures and the per-round ratios ours/baseline with their median and range.
 */
export async function interleaved({ rounds, ours, baseline, measure }) {
  const results = { ours: [], baseline: [], ratios: [] };
  for (let round = 0; round < rounds; round++) {
    // Alternate who goes first so neither side always gets the warmer machine.
    const order = round % 2 === 0 ? ['ours', 'baseline'] : ['baseline', 'ours'];
    const figures = {};
    for (const side of order) figures[side] = await measure(side === 'ours' ? ours : baseline);
    results.ours.push(figures.ours);
    results.baseline.push(figures.baseline);
    results.ratios.push(figures.ours / figures.baseline);
  }
  return {
    ...results,
    median: median(results.ratios),
    min: Math.min(...results.ratios),
    max: Math.max(...results.ratios),
  };
}

export function verdict(ratio, target, higherIsBetter = true) {
  const met = higherIsBetter ? ratio >= target : ratio <= target;
  return `${met ? 'MET' : 'MISSED'} (target ${higherIsBetter ? '>=' : '<='} ${target})`;
}

export const quick = process.argv.includes('--quick');
