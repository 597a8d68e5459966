/**
 * Threat: treating an IdP error as a sign-in (checklist S11, REFEDS R4). A status other than
 * Success ends the sign-in; Responder/NoAuthnContext ("MFA not possible") gets its own code so the
 * use case can offer step-up or platform MFA, never `allow`.
 */
import { describe, expect, it } from "vitest";
import {
  SP,
  idpResponse,
  outcomeOf,
  protocol,
  testIdp,
  verification,
} from "./test-support/scenario.js";
import { PROTOCOL, assertionOf, first, responseOf, tamper } from "./test-support/tamper.js";

const RESPONDER = "urn:oasis:names:tc:SAML:2.0:status:Responder";
const REQUESTER = "urn:oasis:names:tc:SAML:2.0:status:Requester";
const NO_AUTHN_CONTEXT = "urn:oasis:names:tc:SAML:2.0:status:NoAuthnContext";
const REQUEST_DENIED = "urn:oasis:names:tc:SAML:2.0:status:RequestDenied";

/** The IdP's response turned into an error answer: nested status codes, no assertion. */
async function errorResponse(top: string, second?: string): Promise<string> {
  return tamper(await idpResponse(), (doc) => {
    const response = responseOf(doc);
    response.removeChild(assertionOf(doc));
    const code = first(response, PROTOCOL, "StatusCode");
    code.setAttribute("Value", top);
    if (second !== undefined) {
      const nested = doc.createElementNS(PROTOCOL, "samlp:StatusCode");
      nested.setAttribute("Value", second);
      code.appendChild(nested);
    }
  });
}

async function rejectionOf(samlResponse: string) {
  const result = await protocol.verifyResponse(
    SP,
    testIdp().settings(),
    verification(samlResponse),
  );
  if (result.ok) throw new Error("expected a rejection");
  return result.rejection;
}

describe("status", () => {
  it("maps Responder / NoAuthnContext to saml.no_authn_context with both codes", async () => {
    const rejection = await rejectionOf(await errorResponse(RESPONDER, NO_AUTHN_CONTEXT));
    expect(rejection.code).toBe("saml.no_authn_context");
    expect(rejection.statusCodes).toEqual([RESPONDER, NO_AUTHN_CONTEXT]);
  });

  it("maps any other error to saml.status with the codes, top level first", async () => {
    const rejection = await rejectionOf(await errorResponse(REQUESTER, REQUEST_DENIED));
    expect(rejection.code).toBe("saml.status");
    expect(rejection.statusCodes).toEqual([REQUESTER, REQUEST_DENIED]);
  });

  it("refuses a signed response whose top-level status is not Success", async () => {
    const response = await idpResponse({ tags: { StatusCode: RESPONDER } }, { signResponse: true });
    expect(await outcomeOf(response)).toBe("saml.status");
  });

  it("refuses a response without a Status", async () => {
    const edited = tamper(await idpResponse(), (doc) => {
      const response = responseOf(doc);
      response.removeChild(first(response, PROTOCOL, "Status"));
    });
    expect(await outcomeOf(edited)).toBe("saml.malformed");
  });
});
