import { evaluate, OUTCOMES, type EvaluationInput, type Outcome } from "../../src/index.js";
import { measureThroughput, settleHeap } from "../lib/measure.js";
import type { Figure, Section, SectionContext, SectionResult } from "../lib/section.js";
import { cedarDecision, prepareCedar, statefulIsAuthorized } from "./engine/cedar.js";
import { buildMix } from "./engine/mix.js";

/** Distinct inputs in the mix; a power of two, so the loops cycle with a mask. */
const MIX_SIZE = 4096;
const MASK = MIX_SIZE - 1;

/** The issue's targets: decisions per second on one core, and the factor over Cedar. */
const TARGET_DECISIONS_PER_S = 1_000_000;
const TARGET_RATIO_VS_CEDAR = 50;

const percent = (part: number, whole: number): number => (whole === 0 ? 0 : (100 * part) / whole);
const fixed = (value: number, digits: number): string => value.toFixed(digits);

async function run({ measure, log }: SectionContext): Promise<SectionResult> {
  log(`building a mix of ${String(MIX_SIZE)} inputs`);
  const mix = buildMix(MIX_SIZE);
  const { inputs, now } = mix;
  const options = { now };

  log("compiling the Cedar policy set and converting the mix into Cedar requests");
  const cedar = prepareCedar(inputs, mix.mandates, now);

  // The set-up above fills the old generation, so V8 is often marking when it ends. Decisions
  // made while it marks look long-lived to its pretenuring, which then allocates every later
  // decision's objects in the old generation for the life of the process: the slow mode of
  // bench/README.md. A service decides after its start-up, not inside it; so does the bench.
  await settleHeap();

  // One pass, untimed: the mix's outcome distribution and the reference for the Cedar check.
  const outcomes = inputs.map((input) => evaluate(input, options).outcome);
  const distribution = new Map<Outcome, number>(OUTCOMES.map((o) => [o, 0]));
  for (const outcome of outcomes) distribution.set(outcome, (distribution.get(outcome) ?? 0) + 1);

  let agree = 0;
  let cedarErrors = 0;
  let cedarAllows = 0;
  const disagreements = new Map<string, number>();
  for (let index = 0; index < MIX_SIZE; index++) {
    const call = cedar.calls[index];
    const outcome = outcomes[index];
    if (call === undefined || outcome === undefined) throw new Error("mix and requests differ");
    const decision = cedarDecision(call);
    if (decision === "error") cedarErrors++;
    if (decision === "allow") cedarAllows++;
    if ((decision === "allow") === (outcome === "allow")) agree++;
    else {
      const key = `engine ${outcome} / cedar ${decision}`;
      disagreements.set(key, (disagreements.get(key) ?? 0) + 1);
    }
  }

  log("measuring evaluate()");
  const counts: Record<Outcome, number> = { allow: 0, challenge: 0, deny: 0, not_applicable: 0 };
  let cursor = 0;
  const engine = measureThroughput((count) => {
    for (let k = 0; k < count; k++) {
      const decision = evaluate(inputs[cursor & MASK] as EvaluationInput, options);
      counts[decision.outcome]++;
      cursor++;
    }
    return counts.allow;
  }, measure);
  // The timed loop walked the mix in order, so it saw the distribution printed below.
  const countedTotal = OUTCOMES.reduce((sum, o) => sum + counts[o], 0);

  log("measuring Cedar statefulIsAuthorized()");
  const calls = cedar.calls;
  let cedarCursor = 0;
  let cedarAllowed = 0;
  const baseline = measureThroughput((count) => {
    for (let k = 0; k < count; k++) {
      const answer = statefulIsAuthorized(calls[cedarCursor & MASK] as (typeof calls)[number]);
      if (answer.type === "success" && answer.response.decision === "allow") cedarAllowed++;
      cedarCursor++;
    }
    return cedarAllowed;
  }, measure);

  const ratio = engine.perSecond / baseline.perSecond;
  const share = (outcome: Outcome): number => percent(distribution.get(outcome) ?? 0, MIX_SIZE);
  const figures: Figure[] = [
    {
      key: "decisions_per_s",
      label: "evaluate() on the mix, one thread",
      value: engine.perSecond,
      unit: "decisions/s",
      target: { min: TARGET_DECISIONS_PER_S },
    },
    {
      key: "ns_per_decision",
      label: "mean time per decision",
      value: 1e9 / engine.perSecond,
      unit: "ns",
    },
    {
      key: "cedar_decisions_per_s",
      label: "Cedar statefulIsAuthorized() on the same mix",
      value: baseline.perSecond,
      unit: "decisions/s",
    },
    {
      key: "ratio_vs_cedar",
      label: "decisions_per_s / cedar_decisions_per_s",
      value: ratio,
      unit: "×",
      decimals: 1,
      target: { min: TARGET_RATIO_VS_CEDAR },
    },
    {
      key: "cedar_agreement_pct",
      label: "inputs where Cedar allow/deny matches engine allow/not allow",
      value: percent(agree, MIX_SIZE),
      unit: "%",
      decimals: 2,
    },
    { key: "mix_inputs", label: "distinct inputs, cycled in order", value: MIX_SIZE, unit: "" },
    ...OUTCOMES.map((outcome): Figure => ({
      key: `mix_${outcome}_pct`,
      label: `share of the mix the engine decides ${outcome}`,
      value: share(outcome),
      unit: "%",
      decimals: 1,
    })),
  ];

  const rounds = (rates: readonly number[]): string =>
    rates.map((r) => Math.round(r).toLocaleString("en-US")).join(", ");
  const mismatchDetail = [...disagreements.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([key, n]) => `${key}: ${String(n)}`)
    .join("; ");
  const notes = [
    `mix: ${String(MIX_SIZE)} inputs over 48 tenants (5 postures), 0–3 of 5 platform mandates, ` +
      `5 populations, 0–3 events; decided at ${now.toISOString()}`,
    `mix outcomes (engine): ${OUTCOMES.map((o) => `${o} ${fixed(share(o), 1)}%`).join(" · ")}`,
    `timed loop outcome counts: ${OUTCOMES.map((o) => `${o} ${String(counts[o])}`).join(", ")} ` +
      `(${String(countedTotal)} decisions)`,
    `engine rounds (decisions/s): ${rounds(engine.rounds)}; spread ${fixed(100 * engine.spread, 1)}%; ` +
      `batch ${String(engine.batchSize)}; CPU/wall ${fixed(engine.cpuPerWall, 2)}`,
    `cedar rounds (decisions/s): ${rounds(baseline.rounds)}; spread ${fixed(100 * baseline.spread, 1)}%; ` +
      `batch ${String(baseline.batchSize)}; CPU/wall ${fixed(baseline.cpuPerWall, 2)}`,
    `cedar: ${String(cedar.policyCount)} policies, preparsed once (preparsePolicySet + ` +
      `statefulIsAuthorized), no schema on the timed requests; allows ${fixed(percent(cedarAllows, MIX_SIZE), 1)}% ` +
      `of the mix; requests with evaluation errors: ${String(cedarErrors)}`,
    `cedar agreement ${fixed(percent(agree, MIX_SIZE), 2)}% (${String(agree)}/${String(MIX_SIZE)})` +
      (mismatchDetail === "" ? "" : `; mismatches: ${mismatchDetail}`),
    "cedar requests carry a pre-built evidence digest (best assurance per method); building it " +
      "is untimed, while evaluate() classifies and pairs the evidence inside the timed loop",
  ];
  return { figures, notes };
}

/** Decisions per second of `evaluate()` on a representative mix, against Cedar on the same mix. */
export const engineSection: Section = {
  name: "engine",
  title: "policy decisions per second, evaluate() vs Cedar (cedar-wasm), one thread",
  run,
};
