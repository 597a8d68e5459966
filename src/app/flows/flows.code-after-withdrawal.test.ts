// Threat: a stolen authenticator's sign-in outliving its removal. An attacker finishes a hosted
// flow with a stolen TOTP device, and the administrator removes the device seconds later: the
// removal ends the browser session the sign-in kept and resets the principal's open flows, but
// the completed flow's code, not yet exchanged, still turned into an assurance token vouching for
// the removed device. The removal now withdraws that code (`proofs_withdrawn`); a code exchanged
// before the removal was due, and stays exchanged.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Caller, FlowBrowser } from "../application.js";
import { exchangeEventName, auditEventsOf } from "../test-support/audit-events.js";
import { openingOf } from "../test-support/flow-opening.js";
import type { Harness } from "../test-support/harness.js";
import { codeOf, csrfOf, openPlatformMfaTenant } from "../test-support/platform-mfa-flows.js";
import { enrolTotp, rightCode, type EnrolledTotp } from "../test-support/totp-principals.js";

const RETURN = "https://app.acme.example/signed-in";

describe("a completed flow's code after the authenticator that proved it is removed", () => {
  let h: Harness;
  let service: Caller;
  let stolen: EnrolledTotp;
  const browser: FlowBrowser = { cookie: "code-after-withdrawal-browser-cookie" };

  beforeEach(async () => {
    ({ h, service } = await openPlatformMfaTenant(RETURN));
    // A spare first, so that the stolen one is not the last method and can be removed.
    await enrolTotp(h, service, "acme", "alice");
    h.clock.advance(60);
    stolen = await enrolTotp(h, service, "acme", "alice");
    h.clock.advance(60);
  });
  afterEach(() => h.close());

  /** A flow completed with the stolen device; its one-time code. */
  async function signedInWithStolen(): Promise<string> {
    const started = await h.app.flows.create(service, "acme", {
      principal: { id: "alice" },
      verified: [{ method: "password", source: "platform", at: h.clock.now().toISOString() }],
      returnTo: RETURN,
    });
    const { flow } = started;
    const challenge = await h.app.flows.show("acme", flow, browser, {
      opening: openingOf(started),
    });
    await h.app.flows.act("acme", flow, browser, {
      kind: "verify_totp",
      csrf: csrfOf(challenge),
      authenticator: stolen.id,
      code: rightCode(h, stolen),
    });
    const code = codeOf(await h.app.flows.show("acme", flow, browser));
    if (code === null) throw new Error("the flow sent the browser back without a code");
    return code;
  }

  const removeStolen = async () => {
    h.clock.advance(5);
    await h.app.authenticators.remove(h.admin, "acme", "alice", stolen.id);
  };

  it("refuses the code once the authenticator that proved the sign-in is removed, audited", async () => {
    const code = await signedInWithStolen();
    await removeStolen();
    const removed = await h.app.audit.list(h.admin, "acme", { type: "authenticator.removed" }, {});
    expect(removed.items.at(-1)?.payload).toMatchObject({
      sessionsEnded: 1,
      flowsReset: 0,
      codesWithdrawn: 1,
    });
    await expect(h.app.flows.exchange(service, { code })).rejects.toMatchObject({
      code: "flow.code_invalid",
    });
    expect(await auditEventsOf(h, "acme", exchangeEventName)).toEqual([
      "flow.exchange_refused:proofs_withdrawn",
    ]);
  });

  it("leaves a code exchanged before the removal exchanged, and withdraws nothing of it", async () => {
    const code = await signedInWithStolen();
    const token = await h.app.flows.exchange(service, { code });
    expect(token.principal).toBe("alice");
    await removeStolen();
    const removed = await h.app.audit.list(h.admin, "acme", { type: "authenticator.removed" }, {});
    expect(removed.items.at(-1)?.payload).toMatchObject({ codesWithdrawn: 0 });
    expect(await auditEventsOf(h, "acme", exchangeEventName)).toEqual(["flow.exchanged"]);
  });
});
