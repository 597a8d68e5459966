import type { Command } from "commander";
import { evaluate } from "../../index.js";
import type { CommandKit } from "../command-kit.js";
import { demoScenarios } from "../demo-scenarios.js";
import { renderDecision } from "../render-decision.js";

/** `demo`: a few example sign-ins evaluated, their decisions printed. */
export function registerDemoCommand(program: Command, kit: CommandKit): void {
  const { out } = kit;

  program
    .command("demo")
    .description("Evaluate a few example sign-ins and print the decisions")
    .action(() => {
      const now = new Date();
      for (const scenario of demoScenarios(now)) {
        const decision = evaluate(scenario.input, { now });
        out(`\n▶ ${scenario.title}\n${indent(renderDecision(decision))}`);
      }
    });
}

const indent = (text: string): string => text.replace(/^/gm, "  ");
