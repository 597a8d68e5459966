import type { FlowScreen } from "../flows/flow-screens.js";
import { openWebAuthnWorld, type WebAuthnWorld } from "./webauthn-world.js";
import { replacePolicy } from "./replace-policy.js";

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

/** The CSRF token a flow screen's forms carry ("" on a screen without a frame). */
export const csrfOf = (screen: FlowScreen): string =>
  "frame" in screen ? screen.frame.csrfToken : "";

/** The one-time code a screen sends the browser back with, or null when it sends none. */
export const codeOf = (screen: FlowScreen): string | null =>
  screen.kind === "redirect" ? new URL(screen.location).searchParams.get("code") : null;
