import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (pkg: string, entry = 'index') =>
  fileURLToPath(new URL(`./packages/${pkg}/src/${entry}.ts`, import.meta.url));

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
    include: [
      'packages/*/test/**/*.test.ts',
      // The api-only template's own test (a generated project runs the same file).
      'packages/create-app/templates/*/test/**/*.test.ts',
      'app/test/**/*.test.ts',
      'test/**/*.test.ts',
    ],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // CI also keeps a machine-readable report, from which .ci/run prints a plain "N passed, N failed" line.
    reporters: process.env.CI ? ['default', 'json'] : ['default'],
    outputFile: { json: 'test-output/vitest.json' },
  },
});
