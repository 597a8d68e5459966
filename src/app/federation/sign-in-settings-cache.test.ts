// Threat: a sign-in that asked for a tenant or an IdP before it existed kept "no such IdP", and
// the IdP registered just after was refused as not_found until the entry aged out. Creating a
// tenant announces no change, and another instance's notice of the registration may be lost:
// only not keeping the refusal lets the next sign-in find the IdP.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { generateTestKeyPair } from "../../verifiers/saml/test-support/certificate.js";
import type { Store } from "../ports.js";
import { openHarness, type Harness } from "../test-support/harness.js";
import { wrapRepositories } from "../test-support/wrapped-store.js";
import { SignInSettingsCache } from "./sign-in-settings-cache.js";

const idp = generateTestKeyPair("idp.newco.example");

let h: Harness;
let cache: SignInSettingsCache;

beforeEach(async () => {
  h = await openHarness();
  // An instance that hears no notice: only what the cache keeps decides what it serves.
  const deaf: Store = {
    ...wrapRepositories(h.store, (r) => r),
    onChange: () => () => undefined,
  };
  cache = new SignInSettingsCache(deaf, h.clock);
});
afterEach(async () => {
  cache.close();
  await h.close();
});

const settings = () => h.store.read((r) => cache.settings(r, "newco", "corp"));

describe("the sign-in settings cache", () => {
  it("finds a tenant and IdP created just after a sign-in found neither, the clock unmoved", async () => {
    expect(await settings()).toBeUndefined();
    await h.app.tenants.create(h.admin, { id: "newco", name: "Newco" });
    expect(await settings()).toBeUndefined();
    await h.app.idps.put(h.admin, "newco", "corp", {
      registration: {
        protocol: "saml",
        saml: {
          entityId: "https://idp.newco.example/metadata",
          ssoUrl: "https://idp.newco.example/sso",
          signingCertificates: [idp.certificateBase64],
        },
      },
      ifMatch: undefined,
    });
    expect((await settings())?.idp).toMatchObject({ tenant: "newco", id: "corp" });
  });
});
