/**
 * A server start reduced to its key file, for the race of several processes starting at once:
 * given key file paths as arguments, it says `ready` once loaded, waits for a line on its standard
 * input, then takes each path's key in turn (`keyFromFile`, as a start does) and prints, as one
 * JSON line, the key each gave or the message of what it threw.
 */
import { createInterface } from "node:readline";
import { keyFromFile } from "../sealing-keys.js";

/** What one start took from one key file. */
export type RacedKey = { readonly id: string; readonly key: string } | { readonly error: string };

const paths = process.argv.slice(2);
process.stdout.write("ready\n");
const input = createInterface({ input: process.stdin });
for await (const _go of input) break;
input.close();
const taken: RacedKey[] = paths.map((path) => {
  try {
    const { id, key } = keyFromFile(path);
    return { id, key: key.toString("base64") };
  } catch (error) {
    return {
      error: error instanceof Error ? `${error.message} ${String(error.cause)}` : String(error),
    };
  }
});
process.stdout.write(`${JSON.stringify(taken)}\n`);
