import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
          // Ceilings, not budgets: tests wait on events and conditions, and a loaded 2-core CI box
          // can take many times longer to schedule a child process (performance claims use
          // test/support/budget.ts instead).
          // Measured: under stress-ng --cpu 4 plus two suites on 2 cores, a test that starts four
          // tsx child processes needed more than 60 s.
          testTimeout: 300_000,
          hookTimeout: 300_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 300_000,
          hookTimeout: 600_000,
          // Integration tests share one Docker engine and a 2-core machine.
          pool: 'forks',
          poolOptions: { forks: { singleFork: true } },
        },
      },
      {
        test: {
          // Fault injection with the real parts (a private dockerd, tmpfs, the Git server's fault
          // modes): one file at a time, each test bounded by generous waits on conditions.
          name: 'faults',
          include: ['test/faults/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/faults/global-setup.ts'],
          testTimeout: 300_000,
          hookTimeout: 300_000,
          pool: 'forks',
          poolOptions: { forks: { singleFork: true } },
        },
      },
    ],
  },
});
