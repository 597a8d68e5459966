import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  generateTestEcKeyPair,
  generateTestKeyPair,
} from "../../verifiers/saml/test-support/certificate.js";
import { testIdp } from "../../verifiers/saml/test-support/scenario.js";
import { TestIdp } from "../../verifiers/saml/test-support/test-idp.js";
import type { Caller, IdpRegistration } from "../application.js";
import { AppError } from "../errors.js";
import type { BrowserSessionRecord } from "../records.js";
import { openHarness, type Harness } from "../test-support/harness.js";
import { refusalCode } from "../test-support/refusal-code.js";

const idp = generateTestKeyPair("idp.acme.example");

const saml = (overrides: Partial<NonNullable<IdpRegistration["saml"]>> = {}): IdpRegistration => ({
  protocol: "saml",
  saml: {
    entityId: "https://idp.acme.example/metadata",
    ssoUrl: "https://idp.acme.example/sso",
    signingCertificates: [idp.certificateBase64],
    ...overrides,
  },
});

const oidc = (overrides: Partial<NonNullable<IdpRegistration["oidc"]>> = {}): IdpRegistration => ({
  protocol: "oidc",
  oidc: {
    issuer: "https://acme.idp.example",
    clientId: "tenant-mfa",
    clientSecret: "a-very-secret-client-secret",
    ...overrides,
  },
});

const code = refusalCode;

describe("IdP registration", () => {
  let h: Harness;
  let admin: Caller;

  beforeEach(async () => {
    h = await openHarness();
    await h.app.tenants.create(h.admin, { id: "acme", name: "Acme" });
    await h.app.tenants.create(h.admin, { id: "globex", name: "Globex" });
    admin = await h.caller(["tenant_admin"], ["acme"]);
  });
  afterEach(async () => {
    await h.close();
  });

  const put = (
    registration: IdpRegistration,
    ifMatch?: number,
    id = "corp",
    caller: Caller = admin,
    tenant = "acme",
  ) => h.app.idps.put(caller, tenant, id, { registration, ifMatch });

  it("registers a SAML IdP with REFEDS MFA defaults and shows where the IdP must answer", async () => {
    const { idp: view, created } = await put(saml());
    expect(created).toBe(true);
    expect(view).toMatchObject({
      protocol: "saml",
      version: 1,
      request: { mfa: ["https://refeds.org/profile/mfa"], phishingResistant: [] },
      clockSkewSeconds: 120,
      saml: { allowUnsolicited: false },
      endpoints: {
        samlMetadata: "https://mfa.test/t/acme/idps/corp/saml/metadata",
        samlAcs: "https://mfa.test/t/acme/idps/corp/saml/acs",
        start: "https://mfa.test/t/acme/idps/corp/start",
      },
    });
    expect(view.mapping.mfaContexts).toContain("https://refeds.org/profile/mfa");
    expect(view.protocol === "saml" && view.saml.signingCertificates[0]).toMatch(
      /^-----BEGIN CERTIFICATE-----\n/,
    );
  });

  it("reads entity id, SSO URL and certificates from IdP metadata", async () => {
    const metadataXml = `<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://idp.acme.example/md">
  <IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <KeyDescriptor use="signing"><KeyInfo xmlns="http://www.w3.org/2000/09/xmldsig#"><X509Data><X509Certificate>${idp.certificateBase64}</X509Certificate></X509Data></KeyInfo></KeyDescriptor>
    <SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.acme.example/sso/redirect"/>
  </IDPSSODescriptor>
</EntityDescriptor>`;
    const { idp: view } = await put({ protocol: "saml", saml: { metadataXml } });
    expect(view.protocol === "saml" && view.saml).toMatchObject({
      entityId: "https://idp.acme.example/md",
      ssoUrl: "https://idp.acme.example/sso/redirect",
    });
  });

  // Threat: metadata past its `validUntil` (SAML Metadata §2.3.1, §2.3.2) no longer vouches for
  // the keys and endpoints it names; registered from it, the tenant trusts what its publisher
  // has withdrawn. Judged by the application's clock (2026-11-23T12:00Z here), not the wall's.
  describe("metadata expiry (validUntil)", () => {
    const samlifyMetadata = (attributes = "") =>
      testIdp()
        .metadataXml()
        .replace(/^<EntityDescriptor /, `<EntityDescriptor ${attributes} `);
    const fromMetadata = (attributes?: string): IdpRegistration => ({
      protocol: "saml",
      saml: { metadataXml: samlifyMetadata(attributes) },
    });

    it.each([
      ["a second ago", "2026-11-23T11:59:59Z", "2026-11-23T11:59:59.000Z"],
      ["at this instant", "2026-11-23T12:00:00.000Z", "2026-11-23T12:00:00.000Z"],
      ["years ago", "2020-01-01T00:00:00Z", "2020-01-01T00:00:00.000Z"],
    ])(
      "refuses metadata that expired %s with idp.metadata_expired, naming the instant",
      async (_when, validUntil, named) => {
        const refused = await put(fromMetadata(`validUntil="${validUntil}"`)).catch(
          (error: unknown) => error,
        );
        expect(refused).toBeInstanceOf(AppError);
        expect(refused).toMatchObject({
          code: "idp.metadata_expired",
          message: expect.stringContaining(named),
          details: { validUntil: named },
        });
        await expect(h.app.idps.get(admin, "acme", "corp")).rejects.toMatchObject({
          code: "not_found",
        });
      },
    );

    it("accepts metadata valid until later, by the application's clock, and refuses it once past", async () => {
      // Already past by the wall clock when this test was written: only the injected clock counts.
      const registration = fromMetadata('validUntil="2026-12-01T00:00:00Z"');
      const { idp: view } = await put(registration);
      expect(view.protocol === "saml" && view.saml.entityId).toBe(testIdp().entityId);
      h.clock.advance(8 * 24 * 3600);
      expect(await code(put(registration, 1))).toBe("idp.metadata_expired");
      expect((await h.app.idps.get(admin, "acme", "corp")).version).toBe(1);
    });

    it("accepts metadata that states no validUntil, or only a cacheDuration", async () => {
      expect((await put(fromMetadata())).idp.version).toBe(1);
      expect((await put(fromMetadata('cacheDuration="PT6H"'), 1)).idp.version).toBe(2);
    });

    it("refuses metadata whose validUntil cannot be read, with idp.invalid", async () => {
      await expect(put(fromMetadata('validUntil="next Tuesday"'))).rejects.toMatchObject({
        code: "idp.invalid",
        message: expect.stringContaining("malformed validUntil"),
      });
    });

    it("refuses expired metadata even when the values it would give are given beside it", async () => {
      const expired = fromMetadata('validUntil="2026-01-01T00:00:00Z"');
      const registration: IdpRegistration = {
        protocol: "saml",
        saml: { ...saml().saml!, metadataXml: expired.saml!.metadataXml! },
      };
      expect(await code(put(registration))).toBe("idp.metadata_expired");
    });
  });

  it.each([
    ["no certificate", saml({ signingCertificates: [] })],
    ["a certificate that is not X.509", saml({ signingCertificates: ["bm90IGEgY2VydA=="] })],
    [
      "a certificate of a 1024-bit RSA key",
      saml({ signingCertificates: [generateTestKeyPair("weak.example", 1024).certificateBase64] }),
    ],
    ["an http SSO URL on a public host", saml({ ssoUrl: "http://idp.acme.example/sso" })],
    ["no entity id", saml({ entityId: "" })],
    [
      "metadata with a DOCTYPE",
      {
        protocol: "saml",
        saml: { metadataXml: '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>' },
      },
    ],
    ["OIDC settings on a SAML IdP", { ...saml(), oidc: oidc().oidc! }],
    ["an http issuer on a public host", oidc({ issuer: "http://acme.idp.example" })],
    // Each parses as a URL once trimmed or stripped, but discovery is fetched from another URL than
    // the issuer written, or refuses it: no document can ever name it, and every sign-in would fail.
    ["an issuer ending in a space", oidc({ issuer: "https://acme.idp.example " })],
    ["an issuer holding a tab", oidc({ issuer: "https://acme.idp.exa\tmple" })],
    ["an issuer holding a line feed", oidc({ issuer: "https://acme.idp.example/\nacme" })],
    ["an issuer ending in an empty fragment", oidc({ issuer: "https://acme.idp.example#" })],
    ["an issuer ending in an empty query", oidc({ issuer: "https://acme.idp.example?" })],
    ["an HMAC ID token algorithm", oidc({ idTokenAlgorithms: ["HS256"] })],
    ["alg none", oidc({ idTokenAlgorithms: ["none"] })],
    [
      "no client secret",
      { protocol: "oidc", oidc: { issuer: "https://acme.idp.example", clientId: "tenant-mfa" } },
    ],
    ["a skew over ten minutes", { ...oidc(), clockSkewSeconds: 601 }],
    ["a maximum authentication age under a minute", { ...oidc(), maxAuthenticationAgeSeconds: 10 }],
  ] as [string, IdpRegistration][])("refuses %s with idp.invalid", async (_name, registration) => {
    expect(await code(put(registration))).toBe("idp.invalid");
  });

  // The SAML verifier checks ecdsa-sha256, -sha384 and -sha512 with an EC key on these curves.
  it.each([
    ["P-256", "prime256v1"],
    ["P-384", "secp384r1"],
    ["P-521", "secp521r1"],
  ] as const)("accepts the certificate of an EC key on %s", async (_name, curve) => {
    const ec = generateTestEcKeyPair("ec.idp.acme.example", curve);
    const { idp: view } = await put(saml({ signingCertificates: [ec.certificateBase64] }));
    expect(view.protocol === "saml" && view.saml.signingCertificates).toEqual([ec.certificatePem]);
  });

  it("accepts an EC IdP registered from its own metadata", async () => {
    const ecIdp = new TestIdp({ keyPair: generateTestEcKeyPair("ec idp") });
    const { idp: view } = await put({
      protocol: "saml",
      saml: { metadataXml: ecIdp.metadataXml() },
    });
    expect(view.protocol === "saml" && view.saml.signingCertificates).toEqual([
      ecIdp.keyPair.certificatePem,
    ]);
  });

  it("refuses the certificate of an EC key on another curve (secp256k1), naming those accepted", async () => {
    const k1 = generateTestEcKeyPair("k1.idp.acme.example", "secp256k1");
    await expect(put(saml({ signingCertificates: [k1.certificateBase64] }))).rejects.toMatchObject({
      code: "idp.invalid",
      message: expect.stringContaining("EC key must be on P-256, P-384 or P-521"),
    });
  });

  it("refuses the certificate of a 1024-bit RSA key, naming the keys accepted", async () => {
    const weak = generateTestKeyPair("weak.example", 1024);
    await expect(
      put(saml({ signingCertificates: [weak.certificateBase64] })),
    ).rejects.toMatchObject({
      code: "idp.invalid",
      message: expect.stringContaining("RSA of at least 2048 bits or EC on P-256, P-384 or P-521"),
    });
  });

  it("seals the client secret: never shown, never audited, stored only sealed", async () => {
    const { idp: view } = await put(oidc());
    expect(JSON.stringify(view)).not.toContain("a-very-secret-client-secret");
    expect(view.oidc?.clientSecretSet).toBe(true);
    const stored = await h.store.transaction((r) => r.idps.get("acme", "corp"));
    const sealed = stored?.protocol === "oidc" ? stored.oidc.sealedClientSecret : "";
    expect(sealed).toMatch(/^v1\.test\./);
    expect(JSON.stringify(stored)).not.toContain("a-very-secret-client-secret");
    const audit = await h.app.audit.list(h.admin, "acme", {}, {});
    expect(JSON.stringify(audit.items)).not.toContain("a-very-secret-client-secret");
    expect(audit.items.map((e) => e.type)).toContain("idp.registered");
  });

  it("keeps the sealed secret when a replacement omits it, and reseals a new one", async () => {
    await put(oidc());
    const before = await h.store.transaction((r) => r.idps.get("acme", "corp"));
    const { clientSecret: _omitted, ...withoutSecret } = oidc().oidc!;
    await put({ protocol: "oidc", oidc: withoutSecret }, 1);
    const kept = await h.store.transaction((r) => r.idps.get("acme", "corp"));
    expect(kept?.protocol === "oidc" && kept.oidc.sealedClientSecret).toBe(
      before?.protocol === "oidc" && before.oidc.sealedClientSecret,
    );
    await put(oidc({ clientSecret: "rotated" }), 2);
    const rotated = await h.store.transaction((r) => r.idps.get("acme", "corp"));
    const sealedOf = (record: typeof kept) =>
      record?.protocol === "oidc" ? record.oidc.sealedClientSecret : undefined;
    expect(sealedOf(rotated)).toBeDefined();
    expect(sealedOf(rotated)).not.toBe(sealedOf(kept));
    const audit = await h.app.audit.list(h.admin, "acme", { type: "idp.updated" }, {});
    expect(audit.items.map((e) => e.payload["clientSecretChanged"])).toEqual([false, true]);
  });

  // Threat: an administrator (or a stolen admin key) re-maps who signs in: the subject read from
  // `email`, or a SAML attribute, rather than the IdP's stable `sub` or NameID, so that another
  // account's value names a principal (invariant 9). The auditor must see that in the chain, not
  // a version bump with every recorded setting as it was.
  it("audits the claim or attribute an IdP's subject is read from", async () => {
    await put(oidc());
    await put(oidc({ subjectClaim: "email" }), 1);
    await put(saml(), undefined, "saml-corp");
    await put(saml({ subjectAttribute: "mail" }), 1, "saml-corp");
    const events = (await h.app.audit.list(h.admin, "acme", {}, {})).items.filter((e) =>
      e.type.startsWith("idp."),
    );
    const subject = (e: (typeof events)[number]) =>
      e.payload["protocol"] === "oidc" ? e.payload["subjectClaim"] : e.payload["subjectAttribute"];
    // A SAML IdP without an attribute names its subject by the NameID: null says so.
    expect(events.map((e) => [e.type, e.payload["idp"], subject(e)])).toEqual([
      ["idp.registered", "corp", "sub"],
      ["idp.updated", "corp", "email"],
      ["idp.registered", "saml-corp", null],
      ["idp.updated", "saml-corp", "mail"],
    ]);
  });

  // Threat: whoever holds `idp.write` re-points the registration at an issuer it controls and
  // omits the write-only client secret: tenant-mfa would present the kept secret there.
  it.each([
    ["another issuer", { issuer: "https://attacker.example" }],
    ["another client id", { clientId: "someone-else" }],
  ])("refuses to keep the client secret for %s: it must be sent again", async (_name, changed) => {
    await put(oidc());
    const before = await h.store.read(({ idps }) => idps.get("acme", "corp"));
    const { clientSecret: _omitted, ...withoutSecret } = oidc(changed).oidc!;
    const refused = await put({ protocol: "oidc", oidc: withoutSecret }, 1).catch(
      (error: unknown) => error,
    );
    expect(refused).toMatchObject({
      code: "idp.invalid",
      message: /client secret must be sent again/,
    });
    expect(await h.store.read(({ idps }) => idps.get("acme", "corp"))).toStrictEqual(before);
    const { idp: replaced } = await put(oidc({ ...changed, clientSecret: "from-the-new-idp" }), 1);
    expect(replaced.oidc).toMatchObject({ ...changed, clientSecretSet: true });
  });

  it("ends the browser sessions holding the IdP's evidence when it is replaced or removed", async () => {
    const now = h.clock.now().toISOString();
    const browserHash = "b".repeat(64);
    const session = (principal: string, events: BrowserSessionRecord["events"]) => ({
      id: `ses_${principal}`,
      tenant: "acme",
      principal,
      browserHash,
      events,
      createdAt: now,
      lastActiveAt: now,
      expiresAt: new Date(h.clock.now().getTime() + 3600_000).toISOString(),
    });
    const federated = (idp: string) =>
      ({
        method: "federated",
        source: "idp",
        tenant: "acme",
        idp,
        at: now,
        assurance: { aal: 2, phishingResistant: false },
      }) as const;
    const totp = { method: "totp", source: "platform", at: now } as const;
    const remember = () =>
      h.store.transaction(async ({ browserSessions }) => {
        for (const record of [
          session("alice", [federated("corp")]),
          session("bob", [totp, federated("corp")]),
          session("carol", [federated("partner")]),
          session("dave", [totp]),
        ]) {
          await browserSessions.put(record);
        }
      });
    const remaining = () =>
      h.store.read(async ({ browserSessions }) => {
        const found = await Promise.all(
          ["alice", "bob", "carol", "dave"].map((p) => browserSessions.get("acme", p, browserHash)),
        );
        return found.flatMap((record) => (record === undefined ? [] : [record.principal]));
      });
    const ended = async (type: string) =>
      (await h.app.audit.list(h.admin, "acme", { type }, {})).items.map(
        (e) => e.payload["sessionsEnded"],
      );

    await put(oidc());
    expect(await ended("idp.registered")).toEqual([0]);
    await remember();
    await put(saml(), 1);
    expect(await remaining()).toEqual(["carol", "dave"]);
    expect(await ended("idp.updated")).toEqual([2]);
    await remember();
    await h.app.idps.remove(admin, "acme", "corp");
    expect(await remaining()).toEqual(["carol", "dave"]);
    expect(await ended("idp.removed")).toEqual([2]);
  });

  it("needs If-Match to replace, and refuses a stale version", async () => {
    await put(saml());
    expect(await code(put(saml()))).toBe("idp.precondition_required");
    expect(await code(put(saml(), 3))).toBe("idp.version_conflict");
    const { idp: replaced, created } = await put(saml({ allowUnsolicited: true }), 1);
    expect({ created, version: replaced.version }).toEqual({ created: false, version: 2 });
    expect(await code(put(saml(), 1))).toBe("idp.version_conflict");
  });

  // Threat (ABA): an IdP removed and registered again restarted at version 1, so an `If-Match: 1`
  // kept from the removed registration replaced the new one unseen, and audit events citing
  // "corp version 1" named two registrations.
  it("continues an IdP's versions after removal: a version kept from before matches nothing", async () => {
    await put(saml());
    expect((await put(saml({ allowUnsolicited: true }), 1)).idp.version).toBe(2);
    await h.app.idps.remove(admin, "acme", "corp");
    for (const stale of [1, 2]) {
      await expect(put(saml(), stale)).rejects.toMatchObject({
        code: "idp.version_conflict",
        details: { currentVersion: 0 },
      });
    }
    const { idp: again, created } = await put(oidc());
    expect({ created, version: again.version, protocol: again.protocol }).toEqual({
      created: true,
      version: 3,
      protocol: "oidc",
    });
    for (const stale of [1, 2]) {
      await expect(put(saml(), stale)).rejects.toMatchObject({
        code: "idp.version_conflict",
        details: { currentVersion: 3 },
      });
    }
    expect(await h.app.idps.get(admin, "acme", "corp")).toMatchObject({ version: 3 });
    expect((await put(oidc({ clientSecret: "rotated" }), 3)).idp.version).toBe(4);
    const versions = async (type: string) =>
      (await h.app.audit.list(h.admin, "acme", { type }, {})).items
        .map((e) => e.payload["version"])
        .sort();
    expect(await versions("idp.registered")).toEqual([1, 3]);
    expect(await versions("idp.updated")).toEqual([2, 4]);
    expect(await versions("idp.removed")).toEqual([2]);
  });

  it("keeps a tenant administrator to its own tenant, and auditors to reading", async () => {
    expect(await code(put(saml(), undefined, "corp", admin, "globex"))).toBe("not_found");
    const auditor = await h.caller(["tenant_auditor"], ["acme"]);
    await put(saml());
    expect((await h.app.idps.get(auditor, "acme", "corp")).id).toBe("corp");
    expect(await code(put(saml(), 1, "corp", auditor))).toBe("auth.forbidden");
    expect(await code(h.app.idps.remove(auditor, "acme", "corp"))).toBe("auth.forbidden");
    const service = await h.caller(["platform_service"], ["acme"]);
    expect(await code(h.app.idps.list(service, "acme"))).toBe("auth.forbidden");
  });

  it("removes an IdP with an audit event; a second removal is not_found", async () => {
    await put(saml());
    await h.app.idps.remove(admin, "acme", "corp");
    expect(await code(h.app.idps.get(admin, "acme", "corp"))).toBe("not_found");
    expect(await code(h.app.idps.remove(admin, "acme", "corp"))).toBe("not_found");
    const audit = await h.app.audit.list(h.admin, "acme", { type: "idp.removed" }, {});
    expect(audit.items).toHaveLength(1);
  });

  it("refuses IdP ids that do not fit a URL segment", async () => {
    expect(await code(put(saml(), undefined, "Corp IdP"))).toBe("idp.invalid");
  });

  // Threat: a tenant administrator maps a password-only class as MFA (or generic MFA as
  // phishing-resistant), and the tenant's password sign-ins meet a platform mandate's MFA
  // requirement (DESIGN invariant 2). The mapping is refused, naming the value, and not stored.
  it.each([
    ["mfaContexts", "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"],
    ["phishingResistantContexts", "https://refeds.org/profile/mfa"],
    ["mfaAmr", "pwd"],
    ["phishingResistantAmr", "otp"],
  ])("refuses a mapping whose %s lists %s", async (list, value) => {
    const refused = put({ ...saml(), mapping: { [list]: [value] } });
    await expect(refused).rejects.toMatchObject({
      code: "idp.invalid",
      message: expect.stringContaining(`mapping.${list} lists "${value}"`),
    });
    await expect(h.app.idps.get(admin, "acme", "corp")).rejects.toMatchObject({
      code: "not_found",
    });
  });
});

describe("tenant return URLs", () => {
  let h: Harness;
  beforeEach(async () => {
    h = await openHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  it("are set at creation and replaced later, audited with before and after", async () => {
    const created = await h.app.tenants.create(h.admin, {
      id: "acme",
      name: "Acme",
      returnUrls: ["https://app.acme.example/signed-in"],
    });
    expect(created.returnUrls).toEqual(["https://app.acme.example/signed-in"]);
    const admin = await h.caller(["tenant_admin"], ["acme"]);
    const replaced = await h.app.tenants.setReturnUrls(admin, "acme", {
      returnUrls: ["https://new.acme.example/"],
    });
    expect(replaced.returnUrls).toEqual(["https://new.acme.example/"]);
    const audit = await h.app.audit.list(
      h.admin,
      "acme",
      { type: "tenant.return_urls_changed" },
      {},
    );
    expect(audit.items[0]?.payload).toEqual({
      before: ["https://app.acme.example/signed-in"],
      after: ["https://new.acme.example/"],
    });
  });

  it("refuses URLs that could redirect anywhere", async () => {
    await h.app.tenants.create(h.admin, { id: "acme", name: "Acme" });
    for (const url of [
      "http://app.acme.example/",
      "/relative",
      "https://u:p@a.example/",
      "javascript:alert(1)",
    ]) {
      expect(await code(h.app.tenants.setReturnUrls(h.admin, "acme", { returnUrls: [url] }))).toBe(
        "request.invalid",
      );
    }
  });
});
