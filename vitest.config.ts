import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts', 'apps/*/test/**/*.test.ts', 'tests/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    // Integration tests share one Redis and spawn processes: keep files from starving each other on 2 cores.
    fileParallelism: true,
    maxWorkers: 2,
  },
});
