import { deepFreeze, type EvaluationInput } from "../input.js";

/**
 * The same input with deeply frozen copies of its policy and mandates, as the service's rule
 * cache hands them out: rules the engine may prepare once and keep.
 */
export function withFrozenRules(input: EvaluationInput): EvaluationInput {
  const mandates = input.mandates?.map((m) => deepFreeze(structuredClone(m)));
  return {
    ...input,
    policy: deepFreeze(structuredClone(input.policy)),
    ...(mandates === undefined ? {} : { mandates }),
  };
}
