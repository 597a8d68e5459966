/**
 * Threat: one signed response stalls the service for every tenant (DESIGN invariant 8). The XML
 * white space around a NameID or an AuthnContextClassRef was trimmed with a regular expression
 * whose end-anchored alternative backtracks from each white-space character to the end of its
 * run: a value of two letters with 120,000 spaces and line breaks between them took some ten
 * seconds of the event loop, and 256 KiB of response allows more. The IdP signs it, so anyone
 * holding a registered IdP's key (a tenant administrator registering its own) could post it at
 * will. White space is now trimmed in one pass.
 */
import { describe, expect, it } from "vitest";
import { idpResponse, outcomeOf, testIdp } from "./test-support/scenario.js";
import { resignAssertion } from "./test-support/sign.js";
import { NS } from "./saml-names.js";
import { first } from "./test-support/tamper.js";

/** Two letters around 120,000 characters of XML white space. */
const SPREAD = `a${" \n".repeat(60_000)}b`;

async function timedOutcome(response: string): Promise<{ code: string; ms: number }> {
  const started = performance.now();
  const code = await outcomeOf(response);
  return { code, ms: performance.now() - started };
}

describe("XML white space around a value", () => {
  it("is trimmed from a NameID of 120,000 characters in linear time", async () => {
    // Set in the signed document rather than through samlify, whose own handling of it is slow.
    const response = resignAssertion(
      await idpResponse(),
      testIdp().keyPair.privateKeyPem,
      (doc) => {
        const nameId = first(doc, NS.assertion, "NameID");
        nameId.textContent = SPREAD;
      },
    );
    const { code, ms } = await timedOutcome(response);
    // Too long to record as a subject: refused, and promptly.
    expect(code).toBe("saml.value_unusable");
    expect(ms).toBeLessThan(2_000);
  });

  it("is trimmed from an AuthnContextClassRef of 120,000 characters in linear time", async () => {
    const { code, ms } = await timedOutcome(await idpResponse({ authnContextClassRef: SPREAD }));
    expect(code).not.toBe("ok");
    expect(ms).toBeLessThan(2_000);
  });

  it("still trims the white space an indenting IdP adds, and nothing else", async () => {
    expect(
      await outcomeOf(await idpResponse({ tags: { NameID: "\n  alice@example.org\t\r\n" } })),
    ).toBe("ok");
  });
});
