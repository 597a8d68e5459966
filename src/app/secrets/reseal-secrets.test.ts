import { randomBytes } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createAesGcmSealer } from "../../secrets/aes-gcm-sealer.js";
import { storePendingOidcSignIn } from "../../secrets/test-support/sealed-values.js";
import { openStore } from "../../storage/open-store.js";
import { createTotpProtocol } from "../../verifiers/totp/index.js";
import { oathtoolCode } from "../../verifiers/totp/test-support/oathtool.js";
import { createApplication } from "../create-application.js";
import { CountingRandom, openHarness, type Harness } from "../test-support/harness.js";
import { privateKeyContext } from "../assurance/signing-keys.js";
import { totpSecretContext } from "../authenticators/authenticators.js";
import { clientSecretContext, codeVerifierContext } from "../federation/endpoints.js";
import type { Store } from "../ports.js";
import { wrapRepositories } from "../test-support/wrapped-store.js";
import { resealSecrets } from "./reseal-secrets.js";

const oldKey = { id: "k1", key: randomBytes(32) };
const newKey = { id: "k2", key: randomBytes(32) };

/** `secrets reseal` with the new key first and the old one kept, as a rotation runs it. */
const resealWithNewKey = (h: Harness) =>
  resealSecrets(h.context, createAesGcmSealer([newKey, oldKey]), "cli:secrets reseal");

describe("re-sealing secrets under a new key", () => {
  let h: Harness;

  beforeEach(async () => {
    h = await openHarness({ federation: { secrets: createAesGcmSealer([oldKey]) } });
  });
  afterEach(() => h.close());

  it("re-seals every tenant's TOTP secrets so that the new key alone opens them, audited without secrets", async () => {
    const service = await h.caller(["platform_service"], "all");
    const enrolled: { tenant: string; id: string; secret: string }[] = [];
    for (const tenant of ["acme", "globex", "initech"]) {
      await h.app.tenants.create(h.admin, { id: tenant, name: tenant });
      await h.app.principals.upsert(h.admin, tenant, "alice", { population: "direct" });
      if (tenant === "initech") continue;
      for (let n = 0; n < 2; n += 1) {
        const { authenticator, secret } = await h.app.authenticators.beginTotp(
          service,
          tenant,
          "alice",
          {},
        );
        enrolled.push({ tenant, id: authenticator.id, secret });
      }
    }

    const report = await resealWithNewKey(h);
    expect(report).toEqual({
      tenants: 3,
      totpSecrets: 4,
      idpClientSecrets: 0,
      pkceVerifiers: 0,
      signingKeys: 0,
    });

    const onlyNew = createAesGcmSealer([newKey]);
    for (const { tenant, id, secret } of enrolled) {
      const record = await h.store.transaction(({ authenticators }) =>
        authenticators.get(tenant, "alice", id),
      );
      expect(record?.sealedSecret.startsWith("v1.k2.")).toBe(true);
      expect(onlyNew.open(record?.sealedSecret ?? "", totpSecretContext(tenant, "alice", id))).toBe(
        secret,
      );
    }

    // An application holding only the new key confirms with a code from the old secret.
    const rotated = createApplication({
      ...h.context,
      secrets: onlyNew,
      totp: createTotpProtocol(),
    });
    try {
      const [first] = enrolled;
      if (first === undefined) throw new Error("nothing enrolled");
      await expect(
        rotated.authenticators.confirmTotp(service, first.tenant, "alice", first.id, {
          code: oathtoolCode(first.secret, h.clock.now()),
        }),
      ).resolves.toMatchObject({ status: "active" });
    } finally {
      await rotated.close();
    }

    const audit = await h.app.audit.list(h.admin, "acme", { type: "secrets.resealed" }, {});
    expect(audit.items.map((e) => [e.actor, e.payload])).toEqual([
      ["cli:secrets reseal", { kind: "totp", count: 2 }],
    ]);
    const initech = await h.app.audit.list(h.admin, "initech", { type: "secrets.resealed" }, {});
    expect(initech.items).toEqual([]);
  });

  it("re-seals OIDC client secrets in place, each IdP's registration at its version, which the new key alone opens", async () => {
    await h.app.tenants.create(h.admin, { id: "acme", name: "Acme" });
    const clientSecret = "a-very-secret-client-secret";
    await h.app.idps.put(h.admin, "acme", "corp", {
      registration: {
        protocol: "oidc",
        oidc: { issuer: "https://acme.idp.example", clientId: "tenant-mfa", clientSecret },
      },
      ifMatch: undefined,
    });

    const before = await h.store.read(({ idps }) => idps.get("acme", "corp"));
    const report = await resealWithNewKey(h);
    expect(report).toEqual({
      tenants: 1,
      totpSecrets: 0,
      idpClientSecrets: 1,
      pkceVerifiers: 0,
      signingKeys: 0,
    });

    const record = await h.store.transaction(({ idps }) => idps.get("acme", "corp"));
    if (record?.protocol !== "oidc" || before?.protocol !== "oidc") throw new Error("no IdP");
    // The same registration (what the IdP proved under it still counts), its secret sealed anew.
    expect(record).toStrictEqual({
      ...before,
      oidc: { ...before.oidc, sealedClientSecret: record.oidc.sealedClientSecret },
    });
    expect(record.oidc.sealedClientSecret.startsWith("v1.k2.")).toBe(true);
    expect(
      createAesGcmSealer([newKey]).open(
        record.oidc.sealedClientSecret,
        clientSecretContext("acme", "corp"),
      ),
    ).toBe(clientSecret);

    const audit = await h.app.audit.list(h.admin, "acme", { type: "secrets.resealed" }, {});
    expect(audit.items.map((e) => e.payload)).toEqual([{ kind: "idp_client_secret", count: 1 }]);
    expect(JSON.stringify(audit.items)).not.toContain(clientSecret);
  });

  // The assurance-token signing keys' private JWKs are sealed secrets too: after a reseal they
  // must open with the new key alone, or dropping the old (perhaps compromised) key breaks token
  // signing and /.well-known/jwks.json with secret.unavailable.
  it("re-seals the signing keys' private JWKs, so that the new key alone still signs, audited in the platform chain", async () => {
    // The first signing key is made (and sealed with the old key) on first use.
    expect((await h.app.assurance.jwks()).keys).toHaveLength(1);
    await h.app.assurance.rotateSigningKey(h.admin, {});

    const report = await resealWithNewKey(h);
    expect(report).toEqual({
      tenants: 0,
      totpSecrets: 0,
      idpClientSecrets: 0,
      pkceVerifiers: 0,
      signingKeys: 2,
    });

    const keys = await h.store.read(({ signingKeys }) =>
      signingKeys.published(h.clock.now().toISOString()),
    );
    expect(keys).toHaveLength(2);
    const onlyNew = createAesGcmSealer([newKey]);
    for (const key of keys) {
      expect(key.sealedPrivateJwk?.startsWith("v1.k2.")).toBe(true);
      expect(
        JSON.parse(onlyNew.open(key.sealedPrivateJwk ?? "", privateKeyContext(key.kid))),
      ).toMatchObject({ kty: key.publicJwk.kty });
    }

    // The operator drops the old key, as the reseal command's help tells them to.
    const rotated = h.application({
      store: h.store,
      random: new CountingRandom(500_000),
      secrets: onlyNew,
    });
    try {
      const published = await rotated.assurance.jwks();
      expect(published.keys.map((key) => key.kid)).toEqual(keys.map((key) => key.kid));
    } finally {
      await rotated.close();
    }

    const platform = await h.store.read(({ audit }) =>
      audit.read("platform", { afterSeq: 0, limit: 100, filter: { type: "secrets.resealed" } }),
    );
    expect(platform.map((e) => [e.actor, e.payload])).toEqual([
      ["cli:secrets reseal", { kind: "signing_key", count: 2 }],
    ]);
    expect(await h.app.audit.verify(h.admin, {})).toMatchObject({ ok: true });
  });

  it("names a secret whose key is gone, not a store outage, and leaves it as it was", async () => {
    await h.app.tenants.create(h.admin, { id: "acme", name: "Acme" });
    await h.app.principals.upsert(h.admin, "acme", "alice", { population: "direct" });
    const service = await h.caller(["platform_service"], "all");
    const { authenticator } = await h.app.authenticators.beginTotp(service, "acme", "alice", {});

    await expect(
      resealSecrets(h.context, createAesGcmSealer([newKey]), "cli:secrets reseal"),
    ).resolves.toMatchObject({
      totpSecrets: 0,
      unopened: [{ kind: "totp_secret", tenant: "acme", principal: "alice", id: authenticator.id }],
    });
    const record = await h.store.read(({ authenticators }) =>
      authenticators.get("acme", "alice", authenticator.id),
    );
    expect(record?.sealedSecret).toMatch(/^v1\.k1\./);
  });
});

/**
 * `store`, where the sign-in `id` is answered (consumed, as its callback does) right after the
 * pending sign-ins are listed: a callback that comes back while the re-sealing runs.
 */
function answeringWhenListed(store: Store, id: string): Store {
  return wrapRepositories(store, (r) => ({
    ...r,
    federationRequests: {
      ...r.federationRequests,
      async listPending(at) {
        const listed = await r.federationRequests.listPending(at);
        await r.federationRequests.consume(id, at);
        return listed;
      },
    },
  }));
}

// Threat: the old key dropped right after a reseal that left the PKCE verifiers of the sign-ins
// under way sealed with it (the server then refuses to start), or a reseal racing a callback
// that makes an answered sign-in pending again (its callback replayable) or breaks it.
describe("re-sealing the PKCE verifiers of the OIDC sign-ins under way", () => {
  it("re-seals each one still pending, and leaves one answered meanwhile answered, as it was", async () => {
    const answered = "fed_answered";
    const store = answeringWhenListed(await openStore("sqlite::memory:"), answered);
    const h = await openHarness({ store, federation: { secrets: createAesGcmSealer([oldKey]) } });
    try {
      await h.app.tenants.create(h.admin, { id: "acme", name: "Acme" });
      const now = h.clock.now().getTime();
      await storePendingOidcSignIn(h, h.sealer, "fed_pending", now);
      await storePendingOidcSignIn(h, h.sealer, answered, now);
      // Expired now: never opened again, so left as it is.
      await storePendingOidcSignIn(h, h.sealer, "fed_expired", now - 600_000);
      const get = (id: string) => h.store.read((r) => r.federationRequests.get(id));
      const answeredBefore = await get(answered);

      const report = await resealWithNewKey(h);
      expect(report).toEqual({
        tenants: 1,
        totpSecrets: 0,
        idpClientSecrets: 0,
        pkceVerifiers: 1,
        signingKeys: 0,
      });

      const pending = await get("fed_pending");
      expect(pending?.consumedAt).toBeUndefined();
      expect(
        createAesGcmSealer([newKey]).open(
          pending?.sealedCodeVerifier ?? "",
          codeVerifierContext("fed_pending"),
        ),
      ).toBe("a-pkce-code-verifier");
      expect(await get(answered)).toStrictEqual({
        ...answeredBefore,
        consumedAt: h.clock.now().toISOString(),
      });
      expect((await get("fed_expired"))?.sealedCodeVerifier).toMatch(/^v1\.k1\./);

      const audit = await h.app.audit.list(h.admin, "acme", { type: "secrets.resealed" }, {});
      expect(audit.items.map((e) => [e.actor, e.payload])).toEqual([
        ["cli:secrets reseal", { kind: "pkce_verifier", count: 1 }],
      ]);
      expect(JSON.stringify(audit.items)).not.toContain("a-pkce-code-verifier");
    } finally {
      await h.close();
    }
  });
});
