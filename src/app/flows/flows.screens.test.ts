import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Caller, FlowBrowser, FlowStart } from "../application.js";
import { chainOf } from "../audit/audit-chain.js";
import { openingOf } from "../test-support/flow-opening.js";
import { openWebAuthnWorld, type WebAuthnWorld } from "../test-support/webauthn-world.js";
import type { FlowScreen } from "./flow-screens.js";

const RETURN = "https://app.example/signed-in";
const DAY = 86_400_000;

// Threats: a sign-in let through on a notice the user never saw (an exemption, report-only
// mode), a refusal that leaves the flow usable, a passkey or recovery code accepted without its
// verifier, and two tabs completing one flow twice.
describe("hosted flow screens", () => {
  let w: WebAuthnWorld;
  let service: Caller;
  const browser: FlowBrowser = { cookie: "screens-browser-cookie-0123456789" };

  beforeEach(async () => {
    w = await openWebAuthnWorld();
    service = w.service.acme;
    await w.h.app.tenants.setReturnUrls(w.h.admin, "acme", { returnUrls: [RETURN] });
  });
  afterEach(() => w.close());

  const at = () => w.h.clock.now().toISOString();
  const policy = async (document: Record<string, unknown>, tenant = "acme") => {
    const { record } = await w.h.app.policies.current(w.h.admin, tenant);
    await w.h.app.policies.replace(w.h.admin, tenant, {
      policy: document as never,
      rationale: "test policy",
      ifMatch: record.version,
    });
  };
  const create = (principal = "alice", tenant = "acme") =>
    w.h.app.flows.create(w.service[tenant as "acme"], tenant, {
      principal: { id: principal },
      verified: [{ method: "password", source: "platform", at: at() }],
      returnTo: RETURN,
    });
  /** A visit to a created flow, with the opening secret its URL carries (binds it first). */
  const open = (started: FlowStart, who = browser, tenant = "acme") =>
    w.h.app.flows.show(tenant, started.flow, who, { opening: openingOf(started) });
  const csrf = (screen: FlowScreen) => ("frame" in screen ? screen.frame.csrfToken : "");
  const codeIn = (screen: FlowScreen) =>
    screen.kind === "redirect" ? new URL(screen.location).searchParams.get("code") : null;

  it("explains an exemption in force, and completes only once the user goes on", async () => {
    await policy({ posture: "platform_mfa" });
    const approver = await w.h.caller(["exemption_approver"], ["acme"]);
    const requested = await w.h.app.exemptions.request(w.h.admin, "acme", {
      principal: "alice",
      category: "break_glass",
      justification: "Locked out during an incident",
      owner: "secops",
      startsAt: at(),
      expiresAt: new Date(w.h.clock.now().getTime() + 2 * DAY).toISOString(),
      reviewAt: new Date(w.h.clock.now().getTime() + DAY).toISOString(),
    });
    await w.h.app.exemptions.approve(approver, "acme", requested.id);
    const started = await create();
    const { flow } = started;
    const notice = await open(started);
    expect(notice).toMatchObject({ kind: "exemption", category: "break_glass", breakGlass: true });
    expect(await w.h.app.flows.show("acme", flow, browser)).toMatchObject({ kind: "exemption" });
    await w.h.app.flows.act("acme", flow, browser, { kind: "continue", csrf: csrf(notice) });
    const done = await w.h.app.flows.show("acme", flow, browser);
    const exchanged = await w.h.app.flows.exchange(service, { code: codeIn(done) ?? "" });
    const receipt = await w.h.app.decisions.receipt(w.h.admin, exchanged.decision);
    expect(receipt.decision.exemption?.id).toBe(requested.id);
  });

  it("nudges in report-only mode with the date enforcement starts, and lets the user go on", async () => {
    const starts = new Date(w.h.clock.now().getTime() + 14 * DAY).toISOString();
    await policy({ posture: "platform_mfa", enforcementStartsAt: starts });
    const started = await create();
    const { flow } = started;
    const nudge = await open(started);
    expect(nudge).toMatchObject({
      kind: "report_only",
      enforcementStartsAt: starts,
      options: expect.arrayContaining([{ kind: "enroll_totp" }]),
    });
    await w.h.app.flows.act("acme", flow, browser, { kind: "continue", csrf: csrf(nudge) });
    expect(codeIn(await w.h.app.flows.show("acme", flow, browser))).toMatch(/.{40,}/);
  });

  it("says why a sign-in is refused, records the receipt, and ends the flow", async () => {
    await w.h.app.tenants.create(w.h.admin, {
      id: "initech",
      name: "Initech",
      returnUrls: [RETURN],
    });
    await policy({ posture: "idp_mfa" }, "initech");
    await w.h.app.principals.upsert(w.h.admin, "initech", "carol", { population: "sso" });
    const initech = await w.h.caller(["platform_service"], ["initech"]);
    const started = await w.h.app.flows.create(initech, "initech", {
      principal: { id: "carol" },
      returnTo: RETURN,
      state: "s1",
    });
    const { flow } = started;
    const denied = await open(started, browser, "initech");
    expect(denied).toMatchObject({
      kind: "denied",
      reasons: expect.arrayContaining([expect.objectContaining({ code: "challenge.unavailable" })]),
      returnTo: `${RETURN}?error=access_denied&state=s1`,
    });
    if (denied.kind !== "denied") return;
    const receipt = await w.h.app.decisions.receipt(w.h.admin, denied.decision);
    expect(receipt.outcome).toBe("deny");
    expect(await w.h.app.flows.show("initech", flow, browser)).toMatchObject({ code: "flow.used" });
  });

  it("registers a passkey in the flow, then a later step-up verifies it", async () => {
    await policy({ posture: "phishing_resistant" });
    const key = w.authenticator();
    const started = await create("bob");
    const { flow } = started;
    const challenge = await open(started);
    expect(challenge).toMatchObject({ kind: "challenge", options: [{ kind: "enroll_webauthn" }] });
    const options = await w.h.app.flows.webauthnOptions("acme", flow, browser, {
      csrf: csrf(challenge),
      purpose: "registration",
    });
    const registered = await w.h.app.flows.act("acme", flow, browser, {
      kind: "register_webauthn",
      csrf: csrf(challenge),
      ceremony: options.ceremony,
      response: key.register(options.options),
    });
    expect(registered.kind).toBe("redirect");
    expect(codeIn(await w.h.app.flows.show("acme", flow, browser))).not.toBeNull();

    const other: FlowBrowser = { cookie: "another-browser-cookie-0123456789" };
    const secondStarted = await create("bob");
    const second = secondStarted.flow;
    const verify = await open(secondStarted, other);
    expect(verify).toMatchObject({ kind: "challenge", options: [{ kind: "verify_webauthn" }] });
    const begun = await w.h.app.flows.webauthnOptions("acme", second, other, {
      csrf: csrf(verify),
      purpose: "authentication",
    });
    await w.h.app.flows.act("acme", second, other, {
      kind: "verify_webauthn",
      csrf: csrf(verify),
      ceremony: begun.ceremony,
      response: key.authenticate(begun.options),
    });
    const done = await w.h.app.flows.show("acme", second, other);
    const exchanged = await w.h.app.flows.exchange(service, { code: codeIn(done) ?? "" });
    const receipt = await w.h.app.decisions.receipt(w.h.admin, exchanged.decision);
    expect(receipt.decision.satisfiedBy?.phishingResistant).toBe(true);
  });

  it("refuses a passkey registration in a flow before the principal verified what it has", async () => {
    await policy({ posture: "phishing_resistant" });
    await w.register(w.authenticator(), { principal: "alice" });
    const started = await create("alice");
    const { flow } = started;
    const challenge = await open(started);
    await expect(
      w.h.app.flows.webauthnOptions("acme", flow, browser, {
        csrf: csrf(challenge),
        purpose: "registration",
      }),
    ).rejects.toMatchObject({ code: "flow.enrolment_not_allowed" });
  });

  it("accepts a recovery code once, and shows a failed one as a notice", async () => {
    await policy({ posture: "platform_mfa" });
    const { codes } = await w.h.app.recoveryCodes.generate(service, "acme", "alice");
    const started = await create();
    const { flow } = started;
    const challenge = await open(started);
    expect(challenge).toMatchObject({
      options: expect.arrayContaining([{ kind: "verify_recovery_code" }]),
    });
    const wrong = await w.h.app.flows.act("acme", flow, browser, {
      kind: "verify_recovery_code",
      csrf: csrf(challenge),
      code: "AAAA-AAAA-AAAA-AAAA-AAAA",
    });
    expect(wrong).toMatchObject({ kind: "challenge", notice: { code: "recovery_code.invalid" } });
    const right = await w.h.app.flows.act("acme", flow, browser, {
      kind: "verify_recovery_code",
      csrf: csrf(challenge),
      code: codes[0] ?? "",
    });
    expect(right.kind).toBe("redirect");
    expect(codeIn(await w.h.app.flows.show("acme", flow, browser))).not.toBeNull();
  });

  it("completes once when two tabs of the browser finish together", async () => {
    await policy({ posture: "mfa_optional" });
    const started = await create();
    const { flow } = started;
    // Both tabs were sent to the flow's URL: both bring its opening secret.
    const screens = await Promise.all([open(started), open(started)]);
    const codes = screens.map(codeIn).filter((code) => code !== null);
    expect(codes).toHaveLength(1);
    expect(screens.map((s) => s.kind).sort()).toEqual(["failed", "redirect"]);
    const events = await w.h.store.read(({ audit }) =>
      audit.read(chainOf("acme"), { afterSeq: 0, limit: 500 }),
    );
    expect(events.filter((e) => e.type === "flow.completed")).toHaveLength(1);
    // The loser's decision is not kept: one receipt, the one the flow completed with.
    const recorded = events.filter(
      (e) => e.type === "decision.recorded" && e.actor === `flow:${flow}`,
    );
    expect(recorded).toHaveLength(1);
    const completed = events.find((e) => e.type === "flow.completed");
    expect(recorded[0]?.payload.decision).toBe(completed?.payload.decision);
  });
});
