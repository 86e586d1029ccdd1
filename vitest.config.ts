import { defineConfig } from 'vitest/config';

// Unit tests need nothing outside the process; integration tests start real registries, so
// their project installs docker-registry and skopeo first (global setup).
export default defineConfig({
  test: {
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['test/unit/**/*.test.ts'] },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts', 'test/support/**/*.test.ts', 'test/e2e/**/*.test.ts'],
          globalSetup: ['test/support/tools.ts'],
          testTimeout: 120_000,
          hookTimeout: 300_000,
        },
      },
    ],
    testTimeout: 30_000,
    pool: 'forks',
    // Handlers log JSON lines and emit metrics; the tests read the records instead.
    env: {
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      POWERTOOLS_METRICS_DISABLED: 'true',
      POWERTOOLS_TRACE_ENABLED: 'false',
    },
  },
});
