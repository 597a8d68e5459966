import { describe, expect, it } from "vitest";
import type { SealedKeyCount } from "../../app/ports.js";
import type {
  AuthenticatorRecord,
  FederationRequestRecord,
  SigningKeyRecord,
} from "../../app/records.js";
import { addTenant, at, DAY, oidcIdp, uniqueId } from "./fixtures.js";
import type { ContractContext } from "./store-harness.js";

/** A value sealed with key `id`, as the sealer writes one. */
const sealedWith = (id: string) => `v1.${id}.aaaaaaaaaaaaaaaa.bbbbbbbbbbbbbbbbbbbbbbbb`;

function totp(tenant: string, sealedSecret: string): AuthenticatorRecord {
  return {
    tenant,
    principal: "alice",
    id: uniqueId("auth"),
    kind: "totp",
    name: "phone",
    status: "pending",
    sealedSecret,
    totp: { algorithm: "SHA1", digits: 6, period: 30 },
    failedAttempts: 0,
    createdAt: at(0),
  };
}

function signingKey(sealedPrivateJwk: string, removedAt = at(31 * DAY)): SigningKeyRecord {
  return {
    kid: uniqueId("key"),
    alg: "ES256",
    publicJwk: { kty: "EC", crv: "P-256", x: "x-coordinate", y: "y-coordinate" },
    sealedPrivateJwk,
    createdAt: at(0),
    activatesAt: at(0),
    retiresAt: at(30 * DAY),
    removedAt,
  };
}

function request(
  tenant: string,
  expiresAt: string,
  sealedCodeVerifier?: string,
): FederationRequestRecord {
  return {
    id: uniqueId("fed"),
    tenant,
    idp: "okta",
    protocol: sealedCodeVerifier === undefined ? "saml" : "oidc",
    ...(sealedCodeVerifier === undefined ? { requestId: "_r1" } : { sealedCodeVerifier }),
    returnTo: "https://app.example/signed-in",
    requested: [],
    forceAuthn: false,
    createdAt: at(0),
    expiresAt,
  };
}

/**
 * Where secrets sealed at rest are, by key: every kind counted by the id its values name, from
 * the database alone. The store is shared with the rest of the suite, so each test seals with
 * key ids of its own and looks at those only.
 */
export function describeSealedSecrets({ store }: ContractContext): void {
  describe("sealed secrets by key", () => {
    const countsOf = async (ids: readonly string[], now: string) => {
      const counts = await store().read((r) => r.sealedSecrets.countByKey(now, at(-DAY)));
      return counts.filter((count) => ids.includes(count.keyId));
    };

    it("counts each kind's values by the key that sealed them", async () => {
      const [k1, k2, k3, k4] = [uniqueId("k"), uniqueId("k"), uniqueId("k"), uniqueId("k")];
      const tenant = await addTenant(store());
      await store().transaction(async (r) => {
        await r.authenticators.insert(totp(tenant, sealedWith(k1)));
        await r.authenticators.insert(totp(tenant, sealedWith(k1)));
        await r.authenticators.insert(totp(tenant, sealedWith(k2)));
        await r.idps.put(oidcIdp(tenant, "okta", sealedWith(k2)));
        await r.idps.put(oidcIdp(tenant, "entra", sealedWith(k3)));
        // A removed key is counted too: re-sealing goes through every stored key.
        await r.signingKeys.insert(signingKey(sealedWith(k3), at(DAY)));
        await r.federationRequests.insert(request(tenant, at(600), sealedWith(k4)));
        await r.federationRequests.insert(request(tenant, at(900), sealedWith(k4)));
      });
      const counts = await countsOf([k1, k2, k3, k4], at(300));
      const expected: SealedKeyCount[] = [
        { keyId: k1, kind: "totp_secret", count: 2 },
        { keyId: k2, kind: "totp_secret", count: 1 },
        { keyId: k2, kind: "idp_client_secret", count: 1 },
        { keyId: k3, kind: "idp_client_secret", count: 1 },
        { keyId: k3, kind: "signing_key", count: 1 },
        { keyId: k4, kind: "pkce_verifier", count: 2, until: at(900) },
      ];
      expect(counts).toHaveLength(expected.length);
      expect(counts).toEqual(expect.arrayContaining(expected));
    });

    it("leaves out what is never opened again: removed IdPs, answered and expired sign-ins", async () => {
      const [removed, answered, expired, saml] = [
        uniqueId("k"),
        uniqueId("k"),
        uniqueId("k"),
        uniqueId("k"),
      ];
      const tenant = await addTenant(store());
      const answeredRequest = request(tenant, at(600), sealedWith(answered));
      await store().transaction(async (r) => {
        await r.idps.put(oidcIdp(tenant, "gone", sealedWith(removed)));
        await r.idps.remove(tenant, "gone");
        await r.federationRequests.insert(answeredRequest);
        await r.federationRequests.consume(answeredRequest.id, at(10));
        await r.federationRequests.insert(request(tenant, at(100), sealedWith(expired)));
        await r.federationRequests.insert(request(tenant, at(600)));
      });
      expect(await countsOf([removed, answered, expired, saml], at(100))).toEqual([]);
      // Until it expires, a pending sign-in's verifier counts.
      expect(await countsOf([expired], at(99))).toEqual([
        { keyId: expired, kind: "pkce_verifier", count: 1, until: at(100) },
      ]);
    });

    it("reads the id of a value of another shape alike on both dialects", async () => {
      const tenant = await addTenant(store());
      const short = uniqueId("k");
      const before = await store().read((r) => r.sealedSecrets.countByKey(at(0), at(-DAY)));
      const blank = (counts: readonly SealedKeyCount[]) =>
        counts.find((count) => count.keyId === "" && count.kind === "totp_secret")?.count ?? 0;
      await store().transaction(async (r) => {
        // No dot: the empty id. No second dot: what follows the first.
        await r.authenticators.insert(totp(tenant, "not-a-sealed-value"));
        await r.authenticators.insert(totp(tenant, `v1.${short}`));
      });
      const after = await store().read((r) => r.sealedSecrets.countByKey(at(0), at(-DAY)));
      expect(blank(after) - blank(before)).toBe(1);
      expect(await countsOf([short], at(0))).toEqual([
        { keyId: short, kind: "totp_secret", count: 1 },
      ]);
    });

    it("leaves out the TOTP secrets of enrolments begun by the time given, never a confirmed one's", async () => {
      const [confirmed, expired, waiting] = [uniqueId("k"), uniqueId("k"), uniqueId("k")];
      const tenant = await addTenant(store());
      const active = { ...totp(tenant, sealedWith(confirmed)), createdAt: at(-DAY) };
      await store().transaction(async (r) => {
        await r.authenticators.insert(active);
        await r.authenticators.activate(tenant, "alice", active.id, 1, at(-DAY + 1));
        await r.authenticators.insert({
          ...totp(tenant, sealedWith(expired)),
          createdAt: at(-DAY),
        });
        await r.authenticators.insert({
          ...totp(tenant, sealedWith(waiting)),
          createdAt: at(-DAY + 1),
        });
      });
      const counts = await store().read((r) => r.sealedSecrets.countByKey(at(0), at(-DAY)));
      expect(counts.filter((c) => [confirmed, expired, waiting].includes(c.keyId))).toEqual(
        expect.arrayContaining([
          { keyId: confirmed, kind: "totp_secret", count: 1 },
          { keyId: waiting, kind: "totp_secret", count: 1 },
        ]),
      );
      expect(counts.some((c) => c.keyId === expired)).toBe(false);
    });
  });
}
