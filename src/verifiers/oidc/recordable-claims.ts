import type { VerifiedIdToken } from "../../app/federation/protocols.js";
import {
  findUnrecordableValue,
  RECORDED_VALUE_LIMITS,
} from "../../app/federation/recordable-values.js";
import { accept, reject, type OidcOutcome } from "./rejection.js";

/**
 * The last check of a verified ID token: every claim value that is recorded can be recorded as
 * the IdP signed it. A JSON string carries U+0000 (`\u0000`) and lone surrogates (`\ud800`),
 * and no other check of the token minds them: PostgreSQL refused a NUL subject as a store
 * outage, and both stores turn a lone surrogate into U+FFFD, making two subjects one. `iss`,
 * `aud`, `azp` and `nonce` are not checked here: each equals a value this service chose.
 */
export function checkRecordableClaims(token: VerifiedIdToken): OidcOutcome<VerifiedIdToken> {
  const { subject, value } = RECORDED_VALUE_LIMITS;
  const sub = token.claims["sub"];
  const problem = findUnrecordableValue([
    { name: "sub", value: typeof sub === "string" ? sub : undefined, maxLength: subject },
    { name: "the subject claim", value: token.subject, maxLength: subject },
    { name: "acr", value: token.acr, maxLength: value },
    ...(token.amr ?? []).map((method, index) => ({
      name: `amr[${index}]`,
      value: method,
      maxLength: value,
    })),
  ]);
  return problem === undefined ? accept(token) : reject("oidc.claim_unusable", problem);
}
