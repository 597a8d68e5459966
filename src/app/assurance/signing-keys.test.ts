import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from "jose";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ASSURANCE_TOKEN_TYPE } from "../../core/assurance-claims.js";
import { createJoseTokenSigner } from "../../tokens/jose-token-signer.js";
import { chainOf } from "../audit/audit-chain.js";
import { openHarness, type Harness } from "../test-support/harness.js";
import { DEFAULT_SIGNING_KEY_POLICY, signingKeys, type SigningKeys } from "./signing-keys.js";

const DAY = 86_400;
const { signingSeconds, prepublishSeconds, retentionSeconds } = DEFAULT_SIGNING_KEY_POLICY;
const ISSUER = "https://mfa.test";

// Threat: a verifier that cannot find the key a token names (rotation without overlap) or that
// still trusts a key after it was retired or compromised. Keys must overlap, then go.
describe("assurance-token signing keys rotate with overlap", () => {
  let h: Harness;
  let keys: SigningKeys;
  const signer = createJoseTokenSigner();

  beforeEach(async () => {
    h = await openHarness();
    keys = signingKeys(h.context, { signer, secrets: h.sealer });
  });
  afterEach(() => h.close());

  /** A token signed now with the active key, and whether the current JWKS verifies it. */
  const sign = async () => {
    const now = Math.floor(h.clock.now().getTime() / 1000);
    return signer.sign(
      {
        iss: ISSUER,
        sub: "alice",
        aud: "platform",
        tenant: "acme",
        acr: "https://refeds.org/profile/mfa",
        amr: ["mfa", "otp", "pwd"],
        auth_time: now,
        aal: 2,
        phr: false,
        decision: "dec_1",
        policy_versions: { tenant_policy: 1, mandates: [] },
        iat: now,
        exp: now + 300,
        jti: "tok_1",
      },
      await keys.active(),
      ASSURANCE_TOKEN_TYPE,
    );
  };
  const verifies = async (token: string) => {
    try {
      await jwtVerify(token, createLocalJWKSet((await keys.jwks()) as unknown as JSONWebKeySet), {
        issuer: ISSUER,
        audience: "platform",
        currentDate: h.clock.now(),
        typ: "tenant-mfa-assurance+jwt",
      });
      return true;
    } catch {
      return false;
    }
  };
  const platformAudit = () =>
    h.store.read(({ audit }) => audit.read(chainOf(null), { afterSeq: 0, limit: 100 }));
  const kids = async () => (await keys.jwks()).keys.map((key) => key.kid);

  it("makes the first key on demand, publishes only its public half, and signs with it", async () => {
    const token = await sign();
    const { keys: published } = await keys.jwks();
    expect(published).toHaveLength(1);
    expect(published[0]).toMatchObject({ kty: "EC", crv: "P-256", alg: "ES256", use: "sig" });
    expect(published[0]).not.toHaveProperty("d");
    expect(decodeProtectedHeader(token)).toEqual({
      alg: "ES256",
      kid: published[0]?.kid,
      typ: "tenant-mfa-assurance+jwt",
    });
    expect(await verifies(token)).toBe(true);
  });

  it("publishes the successor before it signs, and keeps the old key until its tokens expired", async () => {
    const first = (await keys.active()).kid;
    const oldToken = await sign();

    h.clock.advance(signingSeconds - prepublishSeconds - DAY);
    expect((await keys.active()).kid).toBe(first);
    expect(await kids()).toEqual([first]);

    h.clock.advance(DAY);
    expect((await keys.active()).kid).toBe(first);
    const published = await kids();
    expect(published).toHaveLength(2);
    const second = published[1];

    h.clock.advance(prepublishSeconds);
    expect((await keys.active()).kid).toBe(second);
    expect(await kids()).toEqual([first, second]);

    h.clock.advance(retentionSeconds);
    expect(await kids()).toEqual([second]);
    expect(await verifies(oldToken)).toBe(false);
  });

  it("rotates at once on request: the new key signs, the old one verifies until retention ends", async () => {
    const first = (await keys.active()).kid;
    h.clock.advance(60);
    const beforeRotation = await sign();
    const second = await keys.rotate("key_admin");
    expect(second).not.toBe(first);
    expect((await keys.active()).kid).toBe(second);
    expect(await verifies(beforeRotation)).toBe(true);
    expect(await verifies(await sign())).toBe(true);
    h.clock.advance(retentionSeconds);
    expect(await kids()).toEqual([second]);
  });

  it("withdraws compromised keys from the JWKS at once, so their tokens stop verifying", async () => {
    await keys.active();
    const stolen = await sign();
    await keys.rotate("key_admin", { compromised: true });
    expect(await verifies(stolen)).toBe(false);
    expect(await kids()).toHaveLength(1);
    expect(await verifies(await sign())).toBe(true);

    const audit = await platformAudit();
    expect(audit.filter((e) => e.type === "signing_key.retired").map((e) => e.payload)).toEqual([
      expect.objectContaining({ compromised: true }),
    ]);
  });

  it("stores the private key sealed and audits keys without it", async () => {
    const { privateJwk, kid } = await keys.active();
    const { d } = JSON.parse(privateJwk) as { d: string };
    const [record] = await h.store.read(({ signingKeys: store }) =>
      store.published(h.clock.now().toISOString()),
    );
    expect(record?.kid).toBe(kid);
    expect(record?.sealedPrivateJwk).not.toContain(d);
    expect(record?.sealedPrivateJwk?.startsWith("v1.")).toBe(true);
    const audit = await platformAudit();
    expect(audit.map((e) => e.type)).toContain("signing_key.created");
    expect(JSON.stringify(audit)).not.toContain(d);
  });

  it("agrees on one key when several instances start signing together", async () => {
    const other = signingKeys(h.context, { signer, secrets: h.sealer });
    const active = await Promise.all([keys.active(), other.active(), keys.active()]);
    expect(new Set(active.map((key) => key.kid)).size).toBe(1);
    expect(await kids()).toHaveLength(1);
  });

  it("publishes the key set even when the signing key's private part does not open", async () => {
    // Verifiers need only the public halves: a sealed value altered in the store (or sealed with
    // an encryption key no longer given) stops signing, not the verification of earlier tokens.
    const token = await sign();
    const { kid } = await keys.active();
    await h.store.transaction(async (r) => {
      const [record] = await r.signingKeys.published(h.clock.now().toISOString());
      await r.signingKeys.reseal(kid, record?.sealedPrivateJwk ?? "", "v1.k0.AAAA.AAAA");
    });
    await expect(keys.active()).rejects.toMatchObject({ code: "secret.unavailable" });
    expect(await kids()).toEqual([kid]);
    expect(await verifies(token)).toBe(true);
  });
});
