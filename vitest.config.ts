import { defineConfig } from 'vitest/config';

// Two groups: pure/parsers run in parallel; tests that start real processes and diff whole-machine
// snapshots see each other's processes, so they run one file at a time.
export default defineConfig({
  test: {
    projects: [
      {
        test: { name: 'unit', include: ['test/unit/**/*.test.ts', 'test/rules/**/*.test.ts'] },
      },
      {
        test: {
          name: 'system',
          include: ['test/system/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 30_000,
        },
      },
    ],
  },
});
