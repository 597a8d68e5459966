// Threat: a recovery code checked just before the codes are revoked reached the flow after the
// revocation had reset it (the event was added in a transaction of its own, whatever had
// happened since), so the flow completed with the revoked proof and issued a code. The flow now
// counts withdrawals, and an event whose verification began before the latest adds nothing.
import { afterEach, beforeEach, expect, it } from "vitest";
import type { Caller, FlowBrowser } from "../application.js";
import type { Repositories, Store } from "../ports.js";
import { openingOf } from "../test-support/flow-opening.js";
import { CountingRandom } from "../test-support/harness.js";
import { codeOf, csrfOf, openPlatformMfaFlows } from "../test-support/platform-mfa-flows.js";
import type { WebAuthnWorld } from "../test-support/webauthn-world.js";

const RETURN = "https://app.example/signed-in";
let w: WebAuthnWorld;
let service: Caller;
const attacker: FlowBrowser = { cookie: "attacker-browser-cookie-0123456789" };

beforeEach(async () => {
  w = await openPlatformMfaFlows(RETURN);
  service = w.service.acme;
});
afterEach(() => w.close());

it("completes nothing with a code revoked between its check and its arrival in the flow", async () => {
  const raw = w.h.store;
  let afterUse: (() => Promise<void>) | undefined;
  const hooked: Store = {
    ...raw,
    transaction: async (work) => {
      let used = false;
      const result = await raw.transaction((r) =>
        work(
          new Proxy(r, {
            get(target, key) {
              const value = target[key as keyof Repositories];
              if (key !== "recoveryCodes") return value;
              const codes = value as Repositories["recoveryCodes"];
              return {
                ...codes,
                use: async (...args: Parameters<typeof codes.use>) => {
                  used = true;
                  return codes.use(...args);
                },
              };
            },
          }),
        ),
      );
      const hook = afterUse;
      if (used && hook !== undefined) {
        afterUse = undefined;
        await hook();
      }
      return result;
    },
    read: (work) => raw.read(work),
  };
  const app = w.h.application({ store: hooked, random: new CountingRandom(500_000) });
  const { codes } = await w.h.app.recoveryCodes.generate(service, "acme", "alice");
  const started = await app.flows.create(service, "acme", {
    principal: { id: "alice" },
    verified: [{ method: "password", source: "platform", at: w.h.clock.now().toISOString() }],
    returnTo: RETURN,
  });
  const { flow } = started;
  const challenge = await app.flows.show("acme", flow, attacker, { opening: openingOf(started) });
  // The administrator revokes the (leaked) codes between the code's check and its arrival in the flow.
  afterUse = async () => {
    await w.h.app.recoveryCodes.revoke(w.h.admin, "acme", "alice");
  };
  await app.flows.act("acme", flow, attacker, {
    kind: "verify_recovery_code",
    csrf: csrfOf(challenge),
    code: codes[0] ?? "",
  });
  expect(afterUse).toBeUndefined(); // the revocation ran
  // The revoked code counts for nothing; the flow asks again.
  const again = await app.flows.show("acme", flow, attacker);
  expect(again.kind).toBe("challenge");
  expect(codeOf(again)).toBeNull();
});
