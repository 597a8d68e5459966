import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from "jose";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { AuthenticationEvent } from "../../core/evidence.js";
import { createJoseTokenSigner } from "../../tokens/jose-token-signer.js";
import type { Caller } from "../application.js";
import { openHarness, type Harness } from "../test-support/harness.js";
import { issueAssuranceToken } from "./assurance-tokens.js";
import { signingKeys, type SigningKeys } from "./signing-keys.js";

const ISSUER = "https://mfa.test";

// Threat: a platform that trusts the redirect rather than a signature, or a token for a sign-in
// that did not meet its requirement. Tokens are signed, audience-bound and only for `allow`.
describe("assurance tokens", () => {
  let h: Harness;
  let keys: SigningKeys;
  let service: Caller;
  const signer = createJoseTokenSigner();

  beforeEach(async () => {
    h = await openHarness();
    keys = signingKeys(h.context, { signer, secrets: h.sealer });
    await h.app.tenants.create(h.admin, { id: "acme", name: "Acme" });
    service = await h.caller(["platform_service"], ["acme"]);
  });
  afterEach(() => h.close());

  const decide = (events: AuthenticationEvent[]) =>
    h.app.decisions.decide(service, "acme", {
      principal: { id: "alice", population: "direct" },
      evidence: { events },
    });
  const issue = async (decision: Awaited<ReturnType<typeof decide>>, audience = "platform") =>
    (await issueAssuranceToken(h.context, { keys, signer, issuer: ISSUER }, decision, audience))
      .token;

  it("signs what the stored decision proved, verifiable with the JWK Set, for one audience", async () => {
    const at = h.clock.now().toISOString();
    const decision = await decide([
      { method: "password", source: "platform", at },
      {
        method: "webauthn",
        source: "platform",
        at,
        userVerified: true,
        backupEligible: false,
        attested: true,
      },
    ]);
    expect(decision.outcome).toBe("allow");
    const token = await issue(decision);
    const jwks = createLocalJWKSet((await keys.jwks()) as unknown as JSONWebKeySet);
    const { payload } = await jwtVerify(token, jwks, {
      issuer: ISSUER,
      audience: "platform",
      currentDate: h.clock.now(),
      typ: "tenant-mfa-assurance+jwt",
    });
    expect(payload).toMatchObject({
      sub: "alice",
      tenant: "acme",
      aal: 3,
      phr: true,
      amr: ["hwk", "mfa"],
      decision: decision.id,
    });
    await expect(
      jwtVerify(token, jwks, {
        issuer: ISSUER,
        audience: "another-app",
        currentDate: h.clock.now(),
      }),
    ).rejects.toThrow(/aud/);
    h.clock.advance(301);
    await expect(
      jwtVerify(token, jwks, { issuer: ISSUER, audience: "platform", currentDate: h.clock.now() }),
    ).rejects.toThrow(/exp/);
  });

  it("refuses a token for a sign-in that must still be challenged", async () => {
    const at = h.clock.now().toISOString();
    const { record } = await h.app.policies.current(h.admin, "acme");
    await h.app.policies.replace(h.admin, "acme", {
      policy: { posture: "platform_mfa" },
      rationale: "MFA for everyone",
      ifMatch: record.version,
    });
    const decision = await decide([{ method: "password", source: "platform", at }]);
    expect(decision.outcome).toBe("challenge");
    await expect(issue(decision)).rejects.toMatchObject({ code: "assurance.not_allowed" });
  });
});
