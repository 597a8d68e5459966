// Threat: a proof withdrawn (the recovery codes revoked) between a check and the write it allows.
// A flow decided on it completes nothing: the withdrawal moved the flow to a new version, and the
// completion is of the flow as decided. A code whose exchange checked the flow before the
// withdrawal is refused when spent: the withdrawal is looked at again on the row being spent.
// Pinned where a mutation survey of src/app/flows found both checks unpinned (with either gone,
// the flow completed on the revoked code and handed out its code, or the token was issued).
import { afterEach, beforeEach, expect, it } from "vitest";
import type { Caller, FlowBrowser } from "../application.js";
import type { Store } from "../ports.js";
import { openingOf } from "../test-support/flow-opening.js";
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
  beforeNextTransaction = undefined;
});
afterEach(() => w.close());

/** Runs once, before the next transaction of the hooked instance begins. */
let beforeNextTransaction: (() => Promise<void>) | undefined;

/** The store of another instance of the application, running {@link beforeNextTransaction}. */
function hooked(): Store {
  const raw = w.h.store;
  return {
    ...raw,
    transaction: async (work) => {
      const hook = beforeNextTransaction;
      beforeNextTransaction = undefined;
      if (hook !== undefined) await hook();
      return raw.transaction(work);
    },
    read: (work) => raw.read(work),
  };
}

/**
 * An instance over the hooked store, and a flow of alice's on it where she has just verified a
 * recovery code: the screen the verification answered with.
 */
async function recoveryCodeVerified() {
  const app = w.h.application({ store: hooked(), random: new CountingRandom(500_000) });
  const { codes } = await w.h.app.recoveryCodes.generate(service, "acme", "alice");
  const started = await app.flows.create(service, "acme", {
    principal: { id: "alice" },
    verified: [{ method: "password", source: "platform", at: w.h.clock.now().toISOString() }],
    returnTo: RETURN,
  });
  const { flow } = started;
  const challenge = await app.flows.show("acme", flow, browser, { opening: openingOf(started) });
  const verified = await app.flows.act("acme", flow, browser, {
    kind: "verify_recovery_code",
    csrf: csrfOf(challenge),
    code: codes[0] ?? "",
  });
  return { app, flow, verified };
}

it("completes nothing when the proof it was decided on is withdrawn before the completion is written", async () => {
  const { app, flow, verified } = await recoveryCodeVerified();
  expect(verified.kind).toBe("redirect");
  // The flow page decides on the code; the administrator revokes the (leaked) codes just before
  // the completion is written.
  beforeNextTransaction = () => w.h.app.recoveryCodes.revoke(w.h.admin, "acme", "alice");
  const settled = await app.flows.show("acme", flow, browser);
  expect(beforeNextTransaction).toBeUndefined(); // the revocation ran
  // Not "flow.used": the flow is still pending, so the browser goes back to its page.
  expect(settled).toEqual({
    kind: "redirect",
    location: verified.kind === "redirect" ? verified.location : "",
  });
  expect(codeOf(settled)).toBeNull();
  // The flow asks again, on what is left.
  const again = await app.flows.show("acme", flow, browser);
  expect(again.kind).toBe("challenge");
  expect(codeOf(again)).toBeNull();
});

it("exchanges no code whose proof is withdrawn after the exchange checked the flow and before it spends the code", async () => {
  const { app, flow } = await recoveryCodeVerified();
  const code = codeOf(await app.flows.show("acme", flow, browser));
  if (code === null) throw new Error("the flow sent the browser back without a code");
  // The exchange reads the flow (nothing withdrawn yet); the codes are revoked before it spends.
  beforeNextTransaction = () => w.h.app.recoveryCodes.revoke(w.h.admin, "acme", "alice");
  await expect(app.flows.exchange(service, { code })).rejects.toMatchObject({
    code: "flow.code_invalid",
  });
  expect(beforeNextTransaction).toBeUndefined(); // the revocation ran
  const refused = await w.h.app.audit.list(
    w.h.admin,
    "acme",
    { type: "flow.exchange_refused" },
    {},
  );
  expect(refused.items.at(-1)?.payload).toMatchObject({ reason: "proofs_withdrawn" });
});
