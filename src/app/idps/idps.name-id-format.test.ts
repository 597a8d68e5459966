/**
 * The NameID Format a SAML registration asks its IdP for (`saml.nameIdFormat`): named by a short
 * name or a full URI, stored as the URI, shown and audited, since it decides what names the user.
 * A Format whose every answer the verifier would refuse as the subject, or that this SP cannot
 * receive, is refused at registration rather than at every sign-in.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { generateTestKeyPair } from "../../verifiers/saml/test-support/certificate.js";
import type { Caller, IdpRegistration } from "../application.js";
import { openHarness, type Harness } from "../test-support/harness.js";

const key = generateTestKeyPair("idp.acme.example");
const FORMAT_2 = "urn:oasis:names:tc:SAML:2.0:nameid-format:";
const PERSISTENT = `${FORMAT_2}persistent`;
const EMAIL = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";
const UNSPECIFIED = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified";

const saml = (overrides: Partial<NonNullable<IdpRegistration["saml"]>> = {}): IdpRegistration => ({
  protocol: "saml",
  saml: {
    entityId: "https://idp.acme.example/metadata",
    ssoUrl: "https://idp.acme.example/sso",
    signingCertificates: [key.certificateBase64],
    ...overrides,
  },
});

describe("a SAML registration's nameIdFormat", () => {
  let h: Harness;
  let admin: Caller;

  beforeEach(async () => {
    h = await openHarness();
    await h.app.tenants.create(h.admin, { id: "acme", name: "Acme" });
    admin = await h.caller(["tenant_admin"], ["acme"]);
  });
  afterEach(async () => {
    await h.close();
  });

  const put = (registration: IdpRegistration, ifMatch?: number) =>
    h.app.idps.put(admin, "acme", "corp", { registration, ifMatch });

  it("is absent unless given: no Format is asked, as before", async () => {
    const { idp } = await put(saml());
    expect(idp.protocol === "saml" && "nameIdFormat" in idp.saml).toBe(false);
    expect(idp.protocol).toBe("saml");
  });

  it.each([
    ["persistent", PERSISTENT],
    ["emailAddress", EMAIL],
    ["unspecified", UNSPECIFIED],
    [PERSISTENT, PERSISTENT],
    ["urn:example:nameid:employee", "urn:example:nameid:employee"],
    ["https://idp.acme.example/nameid/staff", "https://idp.acme.example/nameid/staff"],
  ])("stores %s as %s, shown and kept in the store", async (given, stored) => {
    const { idp } = await put(saml({ nameIdFormat: given }));
    expect(idp.protocol === "saml" && idp.saml.nameIdFormat).toBe(stored);
    const record = await h.store.read(({ idps }) => idps.get("acme", "corp"));
    expect(record?.protocol === "saml" && record.saml.nameIdFormat).toBe(stored);
  });

  it("takes transient only with a subjectAttribute, when the NameID names no one", async () => {
    const { idp } = await put(
      saml({ nameIdFormat: `${FORMAT_2}transient`, subjectAttribute: "uid" }),
    );
    expect(idp.protocol === "saml" && idp.saml.nameIdFormat).toBe(`${FORMAT_2}transient`);
  });

  it.each([
    ["a short name it does not know", "email", /persistent.*emailAddress.*unspecified.*full URI/],
    ["a short name in another case", "Persistent", /full URI/],
    ["a URI with whitespace", "urn:example: x", /without whitespace/],
    ["a URI of over 1024 characters", `urn:example:${"x".repeat(1024)}`, /1024/],
    ["an empty value", "", /full URI/],
    ["a control character", "urn:example:\u0001", /full URI/],
    ["transient without a subjectAttribute", `${FORMAT_2}transient`, /subjectAttribute/],
    ["encrypted (an EncryptedID this SP cannot read)", `${FORMAT_2}encrypted`, /decrypt/],
    ["entity (a provider, not a user)", `${FORMAT_2}entity`, /provider/],
    ["the SAML 2.0 unspecified URI SAML does not define", `${FORMAT_2}unspecified`, /1\.1/],
  ])("refuses %s as idp.invalid, storing nothing", async (_, nameIdFormat, message) => {
    const refused = await put(saml({ nameIdFormat })).catch((error: unknown) => error);
    expect(refused).toMatchObject({ code: "idp.invalid", message });
    expect(await h.store.read(({ idps }) => idps.get("acme", "corp"))).toBeUndefined();
  });

  it("refuses encrypted and entity even with a subjectAttribute", async () => {
    for (const format of ["encrypted", "entity"]) {
      const refused = await put(
        saml({ nameIdFormat: `${FORMAT_2}${format}`, subjectAttribute: "uid" }),
      ).catch((error: unknown) => error);
      expect(refused).toMatchObject({ code: "idp.invalid" });
    }
  });

  it("is audited with the registration: the Format asked, null for none", async () => {
    await put(saml());
    await put(saml({ nameIdFormat: "persistent" }), 1);
    const events = (await h.app.audit.list(h.admin, "acme", {}, {})).items.filter((e) =>
      e.type.startsWith("idp."),
    );
    expect(events.map((e) => [e.type, e.payload["nameIdFormat"]])).toEqual([
      ["idp.registered", null],
      ["idp.updated", PERSISTENT],
    ]);
  });

  it("is dropped by a replacement that omits it", async () => {
    await put(saml({ nameIdFormat: "persistent" }));
    const { idp } = await put(saml(), 1);
    expect(idp.protocol === "saml" && "nameIdFormat" in idp.saml).toBe(false);
    expect(idp.protocol).toBe("saml");
  });
});
