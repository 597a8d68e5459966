import type { Caller, FlowBrowser } from "../application.js";
import type { FlowScreen } from "../flows/flow-screens.js";
import { openHarness, type Harness } from "./harness.js";
import { openWebAuthnWorld, type WebAuthnWorld } from "./webauthn-world.js";
import { replacePolicy } from "./replace-policy.js";
import { openingOf } from "./flow-opening.js";
import { rightCode, type EnrolledTotp } from "./totp-principals.js";
import type {
  Knobs,
  SoftAuthenticator,
} from "../../verifiers/webauthn/test-support/soft-authenticator.js";

/**
 * A WebAuthn world whose tenant `acme` holds `platform_mfa` and has `returnUrl` registered: where
 * the hosted-flow tests of authenticators and sessions start.
 */
export async function openPlatformMfaFlows(returnUrl: string): Promise<WebAuthnWorld> {
  const w = await openWebAuthnWorld();
  await w.h.app.tenants.setReturnUrls(w.h.admin, "acme", { returnUrls: [returnUrl] });
  await replacePolicy(w.h, "acme", { posture: "platform_mfa" });
  return w;
}

/**
 * A harness whose tenant `acme` holds `platform_mfa` with `returnUrl` registered, and a
 * `platform_service` caller of it: where the TOTP and recovery-code flow tests start.
 */
export async function openPlatformMfaTenant(
  returnUrl: string,
  options: Parameters<typeof openHarness>[0] = {},
): Promise<{ h: Harness; service: Caller }> {
  const h = await openHarness({ federation: { publicUrl: "https://mfa.test" }, ...options });
  await h.app.tenants.create(h.admin, { id: "acme", name: "Acme", returnUrls: [returnUrl] });
  await replacePolicy(h, "acme", { posture: "platform_mfa" });
  return { h, service: await h.caller(["platform_service"], ["acme"]) };
}

/**
 * A new flow of `principal` (alice by default) at acme, created by `service` after a password,
 * walked in `browser` with the TOTP authenticator `totp` to its end: the flow and its one-time
 * code.
 */
export async function completedTotpFlow(
  h: Harness,
  service: Caller,
  options: {
    readonly browser: FlowBrowser;
    readonly returnTo: string;
    readonly totp: EnrolledTotp;
    readonly principal?: string;
  },
): Promise<{ flow: string; code: string }> {
  const { browser, totp } = options;
  const started = await h.app.flows.create(service, "acme", {
    principal: { id: options.principal ?? "alice" },
    verified: [{ method: "password", source: "platform", at: h.clock.now().toISOString() }],
    returnTo: options.returnTo,
  });
  const challenge = await h.app.flows.show("acme", started.flow, browser, {
    opening: openingOf(started),
  });
  await h.app.flows.act("acme", started.flow, browser, {
    kind: "verify_totp",
    csrf: csrfOf(challenge),
    authenticator: totp.id,
    code: rightCode(h, totp),
  });
  const code = codeOf(await h.app.flows.show("acme", started.flow, browser));
  if (code === null) throw new Error("the flow sent the browser back without a code");
  return { flow: started.flow, code };
}

/** The CSRF token a flow screen's forms carry ("" on a screen without a frame). */
export const csrfOf = (screen: FlowScreen): string =>
  "frame" in screen ? screen.frame.csrfToken : "";

/** The one-time code a screen sends the browser back with, or null when it sends none. */
export const codeOf = (screen: FlowScreen): string | null =>
  screen.kind === "redirect" ? new URL(screen.location).searchParams.get("code") : null;

/**
 * Verifies `key` on a flow's challenge `screen` (its "verify_webauthn" option), the authenticator
 * answering with `knobs`; the screen the flow shows next.
 */
export async function verifyWebAuthnInFlow(
  h: Harness,
  flow: string,
  browser: FlowBrowser,
  screen: FlowScreen,
  key: SoftAuthenticator,
  knobs: Knobs = {},
): Promise<FlowScreen> {
  const begun = (await h.app.flows.webauthnOptions("acme", flow, browser, {
    csrf: csrfOf(screen),
    purpose: "authentication",
  })) as { ceremony: string; options: unknown };
  await h.app.flows.act("acme", flow, browser, {
    kind: "verify_webauthn",
    csrf: csrfOf(screen),
    ceremony: begun.ceremony,
    response: key.authenticate(begun.options, knobs),
  });
  return h.app.flows.show("acme", flow, browser);
}
