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

/** The `p`-th percentile (0..100) of `values`, nearest rank. */
export function percentile(values, p) {
  if (values.length === 0) return Number.NaN;
  const sorted = Float64Array.from(values).sort();
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

/**
 * Like {@link throughput}, but also records each operation's latency (ms) and keeps the first few errors.
 * Returns queries/s, counts, p50 and p99.
 */
export async function loadWithLatency(operation, { workers, durationMs }) {
  const deadline = performance.now() + durationMs;
  const latencies = [];
  const errors = [];
  let failed = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (performance.now() < deadline) {
        const t0 = performance.now();
        try {
          await operation();
          latencies.push(performance.now() - t0);
        } catch (error) {
          failed++;
          if (errors.length < 5) errors.push(`${error?.code ?? ''} ${error?.message ?? error}`.trim());
        }
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return {
    perSecond: latencies.length / seconds,
    completed: latencies.length,
    failed,
    errors,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
  };
}

/**
 * Measures several sides in rounds, rotating which goes first, so drift on the machine hits all alike.
 * `measure(subject, name, round)` returns a figure (a number, or an object: `value(figure)` picks the number ratios
 * use). Returns each side's per-round figures.
 */
export async function interleavedSides({ rounds, sides, measure }) {
  const names = Object.keys(sides);
  const figures = Object.fromEntries(names.map((name) => [name, []]));
  for (let round = 0; round < rounds; round++) {
    const order = names.map((_, i) => names[(i + round) % names.length]);
    if (round % 2 === 1) order.reverse();
    for (const name of order) figures[name].push(await measure(sides[name], name, round));
  }
  return figures;
}

/**
 * One measured round of `operation` with tracing on: 200 ms of warm-up (connections and plans), then
 * {@link loadWithLatency} for `durationMs`. Like a real exporter, which ships spans and forgets them, the in-memory
 * exporter `spans` is counted and emptied every 100 ms, so its growing array does not become garbage-collector work no
 * deployment has; what `tracerProvider` still buffers is flushed and counted at the end. Returns the load's figures,
 * the client CPU per query (µs) and the spans exported.
 */
export async function tracedRound(operation, { workers, durationMs, spans, tracerProvider }) {
  await loadWithLatency(operation, { workers, durationMs: 200 });
  let spansExported = 0;
  const drain = setInterval(() => {
    spansExported += spans.getFinishedSpans().length;
    spans.reset();
  }, 100);
  const cpu0 = process.cpuUsage();
  const figure = await loadWithLatency(operation, { workers, durationMs });
  const cpu = process.cpuUsage(cpu0);
  clearInterval(drain);
  await tracerProvider.forceFlush();
  spansExported += spans.getFinishedSpans().length;
  spans.reset();
  return { ...figure, cpuPerQuery: (cpu.user + cpu.system) / (figure.completed + figure.failed), spansExported };
}

/** Per-round ratios a[i]/b[i] with their median and range. */
export function ratioSummary(a, b) {
  const ratios = a.map((value, i) => value / b[i]);
  return { ratios, median: median(ratios), min: Math.min(...ratios), max: Math.max(...ratios) };
}

/** `12345.6` -> `12346`; small values keep decimals. */
export function fmt(value, digits) {
  if (!Number.isFinite(value)) return String(value);
  const d = digits ?? (Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2);
  return value.toFixed(d);
}

/** `median (min-max)` of per-round figures. */
export function spread(values, digits) {
  return `${fmt(median(values), digits)} (${fmt(Math.min(...values), digits)}-${fmt(Math.max(...values), digits)})`;
}
