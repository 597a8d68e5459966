import { availableParallelism } from "node:os";
import { configDefaults, defineConfig, type TestProjectInlineConfiguration } from "vitest/config";

/**
 * Test files that need a process of their own, because they observe or replace what a module
 * keeps for the life of its process.
 */
const OWN_PROCESS = [
  // replaces `undici` and the public-network fetch (vi.mock) to count the pools the server makes
  "src/main.close.test.ts",
  // replaces node:dns/promises (vi.mock) to hold IdP host name lookups and count them
  "src/main.idp-lookup-slots.test.ts",
  // sees the WebAuthn library not yet loaded before the server starts
  "src/main.webauthn-ceremonies.test.ts",
  // finds no French catalogue, which the pages' tests add to the process's catalogues
  "src/pages/messages/messages.test.ts",
  // replaces node:fs (vi.mock) to make a copy's fsync fail
  "src/storage/sqlite/restore-sqlite-store.failed-copy.test.ts",
  // replaces node:fs (vi.mock) to see which files the key file's making flushes
  "src/secrets/sealing-keys.durable-key-file.test.ts",
  // replaces node:fs (vi.mock) to start again, or fail, between the key file's making steps
  "src/secrets/sealing-keys.key-file-race.test.ts",
];

/**
 * The other test files, in groups that each share processes: a file's modules (Fastify, Kysely,
 * the verifiers' libraries) are loaded once per process instead of once per file. Groups are
 * folders, so that a new test file joins one by where it lives; files in none of them go to
 * `rest`. A group's processes end with it: a process that ran every file of the suite grew to
 * 3.8 GB and its tests slowed by a fifth (what its files leave behind: caches, pools, heap).
 */
const SHARED_GROUPS: Readonly<Record<string, readonly string[]>> = {
  authenticators: ["src/app/authenticators/**"],
  "sign-in": ["src/app/flows/**", "src/app/federation/**", "src/app/decisions/**"],
  administration: ["src/app/**"],
  routes: ["src/http/routes/**"],
  http: ["src/http/**"],
  verifiers: ["src/verifiers/**"],
  storage: ["src/storage/**"],
  cli: ["src/cli/**"],
  rest: ["src/**", "test/**"],
};

const TEST_FILES = "**/*.test.ts";

/** One project per group; a file belongs to the first group whose folders hold it. */
function sharedProjects(): TestProjectInlineConfiguration[] {
  const earlier: string[] = [];
  return Object.entries(SHARED_GROUPS).map(([name, folders]) => {
    const project: TestProjectInlineConfiguration = {
      extends: true,
      test: {
        name,
        include: folders.map((folder) => `${folder}/${TEST_FILES}`.replace("/**/**/", "/**/")),
        exclude: [...configDefaults.exclude, ...OWN_PROCESS, ...earlier],
        isolate: false,
      },
    };
    earlier.push(...(project.test?.include ?? []));
    return project;
  });
}

export default defineConfig({
  test: {
    // .ci/run reads the JSON report to print its closing line "N passed, N failed".
    reporters: ["default", ["json", { outputFile: "test-results/vitest.json" }]],
    passWithNoTests: false,
    // One migrated PostgreSQL database per run, which each suite's database is cloned from:
    // migrating each of them from zero took about a fifth of the PostgreSQL suites' time.
    globalSetup: ["src/storage/postgres/test-support/migrated-template.ts"],
    // Vitest's default leaves a core to itself (one worker on a two-core CI machine), yet most
    // suites here wait on PostgreSQL, a peer process or Chromium rather than compute: a worker per
    // core halved the suite's time on such a machine (317 s against 620-670 s).
    maxWorkers: availableParallelism(),
    // Vitest's default is 5 s. A test that starts the server in-process waits for it to load the
    // WebAuthn library before it listens (about a second from source, under tsx, on an idle
    // two-core machine; several when both cores run other suites), so the default failed tests
    // that were not slow but queued behind the machine.
    testTimeout: 15_000,
    // Each file in a fresh process (Vitest's default) cost about a second of imports per file:
    // 452 s of 1,475 s of worker time for the whole suite on the two-core machine. The groups
    // share processes instead; measured there, src/app/authenticators took 50 s against 106 s,
    // src/http/routes 95 s against 144 s.
    projects: [
      {
        extends: true,
        test: { name: "own-process", include: OWN_PROCESS, isolate: true },
      },
      ...sharedProjects(),
    ],
  },
});
