// Threat: a hardware key's proof outliving a clone signal of that key in a hosted flow. Under the
// tenant's `warn` clone policy an assertion whose counter did not grow is accepted, as a passkey
// that is not attested hardware; either copy may be the thief's, so what the key proved before
// the signal is no more hardware-bound than what it proves now. The decision API counts such an
// earlier proof as not attested (webauthn.clone-suspected-assurance.test.ts); a flow that needs
// AAL3 must not complete on it either, whether the flow itself holds it (verified, then the
// signal before the page settled the flow) or the browser's session lends it to a later flow. It
// asks for the key again, and the key's next verification whose counter grows completes it.
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from "jose";
import { afterEach, beforeAll, expect, it } from "vitest";
import type { FlowBrowser } from "../application.js";
import { AttestationVendor } from "../../verifiers/webauthn/test-support/attestation-ca.js";
import type { SoftAuthenticator } from "../../verifiers/webauthn/test-support/soft-authenticator.js";
import { describeOnEachStore } from "../test-support/each-store.js";
import { openingOf } from "../test-support/flow-opening.js";
import { codeOf, csrfOf, verifyWebAuthnInFlow } from "../test-support/platform-mfa-flows.js";
import { replacePolicy } from "../test-support/replace-policy.js";
import { openWebAuthnWorld, type WebAuthnWorld } from "../test-support/webauthn-world.js";
import type { FlowScreen } from "./flow-screens.js";

const MODEL = "cb69481e-8ff7-4039-93ec-0a2729a154a8";
const RETURN = "https://app.example/signed-in";
const browser: FlowBrowser = { cookie: "clone-signal-after-proof-browser-0123" };

let vendor: AttestationVendor;
beforeAll(async () => {
  vendor = await AttestationVendor.create("Keys Inc");
});

describeOnEachStore(
  "a hosted flow needing AAL3 after a clone signal of the key it proved",
  (url) => {
    let w: WebAuthnWorld;
    afterEach(() => w.close());

    /** The world, with alice's attested hardware key (its counter at 10); acme needs AAL3. */
    async function open(): Promise<SoftAuthenticator> {
      w = await openWebAuthnWorld({ attestationRoots: [vendor.rootPem], url: await url() });
      await w.h.app.tenants.setReturnUrls(w.h.admin, "acme", { returnUrls: [RETURN] });
      await w.configure({ signCountPolicy: "warn" });
      await replacePolicy(w.h, "acme", { posture: "phishing_resistant", require: { minAal: 3 } });
      const key = w.authenticator({
        aaguid: MODEL,
        attestation: await vendor.batch({ aaguid: MODEL }),
        initialSignCount: 10,
      });
      expect(await w.register(key, { name: "YubiKey" })).toMatchObject({ attested: true });
      return key;
    }

    /** A new flow of alice's after the platform's password check, and its first screen. */
    async function firstScreen(): Promise<{ flow: string; screen: FlowScreen }> {
      const started = await w.h.app.flows.create(w.service.acme, "acme", {
        principal: { id: "alice" },
        verified: [{ method: "password", source: "platform", at: w.h.clock.now().toISOString() }],
        returnTo: RETURN,
      });
      const screen = await w.h.app.flows.show("acme", started.flow, browser, {
        opening: openingOf(started),
      });
      return { flow: started.flow, screen };
    }

    /** A clone signal of `key`: a verification through the API whose counter did not grow. */
    async function cloneSignal(key: SoftAuthenticator): Promise<void> {
      const { warnings } = await w.authenticate(key, { knobs: { signCount: 4 } });
      expect(warnings?.map((x) => x.code)).toEqual(["webauthn.clone_suspected"]);
    }

    /** The claims of the token a flow's code exchanges for. */
    async function claimsOf(code: string | null) {
      const { token } = await w.h.app.flows.exchange(w.service.acme, { code: code ?? "" });
      const jwks = createLocalJWKSet((await w.h.app.assurance.jwks()) as unknown as JSONWebKeySet);
      return (await jwtVerify(token, jwks, { currentDate: w.h.clock.now() })).payload;
    }

    /**
     * Asks for the key again: a challenge offering it, no code, and the key's proof held shown
     * as proving nothing (the flow counts it for nothing, as it counts a withdrawn root's).
     */
    function asksForTheKeyAgain(screen: FlowScreen): void {
      expect(codeOf(screen)).toBeNull();
      expect(screen).toMatchObject({
        kind: "challenge",
        options: [{ kind: "verify_webauthn" }],
        proven: ["password"],
      });
    }

    it("does not complete on the key verified in the flow before the signal, and completes on its next verification whose counter grows", async () => {
      const key = await open();
      const { flow, screen } = await firstScreen();
      asksForTheKeyAgain(screen);
      // Verified in the flow as attested hardware (the counter grew); the browser is sent back to
      // the page, which settles the flow. The signal comes in between.
      const begun = (await w.h.app.flows.webauthnOptions("acme", flow, browser, {
        csrf: csrfOf(screen),
        purpose: "authentication",
      })) as { ceremony: string; options: unknown };
      const posted = await w.h.app.flows.act("acme", flow, browser, {
        kind: "verify_webauthn",
        csrf: csrfOf(screen),
        ceremony: begun.ceremony,
        response: key.authenticate(begun.options, { signCount: 11 }),
      });
      expect(posted.kind).toBe("redirect");
      await cloneSignal(key);

      const after = await w.h.app.flows.show("acme", flow, browser);
      asksForTheKeyAgain(after);
      const completed = await verifyWebAuthnInFlow(w.h, flow, browser, after, key, {
        signCount: 12,
      });
      const claims = await claimsOf(codeOf(completed));
      expect(claims).toMatchObject({ aal: 3 });
      expect(claims["amr"]).toContain("hwk");
    });

    it("does not complete a later flow on the key the browser's session remembers from before the signal", async () => {
      const key = await open();
      const first = await firstScreen();
      const done = await verifyWebAuthnInFlow(w.h, first.flow, browser, first.screen, key, {
        signCount: 11,
      });
      expect(await claimsOf(codeOf(done))).toMatchObject({ aal: 3 });
      w.h.clock.advance(60);
      await cloneSignal(key);

      const { flow, screen } = await firstScreen();
      asksForTheKeyAgain(screen);
      const completed = await verifyWebAuthnInFlow(w.h, flow, browser, screen, key, {
        signCount: 12,
      });
      expect(await claimsOf(codeOf(completed))).toMatchObject({ aal: 3 });
    });

    it("completes a later flow on the remembered key while no signal stands", async () => {
      const key = await open();
      const first = await firstScreen();
      const done = await verifyWebAuthnInFlow(w.h, first.flow, browser, first.screen, key, {
        signCount: 11,
      });
      expect(codeOf(done)).not.toBeNull();
      w.h.clock.advance(60);
      const { screen } = await firstScreen();
      expect(await claimsOf(codeOf(screen))).toMatchObject({ aal: 3 });
    });
  },
);
