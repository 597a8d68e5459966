import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    // .ci/run reads the JSON report to print its closing line "N passed, N failed".
    reporters: ["default", ["json", { outputFile: "test-results/vitest.json" }]],
    passWithNoTests: false,
    // Vitest's default leaves a core to itself (one worker on a two-core CI machine), yet most
    // suites here wait on PostgreSQL, a peer process or Chromium rather than compute: a worker per
    // core halved the suite's time on such a machine (317 s against 620-670 s).
    maxWorkers: availableParallelism(),
  },
});
