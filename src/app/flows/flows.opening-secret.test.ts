import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Caller, FlowBrowser, FlowStart } from "../application.js";
import { chainOf } from "../audit/audit-chain.js";
import { openingOf } from "../test-support/flow-opening.js";
import type { Harness } from "../test-support/harness.js";
import { openPlatformMfaTenant } from "../test-support/platform-mfa-flows.js";
import { enrolTotp } from "../test-support/totp-principals.js";
import type { FlowScreen } from "./flow-screens.js";

const RETURN = "https://app.acme.example/signed-in";

// Threat: whoever learns a flow's id takes the flow before its user opens it. The id is no
// secret: every flow audit event names it, `flow.created` before any browser opened the flow,
// and the tenant's auditors and administrators read those events as they are written. An
// auditor who opened a new flow first was its browser: the user saw "started in another browser"
// and, for a principal with no authenticator yet, the auditor enrolled a method of their own
// and was sent the completion redirect. The first visit must bring the secret of the flow's URL.
describe("a hosted flow's opening secret", () => {
  let h: Harness;
  let service: Caller;
  let auditor: Caller;
  const user: FlowBrowser = { cookie: "the-users-browser-cookie-0123456789" };
  const attacker: FlowBrowser = { cookie: "the-auditors-browser-cookie-98765432" };

  beforeEach(async () => {
    ({ h, service } = await openPlatformMfaTenant(RETURN));
    auditor = await h.caller(["tenant_auditor"], ["acme"]);
    await enrolTotp(h, service, "acme", "alice");
  });
  afterEach(() => h.close());

  /** A flow for `principal`, who is registered on the way when new (no authenticator yet). */
  const create = (principal = "alice"): Promise<FlowStart> =>
    h.app.flows.create(service, "acme", {
      principal: { id: principal, population: "direct" },
      verified: [{ method: "password", source: "platform", at: h.clock.now().toISOString() }],
      returnTo: RETURN,
      state: "users-state",
    });

  /** The flow ids the auditor reads from the audit log, as it polls for new flows. */
  const createdFlowsSeenByAuditor = async (): Promise<string[]> => {
    const page = await h.app.audit.list(auditor, "acme", { type: "flow.created" }, {});
    return page.items.map((event) => String(event.payload.flow));
  };

  const flowEvents = async () =>
    (
      await h.store.read(({ audit }) => audit.read(chainOf("acme"), { afterSeq: 0, limit: 500 }))
    ).filter((event) => event.type.startsWith("flow."));

  const notFound: FlowScreen = { kind: "failed", code: "flow.not_found" };

  it("is not opened by the id an auditor reads: the flow stays the user's", async () => {
    const started = await create();
    const [seen] = await createdFlowsSeenByAuditor();
    expect(seen).toBe(started.flow);

    expect(await h.app.flows.show("acme", started.flow, attacker)).toEqual(notFound);
    // The user, arriving second, still opens it and is challenged as usual.
    const screen = await h.app.flows.show("acme", started.flow, user, {
      opening: openingOf(started),
    });
    expect(screen.kind).toBe("challenge");
    // And the auditor's browser is now another browser.
    expect(await h.app.flows.show("acme", started.flow, attacker)).toMatchObject({
      code: "flow.other_browser",
    });
    const types = (await flowEvents()).map((event) => event.type);
    expect(types).toEqual([
      "flow.created",
      "flow.opening_refused",
      "flow.opened",
      "flow.browser_refused",
    ]);
  });

  it("lets nobody enrol on a new principal's flow from its id", async () => {
    const started = await create("newcomer");
    // A flow of a principal with no authenticator offers enrolment on the password alone:
    // what an attacker opening it first could take.
    expect(await h.app.flows.show("acme", started.flow, attacker)).toEqual(notFound);
    const forged = await h.app.flows.act("acme", started.flow, attacker, {
      kind: "enroll_totp",
      csrf: "not-known",
    });
    expect(forged).toEqual(notFound);
    const screen = await h.app.flows.show("acme", started.flow, user, {
      opening: openingOf(started),
    });
    expect(screen.kind).toBe("challenge");
    const stored = await h.store.read(({ flows }) => flows.get("acme", started.flow));
    expect(stored?.browserHash).toBeDefined();
    expect(await h.app.flows.show("acme", started.flow, attacker)).toMatchObject({
      code: "flow.other_browser",
    });
  });

  it("refuses a wrong secret, and another flow's, without binding", async () => {
    const started = await create();
    const other = await create();
    for (const opening of [openingOf(other), "A".repeat(32), ""]) {
      expect(await h.app.flows.show("acme", started.flow, attacker, { opening })).toEqual(notFound);
    }
    // The first refusal is audited; the two after it, within its minute, are not.
    const refusals = (await flowEvents()).filter((e) => e.type === "flow.opening_refused");
    expect(refusals.map((e) => e.payload)).toEqual([{ flow: started.flow, principal: "alice" }]);
    expect(
      (await h.app.flows.show("acme", started.flow, user, { opening: openingOf(started) })).kind,
    ).toBe("challenge");
  });

  it("needs the secret only once: the bound browser comes back with its cookie alone", async () => {
    const started = await create();
    await h.app.flows.show("acme", started.flow, user, { opening: openingOf(started) });
    expect((await h.app.flows.show("acme", started.flow, user)).kind).toBe("challenge");
    // A reload of the URL as first opened, secret and all.
    const again = await h.app.flows.show("acme", started.flow, user, {
      opening: openingOf(started),
    });
    expect(again.kind).toBe("challenge");
    // The secret opens nothing for another browser once the flow is bound.
    expect(
      await h.app.flows.show("acme", started.flow, attacker, { opening: openingOf(started) }),
    ).toMatchObject({ code: "flow.other_browser" });
  });

  it("binds on entering, with the checks and audit of a first visit, and sends the browser to the flow's URL without the secret", async () => {
    const started = await create();
    const plain: FlowScreen = {
      kind: "redirect",
      location: `https://mfa.test/t/acme/flows/${started.flow}`,
    };
    expect(await h.app.flows.enter("acme", started.flow, attacker, "A".repeat(32))).toEqual(
      notFound,
    );
    expect(await h.app.flows.enter("acme", started.flow, attacker)).toEqual(notFound);
    expect(await h.app.flows.enter("acme", started.flow, user, openingOf(started))).toEqual(plain);
    // The plain URL needs the cookie alone; entering again, with any secret or none, goes there.
    expect((await h.app.flows.show("acme", started.flow, user)).kind).toBe("challenge");
    expect(await h.app.flows.enter("acme", started.flow, user, "A".repeat(32))).toEqual(plain);
    expect(
      await h.app.flows.enter("acme", started.flow, attacker, openingOf(started)),
    ).toMatchObject({ code: "flow.other_browser" });
    expect((await flowEvents()).map((event) => event.type)).toEqual([
      "flow.created",
      "flow.opening_refused",
      "flow.opened",
      "flow.browser_refused",
    ]);
  });

  it("is kept as a hash only, and named by no audit event", async () => {
    const started = await create();
    const opening = openingOf(started);
    await h.app.flows.show("acme", started.flow, attacker);
    await h.app.flows.show("acme", started.flow, user, { opening });
    const stored = await h.store.read(({ flows }) => flows.get("acme", started.flow));
    expect(JSON.stringify(stored)).not.toContain(opening);
    expect(stored?.openingHash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(await flowEvents())).not.toContain(opening);
    expect(started.url).toBe(`https://mfa.test/t/acme/flows/${started.flow}?open=${opening}`);
    expect(opening).toMatch(/^[A-Za-z0-9_-]{32}$/);
  });

  it("still opens a flow created before flows had a secret by its id, at its page only", async () => {
    const started = await create();
    // As a store written by the version before keeps it: no openingHash.
    await h.store.transaction(async ({ flows }) => {
      const flow = await flows.get("acme", started.flow);
      if (flow === undefined) throw new Error("no flow");
      const { openingHash: _dropped, ...older } = flow;
      expect(await flows.update({ ...older, version: flow.version + 1 })).toBe(true);
    });
    // Its page binds it, as before; a form posted first never did bind it.
    const posted = await h.app.flows.act("acme", started.flow, attacker, {
      kind: "enroll_totp",
      csrf: "not-known",
    });
    expect(posted).toEqual(notFound);
    expect((await h.app.flows.show("acme", started.flow, user)).kind).toBe("challenge");
  });
});
