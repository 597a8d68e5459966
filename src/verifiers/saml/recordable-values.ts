import type { VerifiedSamlAssertion } from "../../app/federation/protocols.js";
import {
  findUnrecordableValue,
  RECORDED_VALUE_LIMITS,
} from "../../app/federation/recordable-values.js";
import { accept, reject, type SamlResult } from "./rejection.js";

/**
 * The last check of a verified assertion: every value handed on can be recorded as the IdP
 * signed it. XML 1.0 has no U+0000 and no lone surrogate, and the hardened parser refuses both
 * in the signed bytes, so here they would mean a parser that let one through; a value beyond
 * its limit (a 100 kB NameID fits in a response) is refused here alone. `attributes` are left
 * out: nothing records them, and the configured subject attribute is checked as the subject.
 */
export function checkRecordableValues(
  assertion: VerifiedSamlAssertion,
): SamlResult<VerifiedSamlAssertion> {
  const { subject, value } = RECORDED_VALUE_LIMITS;
  const problem = findUnrecordableValue([
    { name: "the subject", value: assertion.subject, maxLength: subject },
    { name: "the assertion ID", value: assertion.assertionId, maxLength: value },
    { name: "the NameID Format", value: assertion.nameIdFormat, maxLength: value },
    { name: "the SessionIndex", value: assertion.sessionIndex, maxLength: value },
    ...assertion.authnContextClassRefs.map((ref) => ({
      name: "an AuthnContextClassRef",
      value: ref,
      maxLength: value,
    })),
  ]);
  return problem === undefined ? accept(assertion) : reject("saml.value_unusable", problem);
}
