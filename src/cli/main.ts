#!/usr/bin/env node
import { readFileSync } from "node:fs";
import { Command } from "commander";
import { evaluate, type EvaluationInput } from "../index.js";
import { demoScenarios } from "./demo-scenarios.js";
import { renderDecision } from "./render-decision.js";

const program = new Command()
  .name("tenant-mfa")
  .description("Decide and enforce how each organisation proves multi-factor authentication.");

program
  .command("demo")
  .description("Evaluate a few example sign-ins and print the decisions")
  .action(() => {
    const now = new Date();
    for (const scenario of demoScenarios(now)) {
      const decision = evaluate(scenario.input, { now });
      console.log(`\n▶ ${scenario.title}\n${indent(renderDecision(decision))}`);
    }
  });

program
  .command("evaluate")
  .description(
    "Evaluate one input (JSON, from FILE or standard input) and print the decision as JSON",
  )
  .argument("[file]", "input file; standard input when absent")
  .option("--now <iso>", "the instant to decide at (default: now)")
  .action((file: string | undefined, options: { now?: string }) => {
    const text = readFileSync(file ?? 0, "utf8");
    let input: EvaluationInput;
    try {
      input = JSON.parse(text) as EvaluationInput;
    } catch (error) {
      console.error(`tenant-mfa: the input is not JSON: ${(error as Error).message}`);
      process.exitCode = 2;
      return;
    }
    const now = options.now === undefined ? new Date() : new Date(options.now);
    console.log(JSON.stringify(evaluate(input, { now }), null, 2));
  });

const indent = (text: string): string => text.replace(/^/gm, "  ");

program.parse();
