import { defineConfig } from 'vitest/config';

// Workspace packages export their TypeScript source under the "source" condition and
// their compiled dist/ otherwise (what the driftwatch binary runs): tests run the source.
const conditions = ['source', 'module', 'node', 'development|production'];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ['source'] } },
  test: {
    // The CLI the tests spawn runs dist/: build it (incrementally) before any test starts.
    globalSetup: ['tests/helpers/build.ts'],
    include: ['packages/*/test/**/*.test.ts', 'apps/*/test/**/*.test.ts', 'tests/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    // Integration tests share one Redis and spawn processes: keep files from starving each other on 2 cores.
    fileParallelism: true,
    maxWorkers: 2,
  },
});
