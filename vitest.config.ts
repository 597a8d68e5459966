import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    // .ci/run reads the JSON report to print its closing line "N passed, N failed".
    reporters: ["default", ["json", { outputFile: "test-results/vitest.json" }]],
    passWithNoTests: false,
  },
});
