/**
 * Threat: a genuine, validly signed response used where it was not meant to go (checklist S12–S16,
 * invariant 9): another IdP's entity, another endpoint, another SP, another sign-in. Each variant
 * is signed by the real IdP with exactly one value wrong.
 */
import { describe, expect, it } from "vitest";
import {
  REQUEST_ID,
  SP,
  idpResponse,
  outcomeOf,
  protocol,
  testIdp,
  verification,
} from "./test-support/scenario.js";
import { resignAssertion } from "./test-support/sign.js";
import { ASSERTION, assertionOf, decode, first } from "./test-support/tamper.js";

const ELSEWHERE = "https://evil.example/acs";

describe("Issuer (S12)", () => {
  it("refuses a wrong Response Issuer", async () => {
    const response = await idpResponse({ tags: { Issuer: "https://idp.other.example/saml" } });
    expect(await outcomeOf(response)).toBe("saml.issuer_mismatch");
  });

  it("refuses a wrong Response Issuer in a signed response", async () => {
    const response = await idpResponse(
      { tags: { Issuer: "https://idp.other.example/saml" } },
      { signResponse: true },
    );
    expect(await outcomeOf(response)).toBe("saml.issuer_mismatch");
  });

  it("refuses a wrong Assertion Issuer", async () => {
    const response = await idpResponse({
      tags: { AssertionIssuer: "https://idp.other.example/saml" },
    });
    expect(await outcomeOf(response)).toBe("saml.issuer_mismatch");
  });

  it("refuses an Issuer that differs only by a trailing slash", async () => {
    const response = await idpResponse({ tags: { AssertionIssuer: `${testIdp().entityId}/` } });
    expect(await outcomeOf(response)).toBe("saml.issuer_mismatch");
  });
});

describe("Destination (S13)", () => {
  it("refuses a wrong Destination", async () => {
    expect(await outcomeOf(await idpResponse({ tags: { Destination: ELSEWHERE } }))).toBe(
      "saml.destination_mismatch",
    );
  });

  it("refuses a signed response without a Destination", async () => {
    const response = await idpResponse(
      { tags: { Destination: undefined } },
      { signResponse: true },
    );
    expect(await outcomeOf(response)).toBe("saml.destination_mismatch");
  });

  it("accepts an unsigned response envelope without a Destination", async () => {
    expect(await outcomeOf(await idpResponse({ tags: { Destination: undefined } }))).toBe("ok");
  });
});

describe("bearer SubjectConfirmation (S15)", () => {
  it("refuses a wrong Recipient", async () => {
    expect(await outcomeOf(await idpResponse({ tags: { SubjectRecipient: ELSEWHERE } }))).toBe(
      "saml.recipient_mismatch",
    );
  });

  it("refuses a missing Recipient", async () => {
    expect(await outcomeOf(await idpResponse({ tags: { SubjectRecipient: undefined } }))).toBe(
      "saml.recipient_mismatch",
    );
  });

  it("refuses a NotBefore on the confirmation data (Profiles §4.1.4.2: MUST NOT)", async () => {
    const response = await idpResponse({
      tags: { SubjectConfirmationDataNotBefore: "2026-03-02T09:59:00.000Z" },
    });
    expect(await outcomeOf(response)).toBe("saml.subject_confirmation");
  });

  it("refuses confirmation data without NotOnOrAfter", async () => {
    const response = await idpResponse({
      tags: { SubjectConfirmationDataNotOnOrAfter: undefined },
    });
    expect(await outcomeOf(response)).toBe("saml.subject_confirmation");
  });

  it("refuses a holder-of-key confirmation where bearer is required", async () => {
    const response = await idpResponse({
      tags: { ConfirmationMethod: "urn:oasis:names:tc:SAML:2.0:cm:holder-of-key" },
    });
    expect(await outcomeOf(response)).toBe("saml.subject_confirmation");
  });
});

describe("Audience (S14)", () => {
  it("refuses another SP's audience", async () => {
    expect(
      await outcomeOf(await idpResponse({ tags: { Audience: "https://other-sp.example" } })),
    ).toBe("saml.audience_mismatch");
  });

  it("refuses a restriction that lists no audience", async () => {
    expect(await outcomeOf(await idpResponse({ tags: { Audience: undefined } }))).toBe(
      "saml.audience_mismatch",
    );
  });

  it("refuses an assertion restricted to no audience at all (no AudienceRestriction)", async () => {
    // Unrestricted, a bearer assertion is good at any SP: the IdP's key signs one without it.
    const response = resignAssertion(
      await idpResponse(),
      testIdp().keyPair.privateKeyPem,
      (doc) => {
        const conditions = first(assertionOf(doc), ASSERTION, "Conditions");
        conditions.removeChild(first(conditions, ASSERTION, "AudienceRestriction"));
      },
    );
    expect(decode(response)).not.toContain("AudienceRestriction");
    expect(await outcomeOf(response)).toBe("saml.audience_mismatch");
  });

  it("requires us in every AudienceRestriction (AND across restrictions)", async () => {
    const other =
      "<saml:AudienceRestriction><saml:Audience>https://other-sp.example</saml:Audience></saml:AudienceRestriction>";
    const response = await idpResponse({ tags: { ExtraConditions: other } });
    expect(await outcomeOf(response)).toBe("saml.audience_mismatch");
  });

  it("accepts a second restriction that also lists us (OR within one)", async () => {
    const also = `<saml:AudienceRestriction><saml:Audience>https://other-sp.example</saml:Audience><saml:Audience>${SP.entityId}</saml:Audience></saml:AudienceRestriction>`;
    expect(await outcomeOf(await idpResponse({ tags: { ExtraConditions: also } }))).toBe("ok");
  });
});

describe("InResponseTo and unsolicited responses (S16)", () => {
  it("refuses a response answering another request", async () => {
    expect(await outcomeOf(await idpResponse(), { expectedRequestId: "_another" })).toBe(
      "saml.in_response_to_mismatch",
    );
  });

  it("refuses a signed confirmation answering another request than the envelope", async () => {
    const response = await idpResponse({ tags: { SubjectInResponseTo: "_another" } });
    expect(await outcomeOf(response)).toBe("saml.in_response_to_mismatch");
  });

  it("refuses a solicited response when no request is remembered", async () => {
    expect(await outcomeOf(await idpResponse(), { expectedRequestId: undefined })).toBe(
      "saml.unsolicited",
    );
  });

  it("refuses an unsolicited response from an IdP not allowed to send them", async () => {
    const response = await idpResponse({}, {}, testIdp(), null);
    expect(await outcomeOf(response, { expectedRequestId: undefined })).toBe("saml.unsolicited");
  });

  it("accepts an unsolicited response where the IdP is allowed to send them", async () => {
    const idp = testIdp();
    const response = await idpResponse({}, {}, idp, null);
    const result = await protocol.verifyResponse(
      SP,
      idp.settings({ allowUnsolicited: true }),
      verification(response, { expectedRequestId: undefined }),
    );
    expect(result.ok).toBe(true);
    expect(result.ok && result.value.inResponseTo).toBeUndefined();
  });

  it("refuses another sign-in's answer posted as unsolicited, even where unsolicited ones are allowed", async () => {
    // An answer to a request this SP made (its InResponseTo, in the envelope and the bearer
    // confirmation) taken from that sign-in and posted without its RelayState.
    const idp = testIdp();
    const response = await idpResponse({}, {}, idp, REQUEST_ID);
    const result = await protocol.verifyResponse(
      SP,
      idp.settings({ allowUnsolicited: true }),
      verification(response, { expectedRequestId: undefined }),
    );
    expect(!result.ok && result.rejection.code).toBe("saml.unsolicited");
  });

  it("refuses an unsolicited response offered to a sign-in we started", async () => {
    const response = await idpResponse({}, {}, testIdp(), null);
    expect(await outcomeOf(response, { expectedRequestId: REQUEST_ID })).toBe(
      "saml.in_response_to_mismatch",
    );
  });
});

describe("subject and authentication statement", () => {
  it("refuses an assertion without a NameID when the subject comes from it", async () => {
    expect(await outcomeOf(await idpResponse({ tags: { NameID: undefined } }))).toBe(
      "saml.subject_missing",
    );
  });

  it("refuses when the configured subject attribute is absent", async () => {
    const idp = testIdp();
    const result = await protocol.verifyResponse(
      SP,
      idp.settings({ subjectAttribute: "employeeNumber" }),
      verification(await idpResponse()),
    );
    expect(!result.ok && result.rejection.code).toBe("saml.subject_missing");
  });

  it("refuses a subject attribute with several values: which one is the subject is not said", async () => {
    // The test IdP releases `groups` as staff and admins: the first was taken as the subject.
    const idp = testIdp();
    const several = await protocol.verifyResponse(
      SP,
      idp.settings({ subjectAttribute: "groups" }),
      verification(await idpResponse()),
    );
    expect(!several.ok && several.rejection.code).toBe("saml.subject_missing");
  });

  it("refuses a subject attribute released twice under its Name, one value each", async () => {
    const response = await idpResponse({
      rawTags: {
        Mail: 'mallory@example.org</saml:AttributeValue></saml:Attribute><saml:Attribute Name="mail"><saml:AttributeValue>alice@example.org',
      },
    });
    const result = await protocol.verifyResponse(
      SP,
      testIdp().settings({ subjectAttribute: "mail" }),
      verification(response),
    );
    expect(!result.ok && result.rejection.code).toBe("saml.subject_missing");
  });

  it("refuses a subject attribute whose other value has element content, not skipping it", async () => {
    const response = await idpResponse({
      rawTags: {
        Mail: '<x:name xmlns:x="urn:example:x">mallory</x:name></saml:AttributeValue><saml:AttributeValue>alice@example.org',
      },
    });
    const result = await protocol.verifyResponse(
      SP,
      testIdp().settings({ subjectAttribute: "mail" }),
      verification(response),
    );
    expect(!result.ok && result.rejection.code).toBe("saml.subject_missing");
  });

  it("refuses an assertion without an AuthnStatement", async () => {
    expect(await outcomeOf(await idpResponse({ tags: { AuthnStatement: "" } }))).toBe(
      "saml.authn_statement_missing",
    );
  });

  it("returns every AuthnContextClassRef of several statements, with the earliest instant", async () => {
    const statement = (instant: string, ref: string) =>
      `<saml:AuthnStatement AuthnInstant="${instant}"><saml:AuthnContext><saml:AuthnContextClassRef>${ref}</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>`;
    const response = await idpResponse({
      tags: {
        AuthnStatement:
          statement("2026-03-02T09:58:00.000Z", "https://refeds.org/profile/mfa") +
          statement("2026-03-02T09:50:00.000Z", "urn:example:password"),
      },
    });
    const result = await protocol.verifyResponse(SP, testIdp().settings(), verification(response));
    expect(result.ok && result.value.authnContextClassRefs).toEqual([
      "https://refeds.org/profile/mfa",
      "urn:example:password",
    ]);
    expect(result.ok && result.value.authnInstant.toISOString()).toBe("2026-03-02T09:50:00.000Z");
  });

  it("reports the earliest AuthnInstant when the older statement comes first", async () => {
    // Freshness must hold for every statement: the later, fresher one never stands for both.
    const statement = (instant: string) =>
      `<saml:AuthnStatement AuthnInstant="${instant}"><saml:AuthnContext><saml:AuthnContextClassRef>https://refeds.org/profile/mfa</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>`;
    const response = await idpResponse({
      tags: {
        AuthnStatement:
          statement("2026-03-02T09:50:00.000Z") + statement("2026-03-02T09:58:00.000Z"),
      },
    });
    const result = await protocol.verifyResponse(SP, testIdp().settings(), verification(response));
    expect(result.ok && result.value.authnInstant.toISOString()).toBe("2026-03-02T09:50:00.000Z");
  });
});
