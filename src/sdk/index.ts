/**
 * tenant-mfa's SDK for the platform side (`tenant-mfa/sdk`): verify assurance tokens, judge them
 * against what an action needs, start a step-up flow and exchange its code, and guard routes in
 * Express-style servers and Fastify. It depends on `jose` only at run time.
 *
 * @packageDocumentation
 */
export { ASSURANCE_TOKEN_TYPE, type AssuranceTokenClaims } from "./assurance-token-claims.js";
export {
  ASSURANCE_TOKEN_ERRORS,
  AssuranceTokenError,
  type AssuranceTokenErrorCode,
} from "./assurance-token-error.js";
export {
  verifyAssuranceToken,
  type AssuranceKeySource,
  type AssuranceTokenChecks,
  type VerifyAssuranceTokenOptions,
} from "./verify-assurance-token.js";
export {
  checkAssurance,
  stepUpFor,
  type AssuranceCheck,
  type AssuranceNeeds,
  type AssuranceShortfall,
} from "./check-assurance.js";
export { TenantMfaApiError, type FetchLike, type TenantMfaClient } from "./tenant-mfa-client.js";
export {
  startStepUp,
  type PlatformVerification,
  type StepUp,
  type StepUpRequest,
} from "./start-step-up.js";
export { exchangeCode, type ExchangedCode } from "./exchange-code.js";
export {
  defaultTokenReader,
  guardAssurance,
  type AssuranceGuardOptions,
  type AssuranceProblem,
  type GuardOutcome,
  type RequestWithHeaders,
} from "./guard-assurance.js";
export { requireAssurance, type AssuredRequest } from "./require-assurance.js";
export { assurancePreHandler } from "./fastify-assurance.js";
export type { RequirementSpec } from "../core/policy.js";
export type { Aal, Population } from "../core/vocabulary.js";
