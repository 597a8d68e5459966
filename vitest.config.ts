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
    // Vitest's default is 5 s. A test that starts the server in-process waits for it to load the
    // WebAuthn library before it listens (about a second from source, under tsx, on an idle
    // two-core machine; several when both cores run other suites), so the default failed tests
    // that were not slow but queued behind the machine.
    testTimeout: 15_000,
    // Each test file runs in a fresh child process (the default `forks` pool, isolated), which
    // costs about a second of imports per file. Measured on the two-core machine, whole suite:
    // `isolate: false` cut the imports from 366 s to 28 s but the tests themselves slowed by as
    // much (the heap of every earlier file stays; 515 s against 549 s in all) and 7 tests failed
    // on state another file left; `pool: "threads"` took 550 s and cannot `process.chdir`; a
    // native loader (`tsx`) without Vite's module runner was slower. So the defaults stay.
  },
});
