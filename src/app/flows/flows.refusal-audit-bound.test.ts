// Threat: whoever holds a flow's id (every flow audit event names it) floods the tenant's audit
// chain, a row per refused visit (a wrong opening secret, another browser, a forged form), for the
// flow's whole life, bounded only by the per-address rate limit, which many addresses together
// escape. The first refusal of each kind stays recorded, as the evidence of an attack, and one a
// minute while they go on: no more.
import { afterEach, expect, it } from "vitest";
import type { Caller, FlowBrowser, FlowStart } from "../application.js";
import { auditEventsOf } from "../test-support/audit-events.js";
import { describeOnEachStore } from "../test-support/each-store.js";
import { openingOf } from "../test-support/flow-opening.js";
import type { Harness } from "../test-support/harness.js";
import { codeOf, csrfOf, openPlatformMfaTenant } from "../test-support/platform-mfa-flows.js";
import { enrolTotp, rightCode, type EnrolledTotp } from "../test-support/totp-principals.js";
import { REFUSAL_AUDIT_INTERVAL_SECONDS } from "./flow-records.js";

const RETURN = "https://app.acme.example/signed-in";
const REFUSALS = 40;

describeOnEachStore("a hosted flow's refused visits in the audit chain", (url) => {
  let h: Harness;
  let service: Caller;
  let totp: EnrolledTotp;
  const user: FlowBrowser = { cookie: "the-users-browser-cookie-0123456789" };
  const attacker: FlowBrowser = { cookie: "an-attackers-browser-cookie-987654" };

  async function open(): Promise<void> {
    ({ h, service } = await openPlatformMfaTenant(RETURN, { url: await url() }));
    totp = await enrolTotp(h, service, "acme", "alice");
    h.clock.advance(30);
  }
  afterEach(() => h.close());

  const create = (): Promise<FlowStart> =>
    h.app.flows.create(service, "acme", {
      principal: { id: "alice" },
      verified: [{ method: "password", source: "platform", at: h.clock.now().toISOString() }],
      returnTo: RETURN,
    });

  /** The flow events of the tenant's chain, in order, each as `type` or `type:flow`. */
  const flowEvents = (started?: FlowStart) =>
    auditEventsOf(h, "acme", (event) =>
      !event.type.startsWith("flow.")
        ? undefined
        : started === undefined || event.payload["flow"] === started.flow
          ? event.type
          : undefined,
    );
  const refusals = async (type: string, started?: FlowStart) =>
    (await flowEvents(started)).filter((t) => t === type).length;

  it("records the first refused opening, then one a minute while they go on", async () => {
    await open();
    const started = await create();
    for (let i = 0; i < REFUSALS; i++) {
      const opening = i % 2 === 0 ? {} : { opening: "A".repeat(32) };
      expect(await h.app.flows.show("acme", started.flow, attacker, opening)).toEqual({
        kind: "failed",
        code: "flow.not_found",
      });
    }
    expect(await refusals("flow.opening_refused", started)).toBe(1);

    h.clock.advance(REFUSAL_AUDIT_INTERVAL_SECONDS - 1);
    await h.app.flows.show("acme", started.flow, attacker);
    expect(await refusals("flow.opening_refused", started)).toBe(1);
    h.clock.advance(1);
    await h.app.flows.show("acme", started.flow, attacker);
    await h.app.flows.show("acme", started.flow, attacker);
    expect(await refusals("flow.opening_refused", started)).toBe(2);

    // Another flow's first refusal is its own evidence, recorded whatever this flow's say.
    const other = await create();
    await h.app.flows.show("acme", other.flow, attacker);
    expect(await refusals("flow.opening_refused", other)).toBe(1);

    // The flow is still its user's.
    const screen = await h.app.flows.show("acme", started.flow, user, {
      opening: openingOf(started),
    });
    expect(screen.kind).toBe("challenge");
  });

  it("records the first of each kind: a flood of one kind hides no other, nor the user's way", async () => {
    await open();
    const started = await create();
    for (let i = 0; i < REFUSALS; i++) await h.app.flows.show("acme", started.flow, attacker);
    const challenge = await h.app.flows.show("acme", started.flow, user, {
      opening: openingOf(started),
    });
    const csrf = csrfOf(challenge);
    for (let i = 0; i < REFUSALS; i++) {
      expect(await h.app.flows.show("acme", started.flow, attacker)).toMatchObject({
        code: "flow.other_browser",
      });
      expect(
        await h.app.flows.act("acme", started.flow, user, { kind: "continue", csrf: "forged" }),
      ).toMatchObject({ code: "flow.csrf" });
    }
    expect(await flowEvents(started)).toEqual([
      "flow.created",
      "flow.opening_refused",
      "flow.opened",
      "flow.browser_refused",
      "flow.csrf_refused",
    ]);

    // A minute on, a refusal is recorded again, which moves the flow on: the user still
    // verifies and completes it.
    h.clock.advance(REFUSAL_AUDIT_INTERVAL_SECONDS);
    await h.app.flows.show("acme", started.flow, attacker);
    const verified = await h.app.flows.act("acme", started.flow, user, {
      kind: "verify_totp",
      csrf,
      authenticator: totp.id,
      code: rightCode(h, totp),
    });
    expect(verified.kind).toBe("redirect");
    expect(codeOf(await h.app.flows.show("acme", started.flow, user))).not.toBeNull();
    expect((await flowEvents(started)).slice(5)).toEqual([
      "flow.browser_refused",
      "flow.verified",
      "flow.completed",
    ]);
  });

  it("records one of many refusals at once", async () => {
    await open();
    const started = await create();
    const screens = await Promise.all(
      Array.from({ length: 20 }, () => h.app.flows.show("acme", started.flow, attacker)),
    );
    expect(new Set(screens.map((s) => JSON.stringify(s)))).toEqual(
      new Set([JSON.stringify({ kind: "failed", code: "flow.not_found" })]),
    );
    expect(await refusals("flow.opening_refused", started)).toBe(1);
  });
});
