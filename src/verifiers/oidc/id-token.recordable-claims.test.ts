/**
 * Threat: an ID token validly signed by the registered IdP carries, in a claim that is recorded
 * (`sub` or the subject claim, `acr`, an `amr` value), U+0000, a lone UTF-16 surrogate or an
 * absurdly long value. JSON carries both characters (`\u0000`, `\ud800`) and no other check
 * minds them: PostgreSQL refused the NUL as a store outage (503), and both stores turn a lone
 * surrogate into U+FFFD, so that two subjects become one. The verifier refuses the token with
 * `oidc.claim_unusable`, after every other check. Every row signs a genuine token.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createAttackBench, validClaims, type AttackBench } from "./test-support/attack-fixture.js";
import { startStubIdp, type StubIdp } from "./test-support/stub-idp.js";

let stub: StubIdp;
let bench: AttackBench;

beforeAll(async () => {
  stub = await startStubIdp();
});
afterAll(async () => {
  await stub.close();
});
beforeEach(() => {
  bench = createAttackBench(stub);
});

const present = async (claims: Record<string, unknown>, subjectClaim?: string) =>
  bench.present(
    await stub.sign({ ...validClaims(stub), ...claims }),
    {},
    subjectClaim === undefined ? stub.idp : { ...stub.idp, subjectClaim },
  );

describe("claim values a store cannot hold as signed", () => {
  it.each([
    ["a NUL in sub", { sub: "user\u0000-42" }, "sub holds U+0000 (NUL)"],
    ["a lone surrogate in sub", { sub: "user-\ud800" }, "sub holds a lone UTF-16 surrogate"],
    ["a sub of 1025 characters", { sub: "u".repeat(1025) }, "sub is longer than 1024 characters"],
    ["a NUL in acr", { acr: "\u0000" }, "acr holds U+0000 (NUL)"],
    ["a lone surrogate in acr", { acr: "phr\udfff" }, "acr holds a lone UTF-16 surrogate"],
    ["an acr of 513 characters", { acr: "a".repeat(513) }, "acr is longer than 512 characters"],
    ["a NUL in an amr value", { amr: ["pwd", "mfa\u0000"] }, "amr[1] holds U+0000 (NUL)"],
    [
      "a lone surrogate in an amr value",
      { amr: ["\ud83dpwd", "mfa"] },
      "amr[0] holds a lone UTF-16 surrogate",
    ],
    [
      "an amr value of 513 characters",
      { amr: ["pwd", "mfa", "x".repeat(513)] },
      "amr[2] is longer than 512 characters",
    ],
  ])("refuses %s as oidc.claim_unusable", async (_, claims, detail) => {
    expect(await present(claims)).toEqual({
      ok: false,
      rejection: { code: "oidc.claim_unusable", detail },
    });
  });

  it("refuses a configured subject claim holding a NUL, though sub is clean", async () => {
    expect(await present({ email: "alice\u0000@example.org" }, "email")).toEqual({
      ok: false,
      rejection: { code: "oidc.claim_unusable", detail: "the subject claim holds U+0000 (NUL)" },
    });
  });

  it("reports the claim checks first: a NUL subject for another sign-in is a nonce mismatch", async () => {
    const result = await present({ sub: "\u0000", nonce: "someone-elses" });
    expect(result).toMatchObject({ ok: false, rejection: { code: "oidc.nonce_mismatch" } });
  });

  it("accepts values at their limits, and a pair of surrogates (one code point)", async () => {
    const claims = {
      sub: "u".repeat(1024),
      acr: "a".repeat(512),
      amr: ["pwd", "x".repeat(512), "\u{1F511}"],
    };
    const result = await present(claims);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value).toMatchObject({ subject: claims.sub, acr: claims.acr, amr: claims.amr });
  });
});
