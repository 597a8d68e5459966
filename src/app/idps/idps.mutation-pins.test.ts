/**
 * IdP registration's checks, pinned where a mutation survey of src/app/idps found them unpinned
 * (each mutant below passed idps.test.ts, idps.name-id-format.test.ts,
 * idps.role-metadata-expiry.test.ts and idps.xml-text.bad-input.test.ts): who may read another
 * tenant's registration (invariant 5), that a registration names a tenant that exists, and that
 * neither a view of an OIDC registration nor its audit event carries its sealed client secret
 * (invariant 6), and that a SAML registration's audit event names the keys it trusts by their
 * fingerprints and whether it accepts unsolicited responses (invariant 4: the change is what an
 * auditor must see), and that an OIDC registration names at least one ID token algorithm.
 */
import { X509Certificate } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { generateTestKeyPair } from "../../verifiers/saml/test-support/certificate.js";
import type { IdpRegistration } from "../application.js";
import { clientSecretContext } from "../federation/endpoints.js";
import { openHarness, type Harness } from "../test-support/harness.js";
import { refusalCode } from "../test-support/refusal-code.js";

const idp = generateTestKeyPair("idp.globex.example");

const saml = (): IdpRegistration => ({
  protocol: "saml",
  saml: {
    entityId: "https://idp.globex.example/metadata",
    ssoUrl: "https://idp.globex.example/sso",
    signingCertificates: [idp.certificateBase64],
  },
});

const oidc = (): IdpRegistration => ({
  protocol: "oidc",
  oidc: {
    issuer: "https://globex.idp.example",
    clientId: "tenant-mfa",
    clientSecret: "a-very-secret-client-secret",
  },
});

const code = refusalCode;

describe("IdP registration (mutation pins)", () => {
  let h: Harness;

  beforeEach(async () => {
    h = await openHarness();
    await h.app.tenants.create(h.admin, { id: "acme", name: "Acme" });
    await h.app.tenants.create(h.admin, { id: "globex", name: "Globex" });
  });
  afterEach(async () => {
    await h.close();
  });

  // Mutant: `authorize(caller, "idp.read", tenant)` deleted from `get` (only `list` was pinned).
  it("reads one IdP only for a caller reaching its tenant in a role that reads IdPs", async () => {
    await h.app.idps.put(h.admin, "globex", "corp", { registration: saml(), ifMatch: undefined });
    const acmeAdmin = await h.caller(["tenant_admin"], ["acme"]);
    const acmeAuditor = await h.caller(["tenant_auditor"], ["acme"]);
    expect(await code(h.app.idps.get(acmeAdmin, "globex", "corp"))).toBe("not_found");
    expect(await code(h.app.idps.get(acmeAuditor, "globex", "corp"))).toBe("not_found");
    const service = await h.caller(["platform_service"], ["globex"]);
    expect(await code(h.app.idps.get(service, "globex", "corp"))).toBe("auth.forbidden");
    const globexAuditor = await h.caller(["tenant_auditor"], ["globex"]);
    expect((await h.app.idps.get(globexAuditor, "globex", "corp")).id).toBe("corp");
  });

  // Mutant: `requireTenant` deleted from `put`: a platform administrator's registration for a
  // tenant that does not exist was stored (or failed as the store saw fit) unseen.
  it("refuses a registration for a tenant that does not exist with not_found, storing nothing", async () => {
    expect(
      await code(
        h.app.idps.put(h.admin, "initech", "corp", { registration: saml(), ifMatch: undefined }),
      ),
    ).toBe("not_found");
    expect(await h.store.transaction((r) => r.idps.get("initech", "corp"))).toBeUndefined();
    const audit = await h.app.audit.list(h.admin, "initech", {}, {}).catch(() => undefined);
    expect(audit?.items ?? []).toEqual([]);
  });

  // Mutants: `toView` keeping `sealedClientSecret` (idps.test.ts looks for the plain secret in the
  // view, never for the sealed value, which opens to it wherever the sealing key is at hand), and
  // the secret sealed under another IdP's context (every sign-in at it: secret.unavailable).
  it("shows no view of an OIDC IdP its sealed client secret, on registering, reading or listing", async () => {
    const admin = await h.caller(["tenant_admin"], ["globex"]);
    const { idp: registered } = await h.app.idps.put(admin, "globex", "corp", {
      registration: oidc(),
      ifMatch: undefined,
    });
    const stored = await h.store.transaction((r) => r.idps.get("globex", "corp"));
    const sealed = stored?.protocol === "oidc" ? stored.oidc.sealedClientSecret : "";
    expect(sealed).toMatch(/^v1\.test\./);
    const views = [
      registered,
      await h.app.idps.get(admin, "globex", "corp"),
      ...(await h.app.idps.list(admin, "globex")),
    ];
    // Sealed for this IdP of this tenant: what a sign-in at it opens the secret with.
    expect(h.sealer.open(sealed, clientSecretContext("globex", "corp"))).toBe(
      "a-very-secret-client-secret",
    );
    for (const view of views) {
      expect(view.oidc?.clientSecretSet).toBe(true);
      expect(Object.keys(view.oidc ?? {})).not.toContain("sealedClientSecret");
      expect(JSON.stringify(view)).not.toContain(sealed);
    }
  });

  // Mutant: the sealed client secret added to the audit summary: idps.test.ts looks for the plain
  // secret in the audit events, never for the sealed value.
  it("audits an OIDC registration and its replacement without the sealed client secret", async () => {
    const admin = await h.caller(["tenant_admin"], ["globex"]);
    await h.app.idps.put(admin, "globex", "corp", { registration: oidc(), ifMatch: undefined });
    await h.app.idps.put(admin, "globex", "corp", { registration: oidc(), ifMatch: 1 });
    const stored = await h.store.transaction((r) => r.idps.get("globex", "corp"));
    const sealed = stored?.protocol === "oidc" ? stored.oidc.sealedClientSecret : "";
    expect(sealed).toMatch(/^v1\.test\./);
    const audit = await h.app.audit.list(h.admin, "globex", {}, {});
    const types = audit.items.map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(["idp.registered", "idp.updated"]));
    for (const event of audit.items) {
      expect(Object.keys(event.payload)).not.toContain("sealedClientSecret");
      expect(JSON.stringify(event.payload)).not.toContain(sealed);
    }
  });

  // Mutant: `certificateFingerprints` left out of the audit summary: no test read it.
  it("audits a SAML registration with the SHA-256 fingerprint of each signing certificate", async () => {
    const second = generateTestKeyPair("idp2.globex.example");
    const registration = saml();
    await h.app.idps.put(h.admin, "globex", "corp", {
      registration: {
        ...registration,
        saml: {
          ...registration.saml!,
          signingCertificates: [idp.certificateBase64, second.certificateBase64],
        },
      },
      ifMatch: undefined,
    });
    const audit = await h.app.audit.list(h.admin, "globex", { type: "idp.registered" }, {});
    expect(audit.items).toHaveLength(1);
    expect(audit.items[0]?.payload["certificateFingerprints"]).toEqual([
      new X509Certificate(idp.certificatePem).fingerprint256,
      new X509Certificate(second.certificatePem).fingerprint256,
    ]);
  });

  // Mutant: `allowUnsolicited` left out of a SAML registration's audit event: no test read it,
  // and turning on IdP-initiated sign-ins is what an auditor must see.
  it("audits whether a SAML IdP's unsolicited responses are accepted", async () => {
    const registration = saml();
    await h.app.idps.put(h.admin, "globex", "corp", {
      registration: { ...registration, saml: { ...registration.saml!, allowUnsolicited: true } },
      ifMatch: undefined,
    });
    const audit = await h.app.audit.list(h.admin, "globex", { type: "idp.registered" }, {});
    expect(audit.items[0]?.payload["allowUnsolicited"]).toBe(true);
  });

  // Mutant: `algorithms.length === 0` deleted: an empty list of ID token algorithms was stored.
  it("refuses an OIDC registration naming no ID token algorithm, or an empty client secret or client id", async () => {
    const registration = oidc();
    const admin = await h.caller(["tenant_admin"], ["globex"]);
    expect(
      await code(
        h.app.idps.put(admin, "globex", "corp", {
          registration: { ...registration, oidc: { ...registration.oidc!, idTokenAlgorithms: [] } },
          ifMatch: undefined,
        }),
      ),
    ).toBe("idp.invalid");
    // Mutant: `clientSecret.length === 0` deleted: an empty client secret was sealed and stored.
    expect(
      await code(
        h.app.idps.put(admin, "globex", "corp", {
          registration: { ...registration, oidc: { ...registration.oidc!, clientSecret: "" } },
          ifMatch: undefined,
        }),
      ),
    ).toBe("idp.invalid");
    // Mutant: `clientId.length === 0` deleted: an empty client id was stored.
    expect(
      await code(
        h.app.idps.put(admin, "globex", "corp", {
          registration: { ...registration, oidc: { ...registration.oidc!, clientId: "" } },
          ifMatch: undefined,
        }),
      ),
    ).toBe("idp.invalid");
    expect(await h.store.transaction((r) => r.idps.get("globex", "corp"))).toBeUndefined();
  });
});
