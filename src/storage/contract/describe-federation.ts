import { describe, expect, it } from "vitest";
import { DEFAULT_IDP_ASSURANCE_MAPPING } from "../../core/idp-assurance.js";
import type {
  FederationAnswerRecord,
  FederationRequestRecord,
  HeldEvidence,
  IdpRecord,
} from "../../app/records.js";
import { addTenant, at, oidcIdp, uniqueId } from "./fixtures.js";
import { openSecondInstance, type ContractContext } from "./store-harness.js";

export function samlIdp(tenant: string, id: string, version = 1): IdpRecord {
  return {
    tenant,
    id,
    protocol: "saml",
    saml: {
      entityId: `https://idp.example/${id}`,
      ssoUrl: "https://idp.example/sso",
      signingCertificates: ["-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"],
      allowUnsolicited: false,
    },
    request: { mfa: ["https://refeds.org/profile/mfa"], phishingResistant: [] },
    mapping: DEFAULT_IDP_ASSURANCE_MAPPING,
    clockSkewSeconds: 120,
    maxAuthenticationAgeSeconds: 86400,
    version,
    createdAt: at(0),
    updatedAt: at(version),
    updatedBy: "key_admin",
  };
}

export function pending(tenant: string, id = uniqueId("fed")): FederationRequestRecord {
  return {
    id,
    tenant,
    idp: "okta",
    protocol: "oidc",
    nonce: "n-0S6_WzA2Mj",
    sealedCodeVerifier: "v1.k1.aaaa.bbbb",
    principalHint: "alice",
    returnTo: "https://app.example/signed-in",
    requested: ["https://refeds.org/profile/mfa"],
    maxAgeSeconds: 3600,
    forceAuthn: false,
    createdAt: at(0),
    expiresAt: at(600),
  };
}

/** A verified SAML answer held for the browser whose cookie hashes to `browserHash`. */
export function heldAnswer(tenant: string, expiresAt = at(300)): HeldEvidence {
  return {
    hash: uniqueId("answer-hash"),
    tenant,
    idp: "corp",
    request: uniqueId("fed"),
    principalHint: "alice@example.org",
    returnTo: "https://app.example/signed-in",
    browserHash: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    subject: "alice@example.org",
    event: {
      method: "federated",
      source: "idp",
      tenant,
      idp: "corp",
      idpVersion: 1,
      at: at(0),
      assurance: { aal: 2, phishingResistant: false },
      claims: { issuer: "https://idp.example/corp", authnContextClassRefs: ["urn:mfa"] },
    },
    createdAt: at(0),
    expiresAt,
  };
}

/** IdP registrations, remembered sign-in requests, held answers and one-time proofs. */
export function describeFederation({ store, harness, sharedByInstances }: ContractContext): void {
  describe("federation records", () => {
    it("stores an IdP and replaces only the version it read (optimistic concurrency)", async () => {
      const tenant = await addTenant(store());
      const results = await store().transaction(async ({ idps }) => [
        await idps.put(samlIdp(tenant, "okta")),
        await idps.put(samlIdp(tenant, "okta")),
        await idps.put(samlIdp(tenant, "okta", 2)),
        await idps.put(samlIdp(tenant, "okta", 2)),
      ]);
      expect(results).toEqual([true, false, true, false]);
      const kept = await store().transaction(({ idps }) => idps.get(tenant, "okta"));
      expect(kept).toStrictEqual(samlIdp(tenant, "okta", 2));
    });

    it("re-seals an OIDC client secret in place, at the version read, and only there", async () => {
      const tenant = await addTenant(store());
      const first = oidcIdp(tenant, "okta", "v1.k1.sealed");
      if (first.protocol !== "oidc") throw new Error("an OIDC registration");
      await store().transaction(({ idps }) => idps.put(first));
      const resealed = await store().transaction(async ({ idps }) => ({
        done: await idps.resealClientSecret(first, "v1.k2.sealed"),
        kept: await idps.get(tenant, "okta"),
      }));
      // The registration is the same one: its version and its times are as they were.
      expect(resealed).toStrictEqual({
        done: true,
        kept: { ...first, oidc: { ...first.oidc, sealedClientSecret: "v1.k2.sealed" } },
      });
      // Another writer's new version meanwhile: the version read is gone, and nothing is written.
      const second = { ...first, version: 2, oidc: { ...first.oidc, clientId: "other" } };
      await store().transaction(({ idps }) => idps.put(second));
      expect(
        await store().transaction(({ idps }) => idps.resealClientSecret(first, "v1.k3.sealed")),
      ).toBe(false);
      expect(await store().read(({ idps }) => idps.get(tenant, "okta"))).toStrictEqual(second);
      // Nor is a removed registration's tombstone written to.
      await store().transaction(({ idps }) => idps.remove(tenant, "okta"));
      expect(
        await store().transaction(({ idps }) => idps.resealClientSecret(second, "v1.k4.sealed")),
      ).toBe(false);
    });

    // Threat: a removal of the version read takes away the registration another writer put in
    // its place meanwhile, and the audit event names the version that was not removed.
    it("removes an IdP at a version only while its live registration is at that version", async () => {
      const tenant = await addTenant(store());
      const second = samlIdp(tenant, "okta", 2);
      await store().transaction(async ({ idps }) => {
        await idps.put(samlIdp(tenant, "okta"));
        await idps.put(second);
      });
      const stale = await store().transaction(({ idps }) => idps.remove(tenant, "okta", 1));
      expect(stale).toBe(false);
      expect(await store().read(({ idps }) => idps.get(tenant, "okta"))).toStrictEqual(second);
      const current = await store().transaction(({ idps }) => idps.remove(tenant, "okta", 2));
      expect(current).toBe(true);
      expect(await store().read(({ idps }) => idps.removedVersion(tenant, "okta"))).toBe(2);
    });

    // Threat: an id removed and registered again restarts at version 1, so an `If-Match` or an
    // audit event naming the removed registration's version names the new one too (ABA).
    it("continues an IdP's versions after its removal, and registers it again only once", async () => {
      const tenant = await addTenant(store());
      await store().transaction(async ({ idps }) => {
        await idps.put(samlIdp(tenant, "okta"));
        await idps.put(samlIdp(tenant, "okta", 2));
      });
      const removed = await store().transaction(async ({ idps }) => ({
        before: await idps.removedVersion(tenant, "okta"),
        removed: await idps.remove(tenant, "okta"),
        again: await idps.remove(tenant, "okta"),
        get: await idps.get(tenant, "okta"),
        list: await idps.list(tenant),
        after: await idps.removedVersion(tenant, "okta"),
      }));
      expect(removed).toEqual({
        before: undefined,
        removed: true,
        again: false,
        get: undefined,
        list: [],
        after: 2,
      });
      const writes = await store().transaction(async ({ idps }) => [
        await idps.put(samlIdp(tenant, "okta")),
        await idps.put(samlIdp(tenant, "okta", 3)),
        await idps.reregister(samlIdp(tenant, "okta", 2)),
        await idps.reregister(samlIdp(tenant, "okta", 3)),
        await idps.reregister(samlIdp(tenant, "okta", 3)),
        await idps.reregister(samlIdp(tenant, "okta", 4)),
      ]);
      expect(writes).toEqual([false, false, false, true, false, false]);
      const registered = await store().transaction(async ({ idps }) => ({
        get: await idps.get(tenant, "okta"),
        list: await idps.list(tenant),
        removedVersion: await idps.removedVersion(tenant, "okta"),
      }));
      expect(registered).toStrictEqual({
        get: samlIdp(tenant, "okta", 3),
        list: [samlIdp(tenant, "okta", 3)],
        removedVersion: undefined,
      });
      expect(await store().transaction(({ idps }) => idps.put(samlIdp(tenant, "okta", 4)))).toBe(
        true,
      );
    });

    it("keeps a SAML IdP's metadata expiry, and drops it with a replacement that states none", async () => {
      const tenant = await addTenant(store());
      const base = samlIdp(tenant, "okta");
      const expiring: IdpRecord =
        base.protocol === "saml"
          ? { ...base, saml: { ...base.saml, metadataValidUntil: at(3600) } }
          : base;
      await store().transaction(({ idps }) => idps.put(expiring));
      expect(await store().transaction(({ idps }) => idps.get(tenant, "okta"))).toStrictEqual(
        expiring,
      );
      await store().transaction(({ idps }) => idps.put(samlIdp(tenant, "okta", 2)));
      const replaced = await store().transaction(({ idps }) => idps.get(tenant, "okta"));
      expect(replaced).toStrictEqual(samlIdp(tenant, "okta", 2));
    });

    it("keeps IdPs within their tenant", async () => {
      const a = await addTenant(store());
      const b = await addTenant(store());
      await store().transaction(({ idps }) => idps.put(samlIdp(a, "okta")));
      const seen = await store().transaction(async ({ idps }) => ({
        get: await idps.get(b, "okta"),
        list: await idps.list(b),
        remove: await idps.remove(b, "okta"),
        reregister: await idps.reregister(samlIdp(b, "okta", 2)),
      }));
      expect(seen).toEqual({ get: undefined, list: [], remove: false, reregister: false });
      expect(await store().transaction(({ idps }) => idps.list(a))).toHaveLength(1);
      await store().transaction(({ idps }) => idps.remove(a, "okta"));
      expect(await store().transaction(({ idps }) => idps.removedVersion(b, "okta"))).toBe(
        undefined,
      );
      expect(await store().transaction(({ idps }) => idps.put(samlIdp(b, "okta")))).toBe(true);
    });

    it("remembers what an IdP was last seen to prove, and forgets it with the IdP", async () => {
      const tenant = await addTenant(store());
      const observation = {
        tenant,
        idp: "okta",
        provingMfa: true,
        unmappedSeen: ["urn:acme:gold"],
        updatedAt: at(5),
      };
      await store().transaction(async ({ idps }) => {
        await idps.put(samlIdp(tenant, "okta"));
        await idps.observe(observation);
        await idps.observe({ ...observation, provingMfa: false, updatedAt: at(6) });
      });
      expect(await store().transaction(({ idps }) => idps.observation(tenant, "okta"))).toEqual({
        ...observation,
        provingMfa: false,
        updatedAt: at(6),
      });
      await store().transaction(({ idps }) => idps.remove(tenant, "okta"));
      expect(
        await store().transaction(({ idps }) => idps.observation(tenant, "okta")),
      ).toBeUndefined();
    });

    it("sets a tenant's return URLs", async () => {
      const tenant = await addTenant(store());
      const urls = ["https://a.example/back", "http://127.0.0.1:3000/"];
      expect(await store().transaction(({ tenants }) => tenants.setReturnUrls(tenant, urls))).toBe(
        true,
      );
      expect((await store().transaction(({ tenants }) => tenants.get(tenant)))?.returnUrls).toEqual(
        urls,
      );
      expect(
        await store().transaction(({ tenants }) => tenants.setReturnUrls(uniqueId("t"), urls)),
      ).toBe(false);
    });

    it("consumes a remembered request exactly once", async () => {
      const request = pending(await addTenant(store()));
      await store().transaction(({ federationRequests }) => federationRequests.insert(request));
      expect(
        await store().transaction(({ federationRequests }) => federationRequests.get(request.id)),
      ).toStrictEqual(request);
      const results = await Promise.all(
        Array.from({ length: 5 }, () =>
          store().transaction(({ federationRequests }) =>
            federationRequests.consume(request.id, at(10)),
          ),
        ),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(
        await store().transaction(({ federationRequests }) => federationRequests.get(request.id)),
      ).toStrictEqual({ ...request, consumedAt: at(10) });
    });

    // Key rotation re-seals the PKCE verifiers of the sign-ins under way. A sign-in answered
    // meanwhile must stay answered (its callback replayed must not find it pending again), and a
    // verifier sealed again meanwhile must not be overwritten with a stale one.
    it("lists the pending requests, and re-seals a verifier only while its request is pending with the value read", async () => {
      const tenant = await addTenant(store());
      const open = pending(tenant);
      const answered = pending(tenant);
      const expired = { ...pending(tenant), expiresAt: at(50) };
      const { nonce: _nonce, sealedCodeVerifier: _verifier, ...oidc } = pending(tenant);
      const saml: FederationRequestRecord = { ...oidc, protocol: "saml", requestId: "_r1" };
      await store().transaction(async ({ federationRequests }) => {
        for (const request of [open, answered, expired, saml]) {
          await federationRequests.insert(request);
        }
        await federationRequests.consume(answered.id, at(10));
      });
      const listed = await store().read(({ federationRequests }) =>
        federationRequests.listPending(at(100)),
      );
      expect(listed.filter((request) => request.tenant === tenant)).toHaveLength(2);
      expect(listed.find((request) => request.id === open.id)).toStrictEqual(open);
      expect(listed.find((request) => request.id === saml.id)).toStrictEqual(saml);

      const from = open.sealedCodeVerifier ?? "";
      const results = await store().transaction(async ({ federationRequests }) => ({
        stale: await federationRequests.resealCodeVerifier(open.id, "v1.k0.old", "v1.k2.x"),
        answered: await federationRequests.resealCodeVerifier(answered.id, from, "v1.k2.x"),
        unknown: await federationRequests.resealCodeVerifier(uniqueId("fed"), from, "v1.k2.x"),
        saml: await federationRequests.resealCodeVerifier(saml.id, from, "v1.k2.x"),
        resealed: await federationRequests.resealCodeVerifier(open.id, from, "v1.k2.cccc.dddd"),
        again: await federationRequests.resealCodeVerifier(open.id, from, "v1.k3.eeee.ffff"),
      }));
      expect(results).toEqual({
        stale: false,
        answered: false,
        unknown: false,
        saml: false,
        resealed: true,
        again: false,
      });
      const after = await store().read(async ({ federationRequests }) => ({
        open: await federationRequests.get(open.id),
        answered: await federationRequests.get(answered.id),
        saml: await federationRequests.get(saml.id),
      }));
      expect(after).toStrictEqual({
        open: { ...open, sealedCodeVerifier: "v1.k2.cccc.dddd" },
        answered: { ...answered, consumedAt: at(10) },
        saml,
      });
      // Re-sealed, the request is consumed once, as before.
      const consumed = await store().transaction(async ({ federationRequests }) => [
        await federationRequests.consume(open.id, at(20)),
        await federationRequests.consume(open.id, at(21)),
      ]);
      expect(consumed).toEqual([true, false]);
    });

    it("never makes a request answered while its verifier is re-sealed pending again", async () => {
      const tenant = await addTenant(store());
      const requests = Array.from({ length: 5 }, () => pending(tenant));
      await store().transaction(async ({ federationRequests }) => {
        for (const request of requests) await federationRequests.insert(request);
      });
      await Promise.all(
        requests.flatMap((request) => [
          store().transaction(({ federationRequests }) =>
            federationRequests.consume(request.id, at(10)),
          ),
          store().transaction(({ federationRequests }) =>
            federationRequests.resealCodeVerifier(
              request.id,
              request.sealedCodeVerifier ?? "",
              "v1.k2.cccc.dddd",
            ),
          ),
        ]),
      );
      for (const request of requests) {
        const stored = await store().read(({ federationRequests }) =>
          federationRequests.get(request.id),
        );
        expect(stored?.consumedAt).toBe(at(10));
        expect(
          await store().transaction(({ federationRequests }) =>
            federationRequests.consume(request.id, at(11)),
          ),
        ).toBe(false);
      }
      const listed = await store().read(({ federationRequests }) =>
        federationRequests.listPending(at(100)),
      );
      expect(listed.filter((request) => request.tenant === tenant)).toEqual([]);
    });

    it("purges expired requests and proofs only", async () => {
      const tenant = await addTenant(store());
      const old = pending(tenant);
      const current = { ...pending(tenant), expiresAt: at(100_000) };
      const scope = uniqueId("scope");
      await store().transaction(async ({ federationRequests, oneTimeProofs }) => {
        await federationRequests.insert(old);
        await federationRequests.insert(current);
        await oneTimeProofs.claim(scope, "old", at(600));
        await oneTimeProofs.claim(scope, "current", at(100_000));
      });
      await store().transaction(async ({ federationRequests, oneTimeProofs }) => {
        expect(await federationRequests.purge(at(601))).toBeGreaterThanOrEqual(1);
        expect(await oneTimeProofs.purge(at(601))).toBeGreaterThanOrEqual(1);
      });
      await store().transaction(async ({ federationRequests, oneTimeProofs }) => {
        expect(await federationRequests.get(old.id)).toBeUndefined();
        expect(await federationRequests.get(current.id)).toBeDefined();
        expect(await oneTimeProofs.claim(scope, "old", at(700))).toBe(true);
        expect(await oneTimeProofs.claim(scope, "current", at(700))).toBe(false);
      });
    });

    it("keeps a request's browser binding as stored", async () => {
      const request = { ...pending(await addTenant(store())), browserHash: "ab".repeat(32) };
      await store().transaction(({ federationRequests }) => federationRequests.insert(request));
      expect(
        await store().transaction(({ federationRequests }) => federationRequests.get(request.id)),
      ).toStrictEqual(request);
    });

    it("holds a verified answer and lets it be claimed exactly once", async () => {
      const answer = heldAnswer(await addTenant(store()));
      await store().transaction(({ federationAnswers }) => federationAnswers.insert(answer));
      expect(
        await store().transaction(({ federationAnswers }) => federationAnswers.get(answer.hash)),
      ).toStrictEqual(answer);
      expect(
        await store().transaction(({ federationAnswers }) => federationAnswers.get("unknown")),
      ).toBeUndefined();
      const results = await Promise.all(
        Array.from({ length: 5 }, () =>
          store().transaction(({ federationAnswers }) =>
            federationAnswers.claim(answer.hash, at(5)),
          ),
        ),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(
        await store().transaction(({ federationAnswers }) => federationAnswers.get(answer.hash)),
      ).toStrictEqual({ ...answer, claimedAt: at(5) });
      expect(
        await store().transaction(({ federationAnswers }) =>
          federationAnswers.claim("unknown", at(5)),
        ),
      ).toBe(false);
    });

    it("holds an IdP's 'MFA was not possible' as stored, without subject or evidence", async () => {
      const { subject: _subject, event: _event, ...common } = heldAnswer(await addTenant(store()));
      const unavailable: FederationAnswerRecord = { ...common, outcome: "mfa_unavailable" };
      await store().transaction(({ federationAnswers }) => federationAnswers.insert(unavailable));
      expect(
        await store().transaction(({ federationAnswers }) =>
          federationAnswers.get(unavailable.hash),
        ),
      ).toStrictEqual(unavailable);
    });

    it("purges expired answers only, claimed or not", async () => {
      const tenant = await addTenant(store());
      const old = heldAnswer(tenant, at(300));
      const claimedOld = heldAnswer(tenant, at(300));
      const current = heldAnswer(tenant, at(100_000));
      await store().transaction(async ({ federationAnswers }) => {
        await federationAnswers.insert(old);
        await federationAnswers.insert(claimedOld);
        await federationAnswers.insert(current);
        await federationAnswers.claim(claimedOld.hash, at(10));
      });
      expect(
        await store().transaction(({ federationAnswers }) => federationAnswers.purge(at(301))),
      ).toBeGreaterThanOrEqual(2);
      await store().transaction(async ({ federationAnswers }) => {
        expect(await federationAnswers.get(old.hash)).toBeUndefined();
        expect(await federationAnswers.get(claimedOld.hash)).toBeUndefined();
        expect(await federationAnswers.get(current.hash)).toBeDefined();
      });
    });

    it("accepts a one-time proof once, within its scope", async () => {
      const scope = uniqueId("saml");
      const claims = await Promise.all(
        Array.from({ length: 5 }, () =>
          store().transaction(({ oneTimeProofs }) => oneTimeProofs.claim(scope, "_a1", at(60))),
        ),
      );
      expect(claims.filter(Boolean)).toHaveLength(1);
      expect(
        await store().transaction(({ oneTimeProofs }) =>
          oneTimeProofs.claim(`${scope}-other`, "_a1", at(60)),
        ),
      ).toBe(true);
    });

    it("claims a key again only once its record lapsed, or was set far ahead", async () => {
      const scope = uniqueId("bound");
      const claim = (now: number, expiresAt = now + 60) =>
        store().transaction(({ oneTimeProofs }) =>
          oneTimeProofs.claimLapsed(scope, "key", at(expiresAt), {
            after: at(now),
            until: at(now + 120),
          }),
        );
      const claims = await Promise.all(Array.from({ length: 5 }, () => claim(0)));
      expect(claims.filter(Boolean)).toHaveLength(1);
      expect(await claim(59)).toBe(false);
      expect(await claim(60)).toBe(true);
      // Set at a clock an hour ahead, its record does not silence this one for that hour.
      expect(await claim(200, 3_800)).toBe(true);
      expect(await claim(201)).toBe(true);
      expect(await claim(202)).toBe(false);
      // A one-time proof of the same scope and key stays a replay.
      expect(
        await store().transaction(({ oneTimeProofs }) =>
          oneTimeProofs.claim(scope, "key", at(999)),
        ),
      ).toBe(false);
    });

    it("tells whether a key's record is in force, as the claim judges it, without writing", async () => {
      const scope = uniqueId("bound");
      const isInForce = (now: number) =>
        store().read(({ oneTimeProofs }) =>
          oneTimeProofs.isInForce(scope, "key", { after: at(now), until: at(now + 120) }),
        );
      expect(await isInForce(0)).toBe(false);
      expect(await isInForce(0)).toBe(false);
      await store().transaction(({ oneTimeProofs }) =>
        oneTimeProofs.claimLapsed(scope, "key", at(60), { after: at(0), until: at(120) }),
      );
      expect(await isInForce(0)).toBe(true);
      expect(await isInForce(59)).toBe(true);
      expect(await isInForce(60)).toBe(false);
      // Set far ahead of this clock (another instance's), as claimLapsed does not count it.
      expect(await isInForce(-61)).toBe(false);
      expect(
        await store().read(({ oneTimeProofs }) =>
          oneTimeProofs.isInForce(`${scope}-other`, "key", { after: at(0), until: at(120) }),
        ),
      ).toBe(false);
    });

    // Two instances at once: only for stores several instances share.
    if (sharedByInstances)
      it("claims a lapsed key once across instances", async () => {
        const second = await openSecondInstance(harness());
        try {
          const scope = uniqueId("bound");
          const inForce = { after: at(0), until: at(120) };
          const results = await Promise.all([
            store().transaction(({ oneTimeProofs }) =>
              oneTimeProofs.claimLapsed(scope, "key", at(60), inForce),
            ),
            second.transaction(({ oneTimeProofs }) =>
              oneTimeProofs.claimLapsed(scope, "key", at(60), inForce),
            ),
          ]);
          expect(results.sort()).toEqual([false, true]);
        } finally {
          await second.close();
        }
      });

    // Two instances at once: only for stores several instances share.
    if (sharedByInstances)
      it("catches a proof replayed to another instance", async () => {
        const second = await openSecondInstance(harness());
        try {
          const scope = uniqueId("oidc");
          const results = await Promise.all([
            store().transaction(({ oneTimeProofs }) => oneTimeProofs.claim(scope, "nonce", at(60))),
            second.transaction(({ oneTimeProofs }) => oneTimeProofs.claim(scope, "nonce", at(60))),
          ]);
          expect(results.sort()).toEqual([false, true]);
        } finally {
          await second.close();
        }
      });
  });
}
