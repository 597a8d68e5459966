/**
 * Arrows point inward: core ← app ← adapters ← main. The core imports nothing but itself,
 * adapters never import each other, and nothing imports the composition roots.
 * @type {import('dependency-cruiser').IConfiguration}
 */
module.exports = {
  forbidden: [
    {
      name: "core-is-pure",
      comment:
        "src/core is the pure policy engine: no adapters, no Node.js built-ins, no packages.",
      severity: "error",
      from: { path: "^src/core/" },
      to: { pathNot: "^src/core/" },
    },
    {
      name: "app-depends-only-on-core",
      comment: "Use cases speak to ports; concrete adapters are wired in by the composition root.",
      severity: "error",
      from: { path: "^src/app/" },
      to: { path: "^src/(verifiers|secrets|tokens|storage|http|cli|config)/" },
    },
    {
      name: "adapters-do-not-import-each-other",
      severity: "error",
      from: { path: "^src/(verifiers|secrets|tokens|storage|http|config)/([^/]+)" },
      to: { path: "^src/(verifiers|secrets|tokens|storage|http|cli|config)/", pathNot: "^src/$1/" },
    },
    {
      name: "sdk-stands-apart",
      comment:
        "The platform-side SDK (tenant-mfa/sdk) runs in the platform's process: it may use the core's types, never the server's use cases, stores, HTTP layer or adapters.",
      severity: "error",
      from: { path: "^src/sdk/" },
      to: {
        path: "^src/(app|storage|http|verifiers|secrets|tokens|cli|config)/|^src/(main|index)\\.ts$",
      },
    },
    {
      name: "no-circular",
      severity: "error",
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    exclude: { path: ["\\.test\\.ts$", "/test-support/", "^src/storage/contract/"] },
  },
};
