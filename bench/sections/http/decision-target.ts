import { LoadError, type LoadTarget } from "./load.js";
import { outcomeOf, postRequest, type DecisionCase } from "./mix.js";
import type { SampledDecision } from "./verify.js";

/** Every this many decisions, one is parsed and kept to read its receipt back afterwards. */
const SAMPLE_EVERY = 257;
const MAX_SAMPLES = 500;

/**
 * The decision target: the mix's bodies in turn; each response's outcome must be the one its
 * case expects, and a sample of decisions is kept for the read-back.
 */
export function decisionTarget(options: {
  readonly port: number;
  readonly cases: readonly DecisionCase[];
  /** The path of request `index`. */
  readonly path: (index: number) => string;
  readonly secret: string;
  readonly samples: SampledDecision[];
  readonly outcomes: Map<string, number>;
}): LoadTarget {
  const { port, cases, path, secret, samples, outcomes } = options;
  const caseOf = (index: number): DecisionCase => cases[index % cases.length] as DecisionCase;
  return {
    port,
    request: (index) => postRequest(port, path(index), secret, caseOf(index).body),
    check(index, status, body) {
      const outcome = outcomeOf(body);
      const expected = caseOf(index).expected;
      if (status !== 201 || outcome !== expected) {
        throw new LoadError(
          `request ${String(index)} (${caseOf(index).label}): HTTP ${String(status)}, outcome ` +
            `${outcome}, expected 201 ${expected}: ${body.toString("utf8", 0, 300)}`,
        );
      }
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      if (index % SAMPLE_EVERY === 0 && samples.length < MAX_SAMPLES) {
        const decision = JSON.parse(body.toString("utf8")) as { id: string; outcome: string };
        samples.push({ id: decision.id, outcome: decision.outcome });
      }
    },
  };
}
