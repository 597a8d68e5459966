import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { createProgram } from "../program.js";

/** What one run of the command line wrote, and the exit code it set. */
export interface CliRun {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/**
 * What the command reads on its standard input: `text`, from a terminal (`isTTY`, an operator
 * typing) or not (a pipe, a script). Without it, standard input is not a terminal and ends at once.
 */
export interface CliInput {
  /**
   * What is typed; an iterable yields it in pieces, each when the command reads it (to act
   * between a command's question and its answer).
   */
  readonly text: string | AsyncIterable<string>;
  readonly isTTY: boolean;
}

/** Runs `tenant-mfa ARGS` in this process, its output captured. */
export async function runCli(
  args: readonly string[],
  env: Record<string, string> = {},
  input: CliInput = { text: "", isTTY: false },
): Promise<CliRun> {
  const result: CliRun = { stdout: "", stderr: "", exitCode: 0 };
  const text = typeof input.text === "string" ? [input.text].filter((t) => t !== "") : input.text;
  const stdin = Object.assign(Readable.from(text), {
    isTTY: input.isTTY,
  });
  await createProgram({
    env,
    stdin,
    stdout: { write: (text: string) => (result.stdout += text) },
    stderr: { write: (text: string) => (result.stderr += text) },
    setExitCode: (code) => {
      result.exitCode = code;
    },
  }).parseAsync(["node", "tenant-mfa", ...args]);
  return result;
}

/** The user id of `nobody`, whom a test runs a command as where root would ignore permissions. */
export const NOBODY = 65534;

/** Whether the tests run as root, which alone may run a command as {@link NOBODY}. */
export const asRoot = process.getuid?.() === 0;

/** Runs `tenant-mfa ARGS` as {@link NOBODY}, in a process of its own (tsx compiles it first). */
export function runCliAsNobody(args: readonly string[]): SpawnSyncReturns<string> {
  const main = fileURLToPath(new URL("../main.ts", import.meta.url));
  const tsx = fileURLToPath(new URL("../../../node_modules/.bin/tsx", import.meta.url));
  return spawnSync(
    "setpriv",
    [
      `--reuid=${String(NOBODY)}`,
      `--regid=${String(NOBODY)}`,
      "--clear-groups",
      tsx,
      main,
      ...args,
    ],
    { encoding: "utf8", timeout: 60_000 },
  );
}
