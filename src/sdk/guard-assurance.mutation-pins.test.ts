/**
 * The guard's checks, pinned where a mutation survey of src/sdk found them unpinned. The test
 * fails with its mutant applied: needs chosen per request are checked before anything else
 * (unchecked, a request without a token was refused as token.missing, or sent to a flow asking
 * for the needs it could read, rather than failing on a need the guard does not know).
 */
import { describe, expect, it } from "vitest";
import type { AssuranceNeeds } from "./check-assurance.js";
import { guardAssurance } from "./guard-assurance.js";

describe("guardAssurance with needs chosen per request", () => {
  it("fails the request on a need it does not know, even with no token to judge", async () => {
    const options = {
      verify: { jwks: { keys: [] }, issuer: "https://mfa.test", audience: "platform-web" },
      tenant: () => "acme",
      anyPrincipal: true as const,
      needs: () => ({ minAAL: 2 }) as unknown as AssuranceNeeds,
    };
    await expect(guardAssurance(options, { headers: {} })).rejects.toThrow(
      "needs.minAAL is not a need this check knows",
    );
  });
});
