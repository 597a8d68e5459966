/**
 * Threat: treating an IdP error as a sign-in (checklist S11, REFEDS R4). A status other than
 * Success ends the sign-in; Responder/NoAuthnContext ("MFA not possible") gets its own code so the
 * use case can offer step-up or platform MFA, never `allow`. And: taking anyone's unsigned error
 * for the IdP's word (S7): the refusal says whether the IdP signed the status it carries.
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
import { TestIdp } from "./test-support/test-idp.js";

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

  it("says an error status is unsigned when the response carries no signature", async () => {
    const rejection = await rejectionOf(await errorResponse(RESPONDER, NO_AUTHN_CONTEXT));
    expect(rejection.statusSigned).toBe(false);
  });

  it("says an error status is signed when the IdP's signature over the response verifies", async () => {
    const response = await idpResponse({ tags: { StatusCode: RESPONDER } }, { signResponse: true });
    const rejection = await rejectionOf(response);
    expect(rejection).toMatchObject({
      code: "saml.status",
      statusCodes: [RESPONDER],
      statusSigned: true,
    });
  });

  it("says an error status is unsigned when it was edited after the IdP signed the response", async () => {
    const signed = await idpResponse({ tags: { StatusCode: RESPONDER } }, { signResponse: true });
    const edited = tamper(signed, (doc) => {
      first(responseOf(doc), PROTOCOL, "StatusCode").setAttribute("Value", REQUESTER);
    });
    const rejection = await rejectionOf(edited);
    expect(rejection).toMatchObject({
      code: "saml.status",
      statusCodes: [REQUESTER],
      statusSigned: false,
    });
  });

  it("says an error status is unsigned when another key signed the response", async () => {
    const foreign = new TestIdp();
    const response = await idpResponse(
      { tags: { StatusCode: RESPONDER } },
      { signResponse: true },
      foreign,
    );
    // Verified against the shared IdP's registration: the foreign key is not one of its keys.
    expect((await rejectionOf(response)).statusSigned).toBe(false);
  });

  it("refuses an error answering another request than this sign-in's, signed or not", async () => {
    const unsigned = await errorResponse(RESPONDER, NO_AUTHN_CONTEXT);
    expect(await outcomeOf(unsigned, { expectedRequestId: "_another" })).toBe(
      "saml.in_response_to_mismatch",
    );
    const signed = await idpResponse({ tags: { StatusCode: RESPONDER } }, { signResponse: true });
    expect(await outcomeOf(signed, { expectedRequestId: "_another" })).toBe(
      "saml.in_response_to_mismatch",
    );
  });

  it("refuses a response without a Status", async () => {
    const edited = tamper(await idpResponse(), (doc) => {
      const response = responseOf(doc);
      response.removeChild(first(response, PROTOCOL, "Status"));
    });
    expect(await outcomeOf(edited)).toBe("saml.malformed");
  });
});
