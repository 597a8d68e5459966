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
import { SP, idpResponse, protocol, testIdp, verification } from "./test-support/scenario.js";
import { resignAssertion } from "./test-support/sign.js";
import { ASSERTION, assertionOf, first } from "./test-support/tamper.js";

const ALICE = "alice@example.org";
/** Characters `String.prototype.trim` removes that XML does not count as white space. */
const NOT_XML_WHITE_SPACE = ["\u00a0", "\ufeff", "\u3000", "\u2003", "\u1680"];

async function subjectOf(response: string, subjectAttribute?: string) {
  const result = await protocol.verifyResponse(
    SP,
    testIdp().settings(subjectAttribute === undefined ? {} : { subjectAttribute }),
    verification(response),
  );
  return result.ok ? result.value.subject : result.rejection.code;
}

function nameIdSaying(text: string): Promise<string> {
  return idpResponse().then((response) =>
    resignAssertion(response, testIdp().keyPair.privateKeyPem, (doc) => {
      first(assertionOf(doc), ASSERTION, "NameID").textContent = text;
    }),
  );
}

describe("the subject is the signed value, but for XML white space around it", () => {
  for (const space of NOT_XML_WHITE_SPACE) {
    const name = `U+${space.codePointAt(0)?.toString(16).toUpperCase().padStart(4, "0") ?? ""}`;

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
