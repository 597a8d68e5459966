/**
 * Threat: a browser that signed in with a leaked recovery code keeps earning flow codes and AAL2
 * assurance tokens from its remembered session for hours after the codes were revoked or
 * replaced. What a browser proved is remembered for later flows; revoking the principal's
 * recovery codes ("codes that may have leaked must go at once"), or generating a set that
 * replaces them, ends that reuse, as removing an authenticator does; a flow still open forgets
 * a code verified in it before the revocation.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Caller, FlowBrowser, FlowStart } from "../application.js";
import { openingOf } from "../test-support/flow-opening.js";
import { provedMfaJustNow } from "../test-support/fresh-mfa.js";
import { codeOf, csrfOf, openPlatformMfaFlows } from "../test-support/platform-mfa-flows.js";
import type { WebAuthnWorld } from "../test-support/webauthn-world.js";

const RETURN = "https://app.example/signed-in";

describe("browser sessions after the recovery codes they used are revoked or replaced", () => {
  let w: WebAuthnWorld;
  let service: Caller;
  const attacker: FlowBrowser = { cookie: "attacker-browser-cookie-0123456789" };

  beforeEach(async () => {
    w = await openPlatformMfaFlows(RETURN);
    service = w.service.acme;
  });
  afterEach(() => w.close());

  const at = () => w.h.clock.now().toISOString();
  const create = () =>
    w.h.app.flows.create(service, "acme", {
      principal: { id: "alice" },
      verified: [{ method: "password", source: "platform", at: at() }],
      returnTo: RETURN,
    });

  /** A visit of the attacker's browser to a created flow, with the opening secret its URL carries. */
  const open = (started: FlowStart) =>
    w.h.app.flows.show("acme", started.flow, attacker, { opening: openingOf(started) });

  /** Someone holding alice's password and one leaked recovery code signs in once. */
  async function signInWithLeakedCode(): Promise<void> {
    const { codes } = await w.h.app.recoveryCodes.generate(service, "acme", "alice");
    const started = await create();
    const { flow } = started;
    const challenge = await open(started);
    const used = await w.h.app.flows.act("acme", flow, attacker, {
      kind: "verify_recovery_code",
      csrf: csrfOf(challenge),
      code: codes[0] ?? "",
    });
    expect(used.kind).toBe("redirect");
    expect(codeOf(await w.h.app.flows.show("acme", flow, attacker))).not.toBeNull();
    // The browser remembers it: a second flow completes without asking.
    w.h.clock.advance(30);
    expect(codeOf(await open(await create()))).not.toBeNull();
  }

  /** The same browser, with the password again: nothing it still holds proves MFA. */
  async function expectNoCodeLater(): Promise<void> {
    w.h.clock.advance(60);
    const again = await open(await create());
    expect(codeOf(again)).toBeNull();
    expect(again.kind).not.toBe("redirect");
  }

  const sessionsEnded = async (type: string) =>
    (await w.h.app.audit.list(w.h.admin, "acme", { type }, {})).items.map(
      (e) => e.payload["sessionsEnded"],
    );

  it("earns no new code once the recovery codes it used are revoked", async () => {
    await signInWithLeakedCode();
    // The leak is noticed: an administrator revokes every recovery code at once.
    await w.h.app.recoveryCodes.revoke(w.h.admin, "acme", "alice");
    expect(await sessionsEnded("recovery_code.revoked")).toEqual([1]);
    await expectNoCodeLater();
  });

  it("completes no open flow that verified a code before the codes were revoked", async () => {
    const { codes } = await w.h.app.recoveryCodes.generate(service, "acme", "alice");
    const started = await create();
    const { flow } = started;
    const challenge = await open(started);
    await w.h.app.flows.act("acme", flow, attacker, {
      kind: "verify_recovery_code",
      csrf: csrfOf(challenge),
      code: codes[0] ?? "",
    });
    // Revoked before the browser comes back to the flow page: the flow forgot the code.
    await w.h.app.recoveryCodes.revoke(w.h.admin, "acme", "alice");
    const [revoked] = (
      await w.h.app.audit.list(w.h.admin, "acme", { type: "recovery_code.revoked" }, {})
    ).items;
    expect(revoked?.payload).toMatchObject({ sessionsEnded: 0, flowsReset: 1 });
    const back = await w.h.app.flows.show("acme", flow, attacker);
    expect(back.kind).toBe("challenge");
    expect(codeOf(back)).toBeNull();
    await expectNoCodeLater();
  });

  it("earns no new code once a new set replaces the codes it used", async () => {
    await signInWithLeakedCode();
    await provedMfaJustNow(w.h, "acme", "alice");
    await w.h.app.recoveryCodes.generate(service, "acme", "alice");
    // The first set replaced nothing and ended nothing; the second ended the session.
    expect(await sessionsEnded("recovery_code.generated")).toEqual([undefined, 1]);
    await expectNoCodeLater();
  });
});
