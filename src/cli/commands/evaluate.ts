import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { parseTime } from "../../core/time.js";
import { evaluate, type EvaluationInput } from "../../index.js";
import type { CommandKit } from "../command-kit.js";

/** `evaluate`: one input's decision, as JSON. */
export function registerEvaluateCommand(program: Command, kit: CommandKit): void {
  const { out, fail } = kit;

  program
    .command("evaluate")
    .description(
      "Evaluate one input (JSON, from FILE or standard input) and print the decision as JSON",
    )
    .argument("[file]", "input file; standard input when absent")
    .option("--now <iso>", "the instant to decide at (default: now)")
    .action((file: string | undefined, options: { now?: string }) => {
      // Read as the engine reads times (ISO 8601 with a zone): `new Date` would take "1" as the
      // year 2001, and an invalid date would be decided on all the same (a deny, exit code 0).
      const at = options.now === undefined ? Date.now() : parseTime(options.now);
      if (at === undefined) {
        fail(`--now takes an ISO 8601 time, not ${JSON.stringify(options.now)}`, 2);
        return;
      }
      const now = new Date(at);
      let text: string;
      try {
        text = readFileSync(file ?? 0, "utf8");
      } catch (error) {
        const reason = (error as NodeJS.ErrnoException).code ?? "error";
        fail(`cannot read the input ${file ?? "(standard input)"} (${reason})`, 2);
        return;
      }
      let input: EvaluationInput;
      try {
        input = JSON.parse(text) as EvaluationInput;
      } catch (error) {
        fail(`the input is not JSON: ${(error as Error).message}`, 2);
        return;
      }
      out(JSON.stringify(evaluate(input, { now }), null, 2));
    });
}
