// Threat: IdP metadata whose IDPSSODescriptor expired (SAML Metadata §2.4.1) while its
// EntityDescriptor states no expiry is registered as current: the tenant would trust keys and
// endpoints whose publisher has withdrawn them, and sign-ins would never stop. The role's
// `validUntil` bounds the registration like the entity's.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { testIdp } from "../../verifiers/saml/test-support/scenario.js";
import type { Caller } from "../application.js";
import { AppError } from "../errors.js";
import { openHarness, type Harness } from "../test-support/harness.js";

describe("IdP registration: an expired IdP role in the metadata", () => {
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

  it("refuses it with idp.metadata_expired, naming the role's instant, and registers nothing", async () => {
    const metadataXml = testIdp()
      .metadataXml()
      .replace(/<IDPSSODescriptor /, '<IDPSSODescriptor validUntil="2001-01-01T00:00:00Z" ');
    const refused = await h.app.idps
      .put(admin, "acme", "corp", {
        registration: { protocol: "saml", saml: { metadataXml } },
        ifMatch: undefined,
      })
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(AppError);
    expect(refused).toMatchObject({
      code: "idp.metadata_expired",
      details: { validUntil: "2001-01-01T00:00:00.000Z" },
    });
    await expect(h.app.idps.get(admin, "acme", "corp")).rejects.toMatchObject({
      code: "not_found",
    });
  });
});
