import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const main = fileURLToPath(new URL("./main.ts", import.meta.url));
const tsx = fileURLToPath(new URL("../../node_modules/.bin/tsx", import.meta.url));

/** Runs `tenant-mfa args`, closing its standard output after the first bytes, as `| head` does. */
function runIntoClosedPipe(
  args: readonly string[],
): Promise<{ code: number | null; stderr: string; read: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(tsx, [main, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    let read = 0;
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.once("data", (chunk: Buffer) => {
      read = chunk.length;
      child.stdout.destroy();
    });
    child.on("error", reject);
    child.on("close", (code) => {
      resolve({ code, stderr, read });
    });
  });
}

describe("tenant-mfa with its output piped to a reader that stops early", () => {
  it(
    "ends quietly with exit code 0, not with an unhandled EPIPE stack trace",
    async () => {
      const result = await runIntoClosedPipe(["demo"]);
      expect(result.read).toBeGreaterThan(0);
      expect(result.stderr).not.toContain("EPIPE");
      expect(result.stderr).not.toContain("Unhandled");
      expect(result.code).toBe(0);
    },
    // The child compiles the CLI with tsx first: seconds on a busy machine.
    90_000,
  );
});
