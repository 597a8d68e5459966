import type { Actor, AuthenticationEvent, EnrolledAuthenticator, Evidence } from "./evidence.js";
import {
  checkSpec,
  isNonEmptyString,
  isRecord,
  type EvaluationInput,
  type IdpProfile,
} from "./input.js";
import type { Exemption, PlatformMandate, RequirementSpec } from "./policy.js";
import { parseTime } from "./time.js";
import { isPopulation, isRiskLevel, type Population, type RiskLevel } from "./vocabulary.js";

/**
 * The parts of an evaluation input that arrive with each request, checked and read once. Callers
 * build inputs of many shapes (optional fields present or not), so reading a field of the input
 * itself is slow; the engine reads each once, here, and works on this one shape after.
 */
export interface Request {
  readonly tenant: string;
  /** Not checked here: see `prepareRules`. */
  readonly policy: unknown;
  /** A list, its mandates not checked here: see `prepareRules`. */
  readonly mandates: readonly PlatformMandate[];
  readonly principalId: string;
  readonly population: Population;
  readonly authenticators: readonly EnrolledAuthenticator[];
  readonly sharedLogin: boolean;
  readonly events: readonly AuthenticationEvent[];
  readonly grant: Evidence["grant"];
  readonly act: Actor | undefined;
  /** A list; each exemption is checked where it is used. */
  readonly exemptions: readonly Exemption[] | undefined;
  readonly risk: RiskLevel | undefined;
  readonly stepUp: RequirementSpec | undefined;
  /** When the session was last active, parsed. */
  readonly lastActivityAt: number | undefined;
  readonly idps: readonly IdpProfile[] | undefined;
}

const NO_MANDATES: readonly PlatformMandate[] = Object.freeze([]);
const NO_AUTHENTICATORS: readonly EnrolledAuthenticator[] = Object.freeze([]);

/**
 * Checks and reads the request parts of an input: the tenant, the principal, the evidence's
 * shape, risk, last activity, step-up, and that lists are lists. Individual evidence events and
 * exemptions are checked where they are used, so one malformed event is ignored rather than
 * fatal. Returns the request, or what is wrong with it.
 */
export function readRequest(input: unknown): Request | string {
  if (!isRecord(input)) return "input must be an object";
  const i = input as unknown as EvaluationInput;
  const tenant: unknown = i.tenant;
  if (!isNonEmptyString(tenant)) return "tenant is required";
  const principal: unknown = i.principal;
  if (!isRecord(principal)) return "principal is required";
  const {
    id: principalId,
    population,
    authenticators,
    sharedLogin,
  } = principal as EvaluationInput["principal"];
  if (!isNonEmptyString(principalId)) return "principal.id is required";
  if (!isPopulation(population)) return "principal.population is unknown";
  // Fail closed: a mark that is not plainly true or false is not read as "not shared".
  if (sharedLogin !== undefined && typeof sharedLogin !== "boolean") {
    return "principal.sharedLogin must be true or false";
  }
  const evidence: unknown = i.evidence;
  if (!isRecord(evidence)) return "evidence.events must be a list";
  const { events, grant, act } = evidence as unknown as Evidence;
  if (!Array.isArray(events)) return "evidence.events must be a list";
  const { risk, lastActivityAt, stepUp, exemptions, mandates, idps } = i;
  if (risk !== undefined && !isRiskLevel(risk)) return "risk is unknown";
  const lastActive = lastActivityAt === undefined ? undefined : parseTime(lastActivityAt);
  if (lastActivityAt !== undefined && lastActive === undefined) {
    return "lastActivityAt must be an ISO 8601 time";
  }
  if (stepUp !== undefined) {
    const problem = checkSpec(stepUp, "stepUp");
    if (problem !== undefined) return problem;
  }
  if (exemptions !== undefined && !Array.isArray(exemptions)) return "exemptions must be a list";
  if (mandates !== undefined && !Array.isArray(mandates)) return "mandates must be a list";
  if (idps !== undefined && !Array.isArray(idps)) return "idps must be a list";
  return {
    tenant,
    policy: i.policy,
    mandates: mandates ?? NO_MANDATES,
    principalId,
    population,
    authenticators: authenticators ?? NO_AUTHENTICATORS,
    sharedLogin: sharedLogin === true,
    events,
    grant,
    act,
    exemptions,
    risk,
    stepUp,
    lastActivityAt: lastActive,
    idps,
  };
}
