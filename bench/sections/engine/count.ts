/**
 * A fixed amount of engine work, for instruction counts that the machine's load does not move:
 * `valgrind --tool=callgrind node .bench-build/bench/sections/engine/count.js WARMUP MEASURED`
 * builds the mix, runs `evaluate` WARMUP times, then MEASURED more times, cycling the mix in
 * order as the engine section does. Run it twice with the same WARMUP, once with MEASURED 0:
 * the difference of the two instruction totals divided by MEASURED is the cost of one decision,
 * JIT and mix building cancelled out. See bench/README.md.
 */
import process from "node:process";
import { evaluate, type EvaluationInput } from "../../../src/index.js";
import { settleHeap } from "../../lib/measure.js";
import { buildMix } from "./mix.js";

const MIX_SIZE = 4096;
const MASK = MIX_SIZE - 1;

function count(text: string | undefined, name: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) {
    process.stderr.write(`usage: count.js WARMUP MEASURED (${name} must be a whole number)\n`);
    process.exit(2);
  }
  return value;
}

const warmup = count(process.argv[2], "WARMUP");
const measured = count(process.argv[3], "MEASURED");
const { inputs, now } = buildMix(MIX_SIZE);
// As in the engine section: the first decisions come after the set-up's garbage collection.
await settleHeap();
const options = { now };
let allowed = 0;
let cpu = process.cpuUsage();
for (let k = 0; k < warmup + measured; k++) {
  if (k === warmup) cpu = process.cpuUsage();
  if (evaluate(inputs[k & MASK] as EvaluationInput, options).outcome === "allow") allowed++;
}
const used = process.cpuUsage(cpu);
// CPU time, unlike wall time, does not count the time other processes held the core.
const cpuNs = measured === 0 ? 0 : ((used.user + used.system) * 1000) / measured;
process.stdout.write(
  `${String(warmup + measured)} decisions, ${String(allowed)} allowed; ` +
    `measured: ${cpuNs.toFixed(0)} ns of CPU per decision\n`,
);
