// Threat: an auditor verifying a store on a read-only evidence mount is told that the store is
// behind and must be migrated, which is false and which, followed, would change the evidence.
// SQLite cannot open a WAL store read-only when its -shm file is missing and its folder cannot be
// written: `audit verify` says so (exit 2) and changes nothing. Root ignores folder permissions,
// so the verification runs as `nobody`, in a process of its own.
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { createProgram } from "./program.js";

const NOBODY = 65534;
const program = fileURLToPath(new URL("./program.ts", import.meta.url));
const tsx = fileURLToPath(new URL("../../node_modules/.bin/tsx", import.meta.url));
const asRoot = process.getuid?.() === 0;

describe("audit verify on a store in a folder it cannot write", () => {
  it.skipIf(!asRoot)(
    "names the unreadable WAL store, never 'behind' (skipped unless root: it drops to nobody)",
    async () => {
      const folder = mkdtempSync(join(tmpdir(), "tenant-mfa-verify-mount-"));
      chmodSync(folder, 0o755);
      const store = join(folder, "evidence");
      mkdirSync(store);
      const file = join(store, "store.db");
      let exit = 0;
      const io = {
        env: {},
        stdout: { write: () => true },
        stderr: { write: () => true },
        setExitCode: (code: number) => (exit = code),
      };
      await createProgram(io).parseAsync([
        "node",
        "tenant-mfa",
        "bootstrap",
        "--db",
        `sqlite:${file}`,
      ]);
      expect(exit).toBe(0);
      chmodSync(file, 0o644);
      chmodSync(store, 0o555);
      const before = { files: readdirSync(store).sort(), bytes: readFileSync(file) };
      const script = join(folder, "verify.mts");
      writeFileSync(
        script,
        `import { createProgram } from ${JSON.stringify(program)};
const io = { env: {}, stdout: process.stdout, stderr: process.stderr,
  setExitCode: (code) => { process.exitCode = code; } };
await createProgram(io).parseAsync(["node", "tenant-mfa", "audit", "verify", "--db", ${JSON.stringify(`sqlite:${file}`)}]);
`,
      );
      chmodSync(script, 0o644);
      const result = spawnSync(
        "setpriv",
        [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups", tsx, script],
        { encoding: "utf8", timeout: 60_000 },
      );
      expect(result.status, result.stderr).toBe(2);
      expect(result.stderr).toContain("cannot read the store");
      expect(result.stderr).toContain("-shm");
      expect(result.stderr).not.toContain("migrate");
      expect({ files: readdirSync(store).sort(), bytes: readFileSync(file) }).toEqual(before);
    },
    // The child compiles the CLI with tsx before it verifies: seconds on a busy machine.
    90_000,
  );
});
