import { defineConfig } from 'vitest/config';

// Three steps, one after the other: pure rules and parsers (in parallel) beside the torture suite's
// quick mode (its worlds in namespaces of their own); tests that start real processes and diff
// whole-machine snapshots, which see each other's processes, so one file at a time; and the slow
// scale test. Every test file runs with HOME and
// the XDG directories in a temporary directory (test/helpers/temporary-home.ts): nothing of the real
// user's is read or written.
const setupFiles = ['test/helpers/temporary-home.ts'];

export default defineConfig({
  test: {
    projects: [
      {
        test: { name: 'unit', setupFiles, include: ['test/unit/**/*.test.ts', 'test/rules/**/*.test.ts'], sequence: { groupOrder: 0 } },
      },
      {
        test: {
          name: 'system',
          setupFiles,
          sequence: { groupOrder: 1 },
          include: ['test/system/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 30_000,
        },
      },
      {
        // The torture suite's quick mode (test/torture/): generated worlds, each in namespaces of its
        // own (so it sees no other test's processes, and no scan of another test reaps in them), about
        // half a minute; beside the pure tests, before the system tests (whose host-wide scans would
        // see its worlds' processes).
        test: {
          name: 'torture',
          setupFiles,
          include: ['test/torture/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 60_000,
          sequence: { groupOrder: 0 },
        },
      },
      {
        // Slow: thousands of real processes. Runs after the others (CI runs it too).
        test: {
          name: 'scale',
          setupFiles,
          include: ['test/scale/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 60_000,
          sequence: { groupOrder: 3 },
        },
      },
    ],
  },
});
