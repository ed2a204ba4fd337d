import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/build-dist.ts'],
    // Servers the tests spawn as processes: no free-space floor (tests must not depend on the host's disk).
    env: { KESTREL_MIN_FREE_SPACE: '0' },
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration tests start servers and ffmpeg children; two cores do not like many at once.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
