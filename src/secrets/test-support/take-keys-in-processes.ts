import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";
import type { RacedKey } from "./key-file-racer.js";

const RACER = fileURLToPath(new URL("./key-file-racer.ts", import.meta.url));
const TSX = fileURLToPath(new URL("../../../node_modules/.bin/tsx", import.meta.url));

/**
 * Starts `count` processes (run as user `uid` when given, which only root may ask) that each take
 * the key of every path in `paths` as a server's start does, in the same order, released together
 * once all are loaded: what each took, path by path.
 */
export async function takeKeysInProcesses(
  count: number,
  paths: readonly string[],
  { uid }: { readonly uid?: number } = {},
): Promise<RacedKey[][]> {
  const taker = [RACER, ...paths];
  const [file, args] =
    uid === undefined
      ? [TSX, taker]
      : [
          "setpriv",
          [`--reuid=${String(uid)}`, `--regid=${String(uid)}`, "--clear-groups", TSX, ...taker],
        ];
  const racers = Array.from({ length: count }, () => {
    const child = spawn(file, args, { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8");
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (text: string) => (stderr += text));
    // A process that ends before it is ready (failed to load) must not hold the others up.
    child.stdin.on("error", () => undefined);
    const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
    const loaded = new Promise<void>((resolve) =>
      child.stdout.on("data", (text: string) => {
        stdout += text;
        if (stdout.startsWith("ready\n")) resolve();
      }),
    );
    const ready = Promise.race([loaded, exited]);
    return { child, ready, exited, output: () => ({ stdout, stderr }) };
  });
  await Promise.all(racers.map((racer) => racer.ready));
  for (const racer of racers) racer.child.stdin.end("go\n");
  return Promise.all(
    racers.map(async (racer) => {
      const code = await racer.exited;
      const { stdout, stderr } = racer.output();
      expect(code, stderr).toBe(0);
      return JSON.parse(stdout.slice("ready\n".length)) as RacedKey[];
    }),
  );
}
