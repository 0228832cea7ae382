import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (pkg: string, entry = 'index') =>
  fileURLToPath(new URL(`./packages/${pkg}/src/${entry}.ts`, import.meta.url));

const ALL = ['packages/*/test/**/*.test.ts', 'app/test/**/*.test.ts', 'test/**/*.test.ts'];

/**
 * The full tier only (`npm run test:all`, and CI): what packs, clones, installs or drives a browser or a whole
 * release, the resilience scenarios, and the few files that take tens of seconds each on a 2-core machine. Everything
 * else is the fast tier, `npm test`.
 */
const SLOW = [
  'test/packaging/**/*.test.ts',
  'test/docs/**/*.test.ts',
  'test/resilience/**/*.test.ts',
  'app/test/browser.test.ts',
  'app/test/release.test.ts',
];

export default defineConfig({
  resolve: {
    // Tests run against sources, so a change is tested without a rebuild. The CLI tests drive the built bin instead.
    alias: [
      { find: /^@lakebase-kit\/client$/, replacement: src('client') },
      { find: /^@lakebase-kit\/client\/toolkit$/, replacement: src('client', 'toolkit') },
      { find: /^@lakebase-kit\/emulator$/, replacement: src('emulator') },
    ],
  },
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Two tiers: `vitest run --project fast` is `npm test`; `vitest run` (both) is `npm run test:all`.
    projects: [
      { extends: true, test: { name: 'fast', include: ALL, exclude: SLOW } },
      { extends: true, test: { name: 'slow', include: SLOW } },
    ],
    // CI also keeps a machine-readable report, from which .ci/run prints a plain "N passed, N failed" line.
    reporters: process.env.CI ? ['default', 'json'] : ['default'],
    outputFile: { json: process.env.VITEST_JSON ?? 'test-output/vitest.json' },
  },
});
