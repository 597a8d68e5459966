/**
 * Threat: two users the IdP tells apart signing in here as one (DESIGN invariant 9: who signed in
 * is what the verified assertion says). A NameID or subject attribute is an xs:string, whose
 * characters all count; only XML's own white space (space, tab, CR, LF) around it is layout, which
 * an IdP that indents its XML may add. JavaScript's `trim` also removes no-break spaces, the byte
 * order mark, the ideographic space and the other Unicode spaces: an IdP account named
 * `alice@example.org` followed by U+00A0, which the IdP keeps apart from alice's (the values
 * differ), signed in as alice.
 */
import { describe, expect, it } from "vitest";
import {
  SP,
  idpResponse,
  protocol,
  subjectOf,
  testIdp,
  verification,
} from "./test-support/scenario.js";
import { resignAssertion } from "./test-support/sign.js";
import { ASSERTION, assertionOf, first } from "./test-support/tamper.js";

const ALICE = "alice@example.org";
const REFEDS_MFA = "https://refeds.org/profile/mfa";
/** Characters `String.prototype.trim` removes that XML does not count as white space. */
const NOT_XML_WHITE_SPACE = ["\u00a0", "\ufeff", "\u3000", "\u2003", "\u1680"];
/** `U+00A0` for a no-break space: a character as a test title names it. */
const codePointOf = (character: string): string =>
  `U+${(character.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, "0")}`;

function nameIdSaying(text: string): Promise<string> {
  return idpResponse().then((response) =>
    resignAssertion(response, testIdp().keyPair.privateKeyPem, (doc) => {
      first(assertionOf(doc), ASSERTION, "NameID").textContent = text;
    }),
  );
}

describe("the subject is the signed value, but for XML white space around it", () => {
  for (const space of NOT_XML_WHITE_SPACE) {
    const name = codePointOf(space);

    it(`keeps a NameID ending in ${name}: another account than alice's`, async () => {
      expect(await subjectOf(await nameIdSaying(`${ALICE}${space}`))).toBe(`${ALICE}${space}`);
    });

    it(`keeps a NameID starting with ${name}`, async () => {
      expect(await subjectOf(await nameIdSaying(`${space}${ALICE}`))).toBe(`${space}${ALICE}`);
    });

    it(`keeps a subject attribute ending in ${name}`, async () => {
      const response = await idpResponse({ rawTags: { Mail: `${ALICE}${space}` } });
      expect(await subjectOf(response, "mail")).toBe(`${ALICE}${space}`);
    });
  }

  it("still reads an indented NameID (XML white space around it) as the name it holds", async () => {
    expect(await subjectOf(await nameIdSaying(`\n\t  ${ALICE}\r\n  `))).toBe(ALICE);
  });
});

// An AuthnContextClassRef is an xs:anyURI, whose whitespace facet collapses XML white space
// only: REFEDS MFA followed by a no-break space is not the value a mapping credits as MFA.
describe("an AuthnContextClassRef is the signed value, but for XML white space around it", () => {
  async function classRefsOf(text: string): Promise<readonly string[] | string> {
    const response = resignAssertion(
      await idpResponse(),
      testIdp().keyPair.privateKeyPem,
      (doc) => {
        first(assertionOf(doc), ASSERTION, "AuthnContextClassRef").textContent = text;
      },
    );
    const result = await protocol.verifyResponse(SP, testIdp().settings(), verification(response));
    return result.ok ? result.value.authnContextClassRefs : result.rejection.code;
  }

  for (const space of NOT_XML_WHITE_SPACE) {
    it(`keeps a class ref ending in ${codePointOf(space)}`, async () => {
      expect(await classRefsOf(`${REFEDS_MFA}${space}`)).toEqual([`${REFEDS_MFA}${space}`]);
    });
  }

  it("reads an indented class ref as the URI it holds", async () => {
    expect(await classRefsOf(`\n  ${REFEDS_MFA}\n`)).toEqual([REFEDS_MFA]);
  });
});
