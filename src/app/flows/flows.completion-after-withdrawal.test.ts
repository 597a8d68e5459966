// Threat: a flow decided on a proof that is withdrawn (the recovery codes revoked) between the
// decision and the write that completes the flow. The completion must be of the flow as decided:
// the withdrawal moved it to a new version, and it completes nothing, so no code is issued on the
// withdrawn proof. Pinned where a mutation survey of src/app/flows found the version check
// unpinned (with it gone, the flow completed and its code was handed out).
import { afterEach, beforeEach, expect, it } from "vitest";
import type { Caller, FlowBrowser } from "../application.js";
import type { Store } from "../ports.js";
import { CountingRandom } from "../test-support/harness.js";
import { codeOf, csrfOf, openPlatformMfaFlows } from "../test-support/platform-mfa-flows.js";
import type { WebAuthnWorld } from "../test-support/webauthn-world.js";

const RETURN = "https://app.example/signed-in";
let w: WebAuthnWorld;
let service: Caller;
const browser: FlowBrowser = { cookie: "alice-browser-cookie-0123456789abcd" };

beforeEach(async () => {
  w = await openPlatformMfaFlows(RETURN);
  service = w.service.acme;
});
afterEach(() => w.close());

it("completes nothing when the proof it was decided on is withdrawn before the completion is written", async () => {
  const raw = w.h.store;
  /** Runs once, before the next transaction of the flow's instance begins. */
  let beforeNextTransaction: (() => Promise<void>) | undefined;
  const hooked: Store = {
    ...raw,
    transaction: async (work) => {
      const hook = beforeNextTransaction;
      beforeNextTransaction = undefined;
      if (hook !== undefined) await hook();
      return raw.transaction(work);
    },
    read: (work) => raw.read(work),
  };
  const app = w.h.application({ store: hooked, random: new CountingRandom(500_000) });
  const { codes } = await w.h.app.recoveryCodes.generate(service, "acme", "alice");
  const { flow } = await app.flows.create(service, "acme", {
    principal: { id: "alice" },
    verified: [{ method: "password", source: "platform", at: w.h.clock.now().toISOString() }],
    returnTo: RETURN,
  });
  const challenge = await app.flows.show("acme", flow, browser);
  const verified = await app.flows.act("acme", flow, browser, {
    kind: "verify_recovery_code",
    csrf: csrfOf(challenge),
    code: codes[0] ?? "",
  });
  expect(verified.kind).toBe("redirect");
  // The flow page decides on the code; the administrator revokes the (leaked) codes just before
  // the completion is written.
  beforeNextTransaction = () => w.h.app.recoveryCodes.revoke(w.h.admin, "acme", "alice");
  const settled = await app.flows.show("acme", flow, browser);
  expect(beforeNextTransaction).toBeUndefined(); // the revocation ran
  expect(codeOf(settled)).toBeNull();
  // The flow asks again, on what is left.
  const again = await app.flows.show("acme", flow, browser);
  expect(again.kind).toBe("challenge");
  expect(codeOf(again)).toBeNull();
});
