import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { FlowBrowser } from "../application.js";
import { auditEventsOf } from "../test-support/audit-events.js";
import { openingOf } from "../test-support/flow-opening.js";
import { provedMfaJustNow } from "../test-support/fresh-mfa.js";
import { codeOf, csrfOf, openPlatformMfaFlows } from "../test-support/platform-mfa-flows.js";
import type { WebAuthnWorld } from "../test-support/webauthn-world.js";

const RETURN = "https://app.example/signed-in";

// Threat (audit evidence): a sign-in let through on what a browser session remembered, whose
// receipt and `flow.completed` event say the flow proved it itself. Two tabs of one browser each
// hold a phishing-resistant step-up flow for alice; in the first she enters a recovery code (not
// enough), in the second she uses her passkey, which completes it and is remembered. Back in the
// first tab, the remembered passkey completes that flow too: its decision reused the session, so
// the receipt must say so (`inputSummary.flow.reusedSession`), as it does when the flow itself
// proved nothing. It said so only when the flow held no event of its own.
describe("a flow completed on a browser session's evidence beside its own", () => {
  let w: WebAuthnWorld;
  const browser: FlowBrowser = { cookie: "two-tabs-browser-cookie-0123456789ab" };

  beforeEach(async () => {
    w = await openPlatformMfaFlows(RETURN);
  });
  afterEach(() => w.close());

  const stepUp = () =>
    w.h.app.flows.create(w.service.acme, "acme", {
      principal: { id: "alice" },
      verified: [{ method: "password", source: "platform", at: w.h.clock.now().toISOString() }],
      returnTo: RETURN,
      stepUp: { phishingResistant: true },
    });

  it("says in the receipt and the audit that the session's passkey was reused", async () => {
    const passkey = w.authenticator();
    await w.register(passkey);
    await provedMfaJustNow(w.h, "acme", "alice");
    const { codes } = await w.h.app.recoveryCodes.generate(w.service.acme, "acme", "alice");
    w.h.clock.advance(60);

    // The first tab: a recovery code, which a phishing-resistant step-up does not accept.
    const first = await stepUp();
    const firstPage = await w.h.app.flows.show("acme", first.flow, browser, {
      opening: openingOf(first),
    });
    await w.h.app.flows.act("acme", first.flow, browser, {
      kind: "verify_recovery_code",
      csrf: csrfOf(firstPage),
      code: codes[0] ?? "",
    });
    expect(await w.h.app.flows.show("acme", first.flow, browser)).toMatchObject({
      kind: "challenge",
    });

    // The second tab: the passkey completes its flow, and the browser remembers it.
    const second = await stepUp();
    const secondPage = await w.h.app.flows.show("acme", second.flow, browser, {
      opening: openingOf(second),
    });
    const begun = (await w.h.app.flows.webauthnOptions("acme", second.flow, browser, {
      csrf: csrfOf(secondPage),
      purpose: "authentication",
    })) as { ceremony: string; options: unknown };
    await w.h.app.flows.act("acme", second.flow, browser, {
      kind: "verify_webauthn",
      csrf: csrfOf(secondPage),
      ceremony: begun.ceremony,
      response: passkey.authenticate(begun.options),
    });
    expect(codeOf(await w.h.app.flows.show("acme", second.flow, browser))).not.toBeNull();

    // Back in the first tab: the remembered passkey completes it.
    const code = codeOf(await w.h.app.flows.show("acme", first.flow, browser));
    expect(code).not.toBeNull();
    const exchanged = await w.h.app.flows.exchange(w.service.acme, { code: code ?? "" });
    const receipt = await w.h.app.decisions.receipt(w.h.admin, exchanged.decision);
    expect(receipt.decision.satisfiedBy?.events.map((e) => e.method)).toContain("webauthn");
    expect(receipt.inputSummary["flow"]).toEqual({
      id: first.flow,
      reusedSession: expect.stringMatching(/^ses_/),
    });
    const completed = await auditEventsOf(w.h, "acme", (e) =>
      e.type === "flow.completed" && e.payload["flow"] === first.flow
        ? String(e.payload["reusedSession"])
        : undefined,
    );
    expect(completed).toEqual([
      (receipt.inputSummary["flow"] as { reusedSession: string }).reusedSession,
    ]);
  });
});
