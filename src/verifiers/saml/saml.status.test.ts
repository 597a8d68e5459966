/**
 * Threat: treating an IdP error as a sign-in (checklist S11, REFEDS R4). A status other than
 * Success ends the sign-in; Responder/NoAuthnContext ("MFA not possible") gets its own code so the
 * use case can offer step-up or platform MFA, never `allow`. And: taking anyone's unsigned error
 * for the IdP's word (S7): the refusal says whether the IdP signed the status it carries.
 */
import { DOMParser } from "@xmldom/xmldom";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  REQUEST_ID,
  SP,
  idpResponse,
  outcomeOf,
  protocol,
  testIdp,
  verification,
  type VerificationOverrides,
} from "./test-support/scenario.js";
import { signWithReferences } from "./test-support/sign.js";
import { rewriteSignedBytes } from "./test-support/signed-bytes.js";
import {
  PROTOCOL,
  assertionOf,
  decode,
  encode,
  first,
  responseOf,
  tamper,
} from "./test-support/tamper.js";
import { RSA_SHA1, TestIdp } from "./test-support/test-idp.js";

const SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success";
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

afterEach(() => {
  vi.restoreAllMocks();
});

async function rejectionOf(samlResponse: string, overrides: VerificationOverrides = {}) {
  const result = await protocol.verifyResponse(
    SP,
    testIdp().settings(),
    verification(samlResponse, overrides),
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

  it("refuses a signed error addressed to another ACS (another tenant's at the same IdP), not as this sign-in's status", async () => {
    const elsewhere = "https://mfa.example.com/t/initech/idps/corp/saml/acs";
    const response = await idpResponse(
      { tags: { StatusCode: RESPONDER, Destination: elsewhere } },
      { signResponse: true },
    );
    const unsolicited = await rejectionOf(response, { expectedRequestId: undefined });
    expect(unsolicited.code).toBe("saml.destination_mismatch");
    expect(unsolicited).not.toHaveProperty("statusSigned");
    expect(await outcomeOf(response)).toBe("saml.destination_mismatch");
  });

  it("refuses a signed error naming another Issuer than the registered IdP", async () => {
    const response = await idpResponse(
      { tags: { StatusCode: RESPONDER, Issuer: "https://idp.other.example/saml" } },
      { signResponse: true },
    );
    const rejection = await rejectionOf(response, { expectedRequestId: undefined });
    expect(rejection.code).toBe("saml.issuer_mismatch");
    expect(rejection).not.toHaveProperty("statusSigned");
  });

  it("refuses an unsigned error whose Destination is another ACS", async () => {
    const response = tamper(await errorResponse(RESPONDER, NO_AUTHN_CONTEXT), (doc) => {
      responseOf(doc).setAttribute("Destination", "https://evil.example/acs");
    });
    expect(await outcomeOf(response)).toBe("saml.destination_mismatch");
  });

  it("maps NoAuthnContext under any top-level code but Responder to saml.status", async () => {
    const rejection = await rejectionOf(await errorResponse(REQUESTER, NO_AUTHN_CONTEXT));
    expect(rejection.code).toBe("saml.status");
  });

  it("refuses a top-level status code that only ends like Success", async () => {
    const rejection = await rejectionOf(await errorResponse("urn:example:status:Success"));
    expect(rejection.code).toBe("saml.status");
  });

  it("refuses a StatusCode without a Value as saml.malformed", async () => {
    const edited = tamper(await idpResponse(), (doc) => {
      first(responseOf(doc), PROTOCOL, "StatusCode").removeAttribute("Value");
    });
    expect(await outcomeOf(edited)).toBe("saml.malformed");
  });

  it("reports at most four levels of status codes, each cut to 256 characters", async () => {
    const long = `urn:example:status:${"x".repeat(300)}`;
    const response = tamper(await errorResponse(REQUESTER), (doc) => {
      let code = first(responseOf(doc), PROTOCOL, "StatusCode");
      for (let level = 0; level < 5; level += 1) {
        const nested = doc.createElementNS(PROTOCOL, "samlp:StatusCode");
        nested.setAttribute("Value", long);
        code.appendChild(nested);
        code = nested;
      }
    });
    const rejection = await rejectionOf(response);
    expect(rejection.statusCodes).toEqual([REQUESTER, ...Array(3).fill(long.slice(0, 256))]);
  });

  it("refuses a response without a Status as malformed, whatever request it answers", async () => {
    const edited = tamper(await idpResponse(), (doc) => {
      const response = responseOf(doc);
      response.removeChild(first(response, PROTOCOL, "Status"));
    });
    const rejection = await rejectionOf(edited, { expectedRequestId: "_another" });
    expect(rejection.code).toBe("saml.malformed");
    expect(rejection).not.toHaveProperty("statusSigned");
  });

  it("says an error status is unsigned when the IdP signed it with rsa-sha1", async () => {
    const genuine = decode(await errorResponse(REQUESTER));
    const id =
      responseOf(new DOMParser().parseFromString(genuine, "text/xml")).getAttribute("ID") ?? "";
    const sha1 = signWithReferences(genuine, testIdp().keyPair.privateKeyPem, id, [id], {
      signature: RSA_SHA1,
    });
    expect((await rejectionOf(encode(sha1))).statusSigned).toBe(false);
  });

  it("refuses a response whose signed bytes say Success where the posted status is an error", async () => {
    const response = await idpResponse({ tags: { StatusCode: RESPONDER } }, { signResponse: true });
    rewriteSignedBytes("<samlp:Response", (signed) =>
      signed.replace(`Value="${RESPONDER}"`, `Value="${SUCCESS}"`),
    );
    expect((await rejectionOf(response)).code).toBe("saml.signature_wrapping");
  });

  it("reads a signed error's InResponseTo from the signed bytes", async () => {
    const response = await idpResponse({ tags: { StatusCode: RESPONDER } }, { signResponse: true });
    rewriteSignedBytes("<samlp:Response", (signed) =>
      signed.replace(`InResponseTo="${REQUEST_ID}"`, 'InResponseTo="_another"'),
    );
    expect((await rejectionOf(response)).code).toBe("saml.in_response_to_mismatch");
  });

  it("reports a signed error's status codes from the signed bytes", async () => {
    const response = await idpResponse({ tags: { StatusCode: RESPONDER } }, { signResponse: true });
    rewriteSignedBytes("<samlp:Response", (signed) =>
      signed.replace(`Value="${RESPONDER}"`, `Value="${REQUESTER}"`),
    );
    expect(await rejectionOf(response)).toMatchObject({
      statusCodes: [REQUESTER],
      statusSigned: true,
    });
  });

  it("refuses a response without a Status", async () => {
    const edited = tamper(await idpResponse(), (doc) => {
      const response = responseOf(doc);
      response.removeChild(first(response, PROTOCOL, "Status"));
    });
    expect(await outcomeOf(edited)).toBe("saml.malformed");
  });
});
