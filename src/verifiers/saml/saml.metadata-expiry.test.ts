/**
 * Threat: an answer signed with keys whose metadata has expired relied on all the same (SAML
 * Metadata §2.3.1, §2.3.2: past `validUntil` the metadata no longer vouches for them). The
 * registration carries the metadata's `validUntil`; the verifier compares it with the `now` it is
 * given, without skew (both instants are the server's), one second either side of the boundary.
 */
import { describe, expect, it } from "vitest";
import { NOW, SP, idpResponse, protocol, testIdp, verification } from "./test-support/scenario.js";

const validUntil = (seconds: number) => new Date(NOW.getTime() + seconds * 1000).toISOString();

async function outcomeWith(metadataValidUntil: string, samlResponse?: string) {
  const result = await protocol.verifyResponse(
    SP,
    testIdp().settings({ metadataValidUntil }),
    verification(samlResponse ?? (await idpResponse())),
  );
  return result.ok ? "ok" : result.rejection;
}

describe("the registration's metadata expiry (validUntil)", () => {
  it("accepts an answer verified one second before the metadata expires", async () => {
    expect(await outcomeWith(validUntil(1))).toBe("ok");
  });

  it.each([
    ["at the instant it expires", validUntil(0)],
    ["a second after", validUntil(-1)],
    ["when the instant cannot be read", "not a time"],
  ])("refuses an answer verified %s with saml.metadata_expired", async (_when, until) => {
    expect(await outcomeWith(until)).toMatchObject({
      code: "saml.metadata_expired",
      detail: expect.stringContaining(until),
    });
  });

  it("refuses an error status too: whatever the keys sign is no longer vouched for", async () => {
    const status = await idpResponse({
      tags: { StatusCode: "urn:oasis:names:tc:SAML:2.0:status:Responder" },
    });
    expect(await outcomeWith(validUntil(0), status)).toMatchObject({
      code: "saml.metadata_expired",
    });
  });
});
