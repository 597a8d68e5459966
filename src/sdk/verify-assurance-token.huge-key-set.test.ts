/**
 * Threat: a key set URL that answers with a body of any size (a misrouted `jwksUrl` pointing at a
 * download, a proxy's error page without end, a compromised host): `jose` reads the whole body
 * into memory for as long as its 5-second timeout lasts, then parses it, in the platform's
 * process, again at every refetch. Hundreds of megabytes in one request on loopback. A key set of
 * tenant-mfa is a few keys, about a kilobyte: one larger than 256 KiB is refused as soon as it
 * is seen to be (declared or read), as `token.keys_unavailable`, without reading the rest.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AUDIENCE,
  ISSUER,
  openAssuranceFixture,
  TENANT,
  type AssuranceFixture,
} from "./test-support/assurance-fixture.js";
import { openPaddedJsonServer } from "./test-support/padded-json-server.js";
import { verifyAssuranceToken } from "./verify-assurance-token.js";

let f: AssuranceFixture;
beforeAll(async () => {
  f = await openAssuranceFixture();
});
afterAll(() => f.close());

/**
 * A JWKS server answering the real key set padded with `padding` bytes of whitespace (valid JSON
 * all the same), with or without a Content-Length; it counts the bytes it managed to send.
 */
async function paddedKeySet(padding: number, declareLength: boolean) {
  const server = await openPaddedJsonServer({
    document: (await f.keys.jwks()) as unknown as Record<string, unknown>,
    padding,
    declareLength,
  });
  return {
    // A path of its own per server: the SDK keeps one key set per URL for the process.
    url: `${server.baseUrl}/jwks-${String(padding)}-${String(declareLength)}.json`,
    sent: server.sent,
    close: () => server.close(),
  };
}

const verifyWith = async (jwksUrl: string) =>
  verifyAssuranceToken(await f.sign(f.claims()), {
    jwksUrl,
    issuer: ISSUER,
    audience: AUDIENCE,
    tenant: TENANT,
    currentDate: f.server.clock.now(),
  }).then(
    () => "verified",
    (error: unknown) => (error as { code?: string }).code,
  );

describe("a key set URL answering a body larger than a key set", () => {
  it.each([
    ["streamed without a length", false],
    ["declared in Content-Length", true],
  ])("is refused as keys_unavailable, promptly, %s", async (_how, declared) => {
    const keySet = await paddedKeySet(200 * 1024 * 1024, declared);
    try {
      const started = Date.now();
      expect(await verifyWith(keySet.url)).toBe("token.keys_unavailable");
      expect(Date.now() - started).toBeLessThan(2000);
      expect(keySet.sent.bytes).toBeLessThan(50 * 1024 * 1024);
    } finally {
      await keySet.close();
    }
  });

  it("still verifies with a key set padded below the limit", async () => {
    const keySet = await paddedKeySet(100 * 1024, false);
    try {
      expect(await verifyWith(keySet.url)).toBe("verified");
    } finally {
      await keySet.close();
    }
  });
});
