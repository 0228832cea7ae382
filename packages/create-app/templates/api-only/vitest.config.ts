import { defineConfig } from 'vitest/config';

// The test starts the embedded emulator (an embedded PostgreSQL): slower than Vitest's default hook timeout.
export default defineConfig({
  test: { include: ['test/**/*.test.ts'], testTimeout: 30_000, hookTimeout: 120_000 },
});
