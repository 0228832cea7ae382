import { defineConfig } from 'vitest/config';

// For `npm test` in a project made from this template (the monorepo runs app/test with its root config). The tests
// start the embedded emulator (an embedded PostgreSQL), which takes longer than Vitest's default hook timeout.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
