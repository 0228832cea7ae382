/**
 * No test outside `bench/` asserts on elapsed wall time (issue 27): a loaded machine makes such a test red for a
 * correct change. Time that is the subject runs on an injected clock (FakeTime, an injected `now`) or Vitest's fake
 * timers; a bound like "under 75 ms" says what it means instead (no request made, the order of events, a promise
 * settled before another). This scans every test source (helpers too) for the ways a test measures time.
 *
 * A line may be allowed with `// no-wall-clock: allow (why)` on it or on the line above; say why it cannot flake.
 */
import { type Dirent, readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const self = fileURLToPath(import.meta.url);

/** Test folders: every package's `test/`, the app's, and the repository's `test/` (bench/ is not among them). */
function testRoots(): string[] {
  const packages = readdirSync(join(root, 'packages')).map((p) => join(root, 'packages', p, 'test'));
  return [...packages, join(root, 'app', 'test'), join(root, 'test')];
}

function sources(dir: string): string[] {
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : sources(path);
    return /\.(m?[jt]s|tsx)$/.test(entry.name) ? [path] : [];
  });
}

/** What the test reads as "measures elapsed time". */
const RULES: { name: string; pattern: RegExp }[] = [
  // A monotonic reading in a test is a duration being measured (fake it with vi.spyOn(performance, 'now')).
  { name: 'reads performance.now()', pattern: /\bperformance\.now\s*\(/ },
  { name: 'reads process.hrtime', pattern: /\bprocess\.hrtime\b/ },
  // `Date.now() - started`: a delta from an earlier reading (`Date.now() - 3_600_000` is a timestamp, not a delta).
  { name: 'subtracts an earlier reading from Date.now()', pattern: /\bDate\.now\(\)\s*-\s*[A-Za-z_$(]/ },
  // An ordering assertion on something named as a duration or as a measured moment: `expect(elapsed).toBeLessThan(75)`,
  // `expect(step.ms).toBeGreaterThanOrEqual(300)`, `expect(recoveredAt).toBeLessThan(expiry)`. A token's `expiresAt`
  // is a timestamp the server gave, not a measurement, and is not matched.
  {
    name: 'orders a duration or a measured moment',
    pattern: new RegExp(
      String.raw`\bexpect\(\s*[^;]*?(?:\b\w*(?:elapsed|wall|duration|latency)\w*\b|\b\w+Ms\b|(?:^|[^\w.])ms\b|\.ms\b|` +
        String.raw`\b(?:started|start|begin|ended|end|done|finished|recovered|closed|stopped|sent|received|first\w*|last\w*)At\b|` +
        String.raw`\.at\b(?!\())[^;]*?\)\s*\.(?:not\.)?toBe(?:Less|Greater)Than(?:OrEqual)?\(`,
      'i',
    ),
  },
];

const ALLOW = /\/\/ no-wall-clock: allow \(.+\)/;

/** `file:line: rule: text` for every line of `text` that breaks a rule and is not allowed. */
function findings(file: string, text: string): string[] {
  const lines = text.split('\n');
  return lines.flatMap((line, i) => {
    if (ALLOW.test(line) || ALLOW.test(lines[i - 1] ?? '')) return [];
    return RULES.filter((rule) => rule.pattern.test(line)).map(
      (rule) => `${file}:${i + 1}: ${rule.name}: ${line.trim()}`,
    );
  });
}

describe('no test asserts on elapsed wall time', () => {
  it('the rules catch the forms the issue found, and leave timestamps and configured delays alone', () => {
    const caught = [
      'const started = performance.now();',
      'expect(Date.now() - started).toBeLessThan(1000);',
      'expect(Date.now() - started).toBeGreaterThanOrEqual(950);',
      'expect(wall).toBeLessThan(2000);',
      'expect(recoveryMs).toBeLessThanOrEqual(MAX_DELAY_MS + 500);',
      'expect(failed?.ms).toBeLessThan(STEP_TIMEOUT_MS + 500);',
      'expect(recoveredAt).toBeLessThan(firstExpiry);',
      'expect(firstFailure?.at).toBeGreaterThan(down + 100);',
      'const t = process.hrtime.bigint();',
      'expect(event.durationMs).toBeLessThan(100);',
    ];
    for (const line of caught) expect(findings('x.ts', line), line).toHaveLength(1);
    const fine = [
      'workspace.behaviour = credential(new Date(Date.now() - 3_600_000));',
      'expect(Math.max(...time.delays)).toBeLessThanOrEqual(MAX_TIMER_DELAY_MS);',
      'expect(c.pool.connectionTimeoutMillis).toBeLessThanOrEqual(MAX_TIMER_DELAY_MS);',
      'expect(credential.expiresAt.getTime()).toBe(1_900_000_000_000);',
      "const now = vi.spyOn(performance, 'now').mockImplementation(() => fakeNow);",
      'expect(attempts).toBeLessThan(25);',
      'await sleep(expiresAt - Date.now() + 100);',
      'expect(status?.expiresAt?.getTime()).toBeGreaterThan(Date.now());',
      'expect(report.steps.at(-1)?.polls).toBeGreaterThan(1);',
    ];
    for (const line of fine) expect(findings('x.ts', line), line).toEqual([]);
    expect(findings('x.ts', '// no-wall-clock: allow (a lower bound)\nexpect(wall).toBeGreaterThan(1);')).toEqual([]);
    expect(findings('x.ts', '// no-wall-clock: allow\nexpect(wall).toBeGreaterThan(1);')).toHaveLength(1);
  });

  it('no test source outside bench/ measures elapsed time', () => {
    const files = testRoots().flatMap(sources);
    expect(files.length).toBeGreaterThan(50);
    const found = files
      .filter((file) => file !== self)
      .flatMap((file) => findings(relative(root, file), readFileSync(file, 'utf8')));
    expect(found).toEqual([]);
  });
});
