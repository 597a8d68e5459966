import { expect, vi } from "vitest";
import { createProgram } from "../program.js";

/** What the command line wrote when its parser refused the arguments, and its exit code. */
export interface UsageError {
  readonly stderr: string;
  readonly exitCode: string | number | null | undefined;
}

class Exited extends Error {}

/**
 * Runs `tenant-mfa ARGS`, which must be a usage error: the parser ends the process on one, so
 * `process.exit` ends the command instead while it runs.
 */
export async function usageErrorOf(args: readonly string[]): Promise<UsageError> {
  let stderr = "";
  let exitCode: UsageError["exitCode"];
  const exit = vi.spyOn(process, "exit").mockImplementation((code) => {
    exitCode = code;
    throw new Exited(`exit ${String(code)}`);
  });
  try {
    const program = createProgram({
      env: {},
      stdout: { write: () => true },
      stderr: { write: (text: string) => (stderr += text) },
      setExitCode: () => undefined,
    });
    await expect(program.parseAsync(["node", "tenant-mfa", ...args])).rejects.toBeInstanceOf(
      Exited,
    );
  } finally {
    exit.mockRestore();
  }
  return { stderr, exitCode };
}
