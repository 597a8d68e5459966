import { createInterface } from "node:readline";

/**
 * The first line typed on `input` (without its line end), or undefined when the input ends first
 * (Ctrl-D, a closed pipe). Stops reading after it: nothing more is consumed.
 */
export function readAnswer(input: NodeJS.ReadableStream): Promise<string | undefined> {
  return new Promise((resolve) => {
    const lines = createInterface({ input, terminal: false, crlfDelay: Infinity });
    let answer: string | undefined;
    lines.once("line", (line) => {
      answer = line;
      lines.close();
    });
    lines.once("close", () => {
      resolve(answer);
    });
  });
}
