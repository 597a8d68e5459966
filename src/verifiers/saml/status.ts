import type { Element } from "@xmldom/xmldom";
import { attribute, childrenNamed } from "./dom.js";
import { accept, reject, type SamlResult } from "./rejection.js";
import { NS, STATUS } from "./saml-names.js";

const MAX_CODE_LENGTH = 256;

/**
 * Refuses any status but Success, with the IdP's status codes top level first (checklist S11).
 * Responder + NoAuthnContext gets its own code: REFEDS MFA (R4) uses it to say "MFA was not
 * possible", which the use case turns into step-up or platform MFA rather than a plain failure.
 * The StatusMessage is the IdP's free text and is not repeated.
 */
export function checkStatus(response: Element): SamlResult<true> {
  const [status] = childrenNamed(response, NS.protocol, "Status");
  if (status === undefined) {
    return reject("saml.malformed", "the response has no Status");
  }
  const codes: string[] = [];
  let level: Element | undefined = childrenNamed(status, NS.protocol, "StatusCode")[0];
  while (level !== undefined && codes.length < 4) {
    const value = attribute(level, "Value");
    if (value === undefined) break;
    // Status codes are URIs; a longer value is not one, and must not flood the audit log.
    codes.push(value.slice(0, MAX_CODE_LENGTH));
    level = childrenNamed(level, NS.protocol, "StatusCode")[0];
  }
  const [top, second] = codes;
  if (top === undefined) {
    return reject("saml.malformed", "the Status has no StatusCode value");
  }
  if (top === STATUS.success) return accept(true);
  if (top === STATUS.responder && second === STATUS.noAuthnContext) {
    return reject(
      "saml.no_authn_context",
      "the IdP could not satisfy the requested authentication context",
      codes,
    );
  }
  return reject("saml.status", "the IdP answered with a status other than Success", codes);
}
