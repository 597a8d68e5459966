/**
 * Threat: an assertion validly signed by the registered IdP carries a value that is recorded
 * (the subject, an AuthnContextClassRef, the NameID Format, the assertion ID, the SessionIndex)
 * and that a store cannot hold as given, or that is absurdly long: a 100 kB NameID fits in a
 * response. XML 1.0 carries no U+0000 and no lone surrogate, and the hardened parser refuses
 * both even as character references (the canonical signed bytes carry them as they are); a
 * value beyond its limit is refused with `saml.value_unusable`. The real IdP signs every row.
 */
import { describe, expect, it } from "vitest";
import type { VerifiedSamlAssertion } from "../../app/federation/protocols.js";
import { checkRecordableValues } from "./recordable-values.js";
import {
  idpResponse,
  NOW,
  protocol,
  SP,
  testIdp,
  outcomeOf,
  verification,
} from "./test-support/scenario.js";
import { REFEDS_MFA } from "./test-support/test-idp.js";

const statement = (classRefXml: string, sessionIndex = "_session1") =>
  `<saml:AuthnStatement AuthnInstant="${NOW.toISOString()}" SessionIndex="${sessionIndex}">` +
  `<saml:AuthnContext><saml:AuthnContextClassRef>${classRefXml}</saml:AuthnContextClassRef>` +
  "</saml:AuthnContext></saml:AuthnStatement>";

const rejectionOf = async (samlResponse: string, subjectAttribute?: string) => {
  const idp = testIdp();
  const result = await protocol.verifyResponse(
    SP,
    idp.settings(subjectAttribute === undefined ? {} : { subjectAttribute }),
    verification(samlResponse),
  );
  return result.ok ? "ok" : result.rejection;
};

describe("values of a signed assertion beyond their limits", () => {
  it.each([
    [
      "a NameID of 1025 characters",
      { nameId: "n".repeat(1025) },
      "the subject is longer than 1024 characters",
    ],
    [
      "a NameID of 100 kB",
      { nameId: "n".repeat(100 * 1024) },
      "the subject is longer than 1024 characters",
    ],
    [
      "a NameID Format of 513 characters",
      { tags: { NameIDFormat: `urn:${"f".repeat(509)}` } },
      "the NameID Format is longer than 512 characters",
    ],
    [
      "an AuthnContextClassRef of 513 characters",
      { tags: { AuthnStatement: statement("c".repeat(513)) } },
      "an AuthnContextClassRef is longer than 512 characters",
    ],
    [
      "a SessionIndex of 513 characters",
      { tags: { AuthnStatement: statement(REFEDS_MFA, "s".repeat(513)) } },
      "the SessionIndex is longer than 512 characters",
    ],
    [
      "an assertion ID of 513 characters",
      { tags: { AssertionID: `_${"i".repeat(512)}` } },
      "the assertion ID is longer than 512 characters",
    ],
  ])("refuses %s as saml.value_unusable", async (_, login, detail) => {
    expect(await rejectionOf(await idpResponse(login))).toEqual({
      code: "saml.value_unusable",
      detail,
    });
  });

  it("refuses a subject attribute value of 1025 characters, though the NameID is short", async () => {
    const response = await idpResponse({
      nameId: "alice@example.org",
      tags: { Mail: "m".repeat(1025) },
    });
    expect(await rejectionOf(response, "mail")).toEqual({
      code: "saml.value_unusable",
      detail: "the subject is longer than 1024 characters",
    });
  });

  it("accepts values at their limits", async () => {
    const response = await idpResponse({
      nameId: "n".repeat(1024),
      tags: {
        NameIDFormat: `urn:${"f".repeat(508)}`,
        AssertionID: `_${"i".repeat(511)}`,
        AuthnStatement: statement("c".repeat(512), "s".repeat(512)),
      },
    });
    expect(await outcomeOf(response)).toBe("ok");
  });
});

describe("characters XML cannot carry, even as character references", () => {
  it.each([
    ["a NUL in the NameID", { nameId: "al\u0000ice@example.org" }],
    ["a NUL reference in the NameID", { rawTags: { NameID: "al&#0;ice@example.org" } }],
    [
      "a lone surrogate reference in the NameID",
      { rawTags: { NameID: "al&#xD800;ice@example.org" } },
    ],
    [
      "a NUL reference in an AuthnContextClassRef",
      { tags: { AuthnStatement: statement(`${REFEDS_MFA}&#0;`) } },
    ],
    [
      "a lone surrogate reference in an AuthnContextClassRef",
      { tags: { AuthnStatement: statement(`${REFEDS_MFA}&#xDC00;`) } },
    ],
  ])("refuses %s as saml.malformed", async (_, login) => {
    expect(await outcomeOf(await idpResponse(login))).toBe("saml.malformed");
  });
});

describe("the last check, on what the verifier would hand on", () => {
  const verified: VerifiedSamlAssertion = {
    issuer: "https://idp.example.org/saml",
    assertionId: "_assertion1",
    expiresAt: NOW,
    subject: "alice@example.org",
    nameIdFormat: "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
    sessionIndex: "_session1",
    authnInstant: NOW,
    authnContextClassRefs: [REFEDS_MFA],
    attributes: { groups: ["staff\u0000"] },
  };

  // Were a parser ever to let one through, the verifier still would not hand it on.
  it.each([
    ["a NUL in the subject", { subject: "al\u0000ice" }, "the subject holds U+0000 (NUL)"],
    [
      "a lone surrogate in the subject",
      { subject: "al\ud800ice" },
      "the subject holds a lone UTF-16 surrogate",
    ],
    [
      "a NUL in an AuthnContextClassRef",
      { authnContextClassRefs: [REFEDS_MFA, "\u0000"] },
      "an AuthnContextClassRef holds U+0000 (NUL)",
    ],
    [
      "a lone surrogate in the SessionIndex",
      { sessionIndex: "\udc00" },
      "the SessionIndex holds a lone UTF-16 surrogate",
    ],
    [
      "a NUL in the assertion ID",
      { assertionId: "_a\u0000" },
      "the assertion ID holds U+0000 (NUL)",
    ],
    [
      "a NUL in the NameID Format",
      { nameIdFormat: "urn:\u0000" },
      "the NameID Format holds U+0000 (NUL)",
    ],
  ])("refuses %s", (_, change, detail) => {
    expect(checkRecordableValues({ ...verified, ...change })).toEqual({
      ok: false,
      rejection: { code: "saml.value_unusable", detail },
    });
  });

  it("hands on an assertion whose values can all be recorded; attributes are not recorded", () => {
    expect(checkRecordableValues(verified)).toEqual({ ok: true, value: verified });
  });
});
