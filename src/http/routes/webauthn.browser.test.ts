// WebAuthn against a real authenticator: Debian's Chromium and its DevTools virtual CTAP 2.1
// authenticator, driven by Playwright, running @simplewebauthn/browser on a loopback origin whose
// RP id is the tenant's own (`acme.localhost`). The server is reached through its HTTP API, as the
// platform's backend would reach it. Threats: an assertion without user verification counted as
// MFA, a cloned authenticator (its counter goes back), a forged signature, a silent change of
// backup eligibility, a key taken for hardware that no attestation proved. The server trusts the
// virtual authenticator's attestation root, as an operator would list a vendor's.
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, beforeEach, afterEach, describe, expect, it } from "vitest";
import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
} from "@simplewebauthn/server";
import { openCeremonyPage, type CeremonyPage } from "../test-support/chromium/ceremony-page.js";
import { browserSuiteSkip, launchChromium } from "../test-support/chromium/launch-chromium.js";
import {
  addVirtualAuthenticator,
  VIRTUAL_AUTHENTICATOR_AAGUID,
  VIRTUAL_AUTHENTICATOR_ATTESTATION_ROOT,
  type VirtualAuthenticator,
} from "../test-support/chromium/virtual-authenticator.js";
import {
  createWebAuthnProtocol,
  startVerificationThreads,
} from "../../verifiers/webauthn/index.js";
import { openTestServer, type TestServer } from "../test-support/open-test-server.js";

const suite = browserSuiteSkip("WebAuthn with Chromium's virtual authenticator");

(suite.skip ? describe.skip : describe)(suite.title, () => {
  let browser: Browser;
  let t: TestServer;
  let service: string;
  let ceremony: CeremonyPage;
  let authenticator: VirtualAuthenticator;
  let principal = "";
  let people = 0;
  const threads = startVerificationThreads({ threads: 1 });
  const base = () => `/v1/tenants/acme/principals/${principal}/authenticators/webauthn`;

  beforeAll(async () => {
    browser = await launchChromium();
    t = await openTestServer({
      webauthn: {
        // Assertions are checked on a worker thread, as `serve` checks them.
        protocol: createWebAuthnProtocol({
          attestationRoots: [VIRTUAL_AUTHENTICATOR_ATTESTATION_ROOT],
          verificationThreads: threads,
        }),
        publicUrl: "https://mfa.test",
      },
    });
    await t.call("POST", "/v1/tenants", { key: t.adminKey, body: { id: "acme", name: "Acme" } });
    const version = (await t.call("GET", "/v1/tenants/acme/policy", { key: t.adminKey })).headers
      .etag;
    await t.call("PUT", "/v1/tenants/acme/policy", {
      key: t.adminKey,
      headers: { "if-match": String(version) },
      body: { policy: { posture: "phishing_resistant" }, rationale: "Passkeys only" },
    });
    service = await t.key(["platform_service"], ["acme"]);
  });
  afterAll(async () => {
    await t?.close();
    await threads.close();
    await browser?.close();
  });

  // A fresh tab, authenticator and principal for every test.
  beforeEach(async () => {
    people += 1;
    principal = `person-${String(people)}`;
    await t.call("PUT", `/v1/tenants/acme/principals/${principal}`, {
      key: t.adminKey,
      body: { population: "direct" },
    });
    ceremony = await openCeremonyPage(browser, "acme.localhost");
    authenticator = await addVirtualAuthenticator(ceremony.page);
    const settings = await t.call("PUT", "/v1/tenants/acme/webauthn", {
      key: t.adminKey,
      body: { rpId: "acme.localhost", origins: [ceremony.origin] },
    });
    expect(settings.statusCode, settings.body).toBe(200);
  });
  afterEach(async () => {
    await ceremony.close();
  });

  async function register(name = "laptop") {
    const begun = await t.call("POST", `${base()}/registrations`, { key: service });
    expect(begun.statusCode, begun.body).toBe(201);
    const { registration, options } = begun.json<{
      registration: string;
      options: PublicKeyCredentialCreationOptionsJSON;
    }>();
    const response = await ceremony.register(options);
    const finished = await t.call("POST", `${base()}/registrations/${registration}`, {
      key: service,
      body: { response, name },
    });
    expect(finished.statusCode, finished.body).toBe(201);
    return finished.json<{
      id: string;
      credentialId: string;
      backupEligible: boolean;
      attested: boolean;
    }>();
  }

  /** Runs an authentication ceremony in the browser and sends its response to the server. */
  async function authenticate(edit?: (response: AuthenticationResponseJSON) => void) {
    const begun = await t.call("POST", `${base()}/authentications`, { key: service });
    expect(begun.statusCode, begun.body).toBe(201);
    const { authentication, options } = begun.json<{
      authentication: string;
      options: PublicKeyCredentialRequestOptionsJSON;
    }>();
    const response = await ceremony.authenticate(options);
    edit?.(response);
    return t.call("POST", `${base()}/authentications/${authentication}`, {
      key: service,
      body: { response },
    });
  }

  const decide = (event: unknown) =>
    t.call("POST", "/v1/tenants/acme/decisions", {
      key: service,
      body: {
        principal: { id: principal, population: "direct" },
        evidence: {
          events: [
            { method: "password", source: "platform", at: t.clock.now().toISOString() },
            event,
          ],
        },
      },
    });

  it("registers a passkey, signs in with it, and the event lets a phishing-resistant sign-in through", async () => {
    const credential = await register();
    // Attestation `none` (the default): nothing proves the key is hardware.
    expect(credential).toMatchObject({ backupEligible: false, attested: false });
    const [stored] = await authenticator.credentials();
    expect(stored?.rpId).toBe("acme.localhost");

    const verified = await authenticate();
    expect(verified.statusCode, verified.body).toBe(200);
    const { event } = verified.json<{
      event: { userVerified: boolean; backupEligible: boolean };
    }>();
    expect(event).toMatchObject({ method: "webauthn", userVerified: true, backupEligible: false });

    const decision = await decide(event);
    expect(decision.json()).toMatchObject({
      outcome: "allow",
      satisfiedBy: { aal: 2, phishingResistant: true },
    });
  });

  it("verifies a security key's attestation when the tenant asks for it, and its sign-in reaches AAL3", async () => {
    await authenticator.remove();
    authenticator = await addVirtualAuthenticator(ceremony.page, { transport: "usb" });
    const settings = await t.call("PUT", "/v1/tenants/acme/webauthn", {
      key: t.adminKey,
      body: {
        rpId: "acme.localhost",
        origins: [ceremony.origin],
        attestation: "direct",
      },
    });
    expect(settings.statusCode, settings.body).toBe(200);
    const credential = await register("security key");
    expect(credential).toMatchObject({
      attested: true,
      aaguid: VIRTUAL_AUTHENTICATOR_AAGUID,
      backupEligible: false,
    });
    const verified = await authenticate();
    expect(verified.statusCode, verified.body).toBe(200);
    const { event } = verified.json<{ event: { attested: boolean } }>();
    expect(event.attested).toBe(true);
    expect((await decide(event)).json()).toMatchObject({
      outcome: "allow",
      satisfiedBy: { aal: 3, phishingResistant: true },
    });
  });

  // Its batch certificate names no model (no AAGUID extension): the root vouches for hardware of
  // its maker, not for the model the key reports, so a list of models cannot admit it.
  it("refuses the same attested key where the tenant lists models, even its own", async () => {
    const settings = await t.call("PUT", "/v1/tenants/acme/webauthn", {
      key: t.adminKey,
      body: {
        rpId: "acme.localhost",
        origins: [ceremony.origin],
        aaguids: [VIRTUAL_AUTHENTICATOR_AAGUID],
      },
    });
    expect(settings.statusCode, settings.body).toBe(200);
    const begun = await t.call("POST", `${base()}/registrations`, { key: service });
    const { registration, options } = begun.json<{
      registration: string;
      options: PublicKeyCredentialCreationOptionsJSON;
    }>();
    expect(options.attestation).toBe("direct");
    const response = await ceremony.register(options);
    const refused = await t.call("POST", `${base()}/registrations/${registration}`, {
      key: service,
      body: { response, name: "key" },
    });
    expect([refused.statusCode, refused.json<{ code: string }>().code]).toEqual([
      422,
      "webauthn.attestation_untrusted",
    ]);
  });

  it("fails in the browser when user verification is required and the user is not verified", async () => {
    await register();
    await authenticator.setUserVerified(false);
    await expect(authenticate()).rejects.toThrow(/NotAllowedError|not allowed|timed out/i);
  });

  it("refuses an assertion whose authenticator data says the user was not verified", async () => {
    await register();
    await authenticator.setResponseOverrideBits({ isBadUV: true });
    const refused = await authenticate();
    expect([refused.statusCode, refused.json<{ code: string }>().code]).toEqual([
      422,
      "webauthn.user_not_verified",
    ]);
  });

  it("refuses an assertion without user presence, and one with a forged signature", async () => {
    await register();
    await authenticator.setResponseOverrideBits({ isBadUP: true });
    const absent = await authenticate();
    expect(absent.json<{ code: string }>().code).toBe("webauthn.user_not_present");

    await authenticator.setResponseOverrideBits({ isBogusSignature: true });
    const forged = await authenticate();
    expect([forged.statusCode, forged.json<{ code: string }>().code]).toEqual([
      422,
      "webauthn.bad_signature",
    ]);
  });

  it("flags a cloned credential whose signature counter went back, and refuses it", async () => {
    await register();
    for (let n = 0; n < 3; n += 1) expect((await authenticate()).statusCode).toBe(200);
    const [original] = await authenticator.credentials();
    if (original === undefined) throw new Error("the authenticator holds no credential");
    expect(original.signCount).toBeGreaterThanOrEqual(3);

    // The clone: the same key, with a counter from before the last uses.
    await authenticator.removeCredential(original.credentialId);
    await authenticator.addCredential({ ...original, signCount: 1 });
    const cloned = await authenticate();
    expect([cloned.statusCode, cloned.json<{ code: string }>().code]).toEqual([
      422,
      "webauthn.clone_detected",
    ]);
    const audit = await t.call("GET", "/v1/tenants/acme/audit?type=webauthn.clone_detected", {
      key: t.adminKey,
    });
    expect(audit.json<{ items: unknown[] }>().items.length).toBeGreaterThan(0);
  });

  it("locks a cloned credential under the `lock` policy: the original is refused too until an administrator unlocks", async () => {
    const settings = await t.call("PUT", "/v1/tenants/acme/webauthn", {
      key: t.adminKey,
      body: { rpId: "acme.localhost", origins: [ceremony.origin], signCountPolicy: "lock" },
    });
    expect(settings.statusCode, settings.body).toBe(200);
    await register();
    for (let n = 0; n < 3; n += 1) expect((await authenticate()).statusCode).toBe(200);
    const [original] = await authenticator.credentials();
    if (original === undefined) throw new Error("the authenticator holds no credential");

    await authenticator.removeCredential(original.credentialId);
    await authenticator.addCredential({ ...original, signCount: 1 });
    const cloned = await authenticate();
    expect([cloned.statusCode, cloned.json<{ code: string }>().code]).toEqual([
      422,
      "webauthn.clone_detected",
    ]);
    // The original, its counter ahead of the stored one, is locked out as well.
    await authenticator.removeCredential(original.credentialId);
    await authenticator.addCredential({ ...original, signCount: original.signCount + 10 });
    const again = await authenticate();
    expect([again.statusCode, again.json<{ code: string }>().code]).toEqual([
      423,
      "webauthn.locked",
    ]);
    const unlocked = await t.call(
      "POST",
      `/v1/tenants/acme/principals/${principal}/authenticators/unlock`,
      { key: t.adminKey, body: { reason: "the key was checked" } },
    );
    expect(unlocked.statusCode, unlocked.body).toBe(200);
    expect((await authenticate()).statusCode).toBe(200);
  });

  it("refuses a credential whose backup eligibility changed since registration", async () => {
    await register();
    const [credential] = await authenticator.credentials();
    if (credential === undefined) throw new Error("the authenticator holds no credential");
    await authenticator.setCredentialProperties(credential.credentialId, {
      backupEligibility: true,
      backupState: true,
    });
    const flipped = await authenticate();
    expect(flipped.json<{ code: string }>().code).toBe("webauthn.backup_eligibility_changed");
  });

  it("counts a synced passkey (backup eligible) as AAL2, never AAL3", async () => {
    await authenticator.remove();
    authenticator = await addVirtualAuthenticator(ceremony.page, {
      backupEligible: true,
      backupState: true,
    });
    const credential = await register("synced");
    expect(credential.backupEligible).toBe(true);
    const verified = await authenticate();
    expect(verified.statusCode, verified.body).toBe(200);
    const { event } = verified.json<{ event: { backupEligible: boolean } }>();
    expect(event.backupEligible).toBe(true);
    expect((await decide(event)).json()).toMatchObject({
      outcome: "allow",
      satisfiedBy: { aal: 2, phishingResistant: true },
    });
  });
});
