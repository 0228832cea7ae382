import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (pkg: string, entry = 'index') =>
  fileURLToPath(new URL(`./packages/${pkg}/src/${entry}.ts`, import.meta.url));

const ALL = [
  'packages/*/test/**/*.test.ts',
  // The api-only template's own test (a generated project runs the same file).
  'packages/create-app/templates/*/test/**/*.test.ts',
  'app/test/**/*.test.ts',
  'test/**/*.test.ts',
];

/**
 * The full tier only (`npm run test:all`, and CI): what packs, clones, installs or drives a browser or a whole
 * release, the resilience scenarios, and the files that take 20 s or more each on this 2-core machine (measured with
 * the JSON reporter; most start the built CLI or an emulator process many times). Everything else is the fast tier,
 * `npm test`, which still covers each of these packages' behaviour with faster files.
 */
const SLOW = [
  'test/packaging/**/*.test.ts',
  'test/docs/**/*.test.ts',
  'test/resilience/**/*.test.ts',
  'app/test/browser.test.ts',
  'app/test/release.test.ts',
  'app/test/pr-branch.test.ts', // ~55 s: the PR-branch workflow end to end (CLI, emulator, migrations, diff comment)
  'packages/cli/test/resource-names.test.ts', // ~140 s: dozens of CLI runs with hostile names
  'packages/cli/test/migrate.test.ts', // ~35 s
  'packages/cli/test/connect.test.ts', // ~25 s
  'packages/cli/test/branch.test.ts', // ~25 s
  'packages/cli/test/branch-diff.test.ts', // ~30 s: `branch diff` runs over four branches
  'packages/cli/test/migrate-safe.test.ts', // ~30 s: backups, restores and throwaway branches
  'packages/cli/test/checkout.test.ts', // ~15-30 s: a git repository and several CLI runs
  'packages/cli/test/emulator.test.ts', // ~20 s: starts and stops `lakebase emulator` processes
  'packages/cli/test/roles.test.ts', // ~35 s: `lakebase role` and scoped `lakebase token`, a dozen CLI runs
  'packages/cli/test/endpoints.test.ts', // ~30-60 s: `lakebase endpoint`, a read-only endpoint's standby, a wake
  'packages/emulator/test/postgres/pglite-storage.test.ts', // ~40 s: the whole session suite on PGlite
  'packages/emulator/test/branches/branches.test.ts', // ~35 s: branch copies of a real cluster
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
    // Two tiers: `vitest run --project fast` is `npm test`; `vitest run` (both) is `npm run test:all`. `npm test` runs
    // the fast tier on 2 workers (Vitest's default on 2 cores is 1): its files mostly wait on sockets and child
    // processes, so two at a time took 2 min 45 s here against 4 min 15 s (2026-12-06, quiet machine).
    projects: [
      { extends: true, test: { name: 'fast', include: ALL, exclude: SLOW } },
      { extends: true, test: { name: 'slow', include: SLOW } },
    ],
    // CI also keeps a machine-readable report, from which .ci/run prints a plain "N passed, N failed" line.
    reporters: process.env.CI ? ['default', 'json'] : ['default'],
    outputFile: { json: process.env.VITEST_JSON ?? 'test-output/vitest.json' },
  },
});
