/**
 * Threat: a NameID that names no lasting user taken as the principal (DESIGN invariant 9). A
 * transient NameID (SAML Core §8.3.8) is a pseudonym for one session: it never names the same
 * person twice, and the IdP may hand the same value to someone else later, so an SP that maps it
 * to a principal signs in whoever drew that value. The `encrypted` Format is for NameIDPolicy
 * only (Core §3.4.1.1), and an `entity` NameID names a SAML provider, not a user (Core §8.3.6).
 * Each is refused when the subject is read from the NameID, through the real samlify IdP; with a
 * subject attribute configured the NameID is not the subject, and any of them is fine.
 */
import { describe, expect, it } from "vitest";
import {
  idpResponse,
  outcomeOf,
  protocol,
  SP,
  testIdp,
  verification,
} from "./test-support/scenario.js";
import { resignAssertion } from "./test-support/sign.js";
import { ASSERTION, assertionOf, decode, first } from "./test-support/tamper.js";

const XMLENC = "http://www.w3.org/2001/04/xmlenc#";

const FORMAT = "urn:oasis:names:tc:SAML:2.0:nameid-format:";
const TRANSIENT = `${FORMAT}transient`;
const ENCRYPTED = `${FORMAT}encrypted`;
const ENTITY = `${FORMAT}entity`;
const PERSISTENT = `${FORMAT}persistent`;

/** The IdP's signed answer whose NameID has `format` (none: no Format attribute) and `value`. */
const answerWith = (format: string | undefined, value = "alice@example.org") =>
  idpResponse({ nameId: value, tags: { NameIDFormat: format } });

describe("a NameID whose Format names no lasting user, when the subject is read from it", () => {
  it.each([
    ["transient (Core §8.3.8: one session's pseudonym)", TRANSIENT],
    ["encrypted (Core §3.4.1.1: a NameIDPolicy value, never a NameID's)", ENCRYPTED],
    ["entity (Core §8.3.6: a SAML provider, not a user)", ENTITY],
    ["transient, with whitespace around the URI (xs:anyURI collapses it)", ` ${TRANSIENT}\n`],
    // RFC 8141 §3.1: the "urn" prefix and the namespace id compare without case.
    [
      "transient, its URN prefix and namespace id in capitals",
      TRANSIENT.replace("urn:oasis", "URN:OASIS"),
    ],
    ["transient, all in capitals", TRANSIENT.toUpperCase()],
  ])("refuses %s as saml.subject_format", async (_, format) => {
    expect(await outcomeOf(await answerWith(format, "_9f8e7d6c5b4a"))).toBe("saml.subject_format");
  });

  it("says which Format it refused, and how to name the user instead", async () => {
    const result = await protocol.verifyResponse(
      SP,
      testIdp().settings(),
      verification(await answerWith(TRANSIENT, "_9f8e7d6c5b4a")),
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.rejection.detail).toContain("transient");
    expect(result.rejection.detail).toContain("subject attribute");
    expect(result.rejection.detail).not.toContain("_9f8e7d6c5b4a");
  });

  it.each([
    ["persistent (Core §8.3.7)", PERSISTENT, "pk3X9bYw2Qz"],
    [
      "emailAddress (SAML 1.1)",
      "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
      "alice@example.org",
    ],
    ["unspecified (SAML 1.1)", "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified", "alice"],
    ["no Format (Core §2.2.2: unspecified)", undefined, "alice"],
    ["a deployment's own Format URI", "urn:example:nameid:employee", "E1234"],
  ])("accepts %s as the subject", async (_, format, value) => {
    const result = await protocol.verifyResponse(
      SP,
      testIdp().settings(),
      verification(await answerWith(format, value)),
    );
    expect(result.ok && result.value.subject).toBe(value);
    expect(result.ok && result.value.nameIdFormat).toBe(format);
  });
});

describe("a NameID that is not the subject (subjectAttribute configured)", () => {
  it.each([TRANSIENT, ENCRYPTED, ENTITY])(
    "accepts a %s NameID and reads the subject from the attribute",
    async (format) => {
      const result = await protocol.verifyResponse(
        SP,
        testIdp().settings({ subjectAttribute: "mail" }),
        verification(
          await idpResponse({
            tags: { NameIDFormat: format, NameID: "_9f8e7d6c5b4a", Mail: "alice@example.org" },
          }),
        ),
      );
      expect(result.ok && result.value.subject).toBe("alice@example.org");
      expect(result.ok && result.value.nameIdFormat).toBe(format);
    },
  );
});

describe("an identifier this SP cannot read", () => {
  it("refuses a Subject whose identifier is an EncryptedID (this SP holds no decryption key)", async () => {
    // As the IdP would send it, signed with its own key: the NameID encrypted in its place.
    const response = resignAssertion(
      await idpResponse(),
      testIdp().keyPair.privateKeyPem,
      (doc) => {
        const subject = first(assertionOf(doc), ASSERTION, "Subject");
        const encrypted = doc.createElementNS(ASSERTION, "saml:EncryptedID");
        encrypted.appendChild(doc.createElementNS(XMLENC, "xenc:EncryptedData"));
        subject.replaceChild(encrypted, first(subject, ASSERTION, "NameID"));
      },
    );
    expect(decode(response)).not.toContain("NameID>");
    expect(await outcomeOf(response)).toBe("saml.subject_missing");
  });
});
