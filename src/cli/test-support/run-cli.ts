import { createProgram } from "../program.js";

/** What one run of the command line wrote, and the exit code it set. */
export interface CliRun {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** Runs `tenant-mfa ARGS` in this process, its output captured. */
export async function runCli(
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<CliRun> {
  const result: CliRun = { stdout: "", stderr: "", exitCode: 0 };
  await createProgram({
    env,
    stdout: { write: (text: string) => (result.stdout += text) },
    stderr: { write: (text: string) => (result.stderr += text) },
    setExitCode: (code) => {
      result.exitCode = code;
    },
  }).parseAsync(["node", "tenant-mfa", ...args]);
  return result;
}
