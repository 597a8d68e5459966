import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from "jose";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Caller, FlowBrowser, FlowStart } from "../application.js";
import { chainOf } from "../audit/audit-chain.js";
import { openingOf } from "../test-support/flow-opening.js";
import { openHarness, type Harness } from "../test-support/harness.js";
import { enrolTotp, rightCode, type EnrolledTotp } from "../test-support/totp-principals.js";
import type { FlowScreen } from "./flow-screens.js";

const RETURN = "https://app.acme.example/signed-in";
const ISSUER = "https://mfa.test";

// Threats: a flow completed by someone other than the browser that opened it, a forged form, a
// code replayed, stolen by another client or used late, an attacker enrolling their own
// authenticator with only the password, and evidence reused across browsers or beyond its age.
describe("hosted flows", () => {
  let h: Harness;
  let service: Caller;
  let totp: EnrolledTotp;
  const browser: FlowBrowser = { cookie: "browser-one-cookie-value-0123456789" };
  const otherBrowser: FlowBrowser = { cookie: "browser-two-cookie-value-9876543210" };

  beforeEach(async () => {
    h = await openHarness({ federation: { publicUrl: ISSUER } });
    await h.app.tenants.create(h.admin, { id: "acme", name: "Acme", returnUrls: [RETURN] });
    const { record } = await h.app.policies.current(h.admin, "acme");
    await h.app.policies.replace(h.admin, "acme", {
      policy: { posture: "platform_mfa" },
      rationale: "MFA for everyone",
      ifMatch: record.version,
    });
    service = await h.caller(["platform_service"], ["acme"]);
    totp = await enrolTotp(h, service, "acme", "alice");
    h.clock.advance(60);
  });
  afterEach(() => h.close());

  const password = () => ({
    method: "password" as const,
    source: "platform" as const,
    at: h.clock.now().toISOString(),
  });
  const create = (extra: Record<string, unknown> = {}) =>
    h.app.flows.create(service, "acme", {
      principal: { id: "alice" },
      verified: [password()],
      returnTo: `${RETURN}?from=login`,
      state: "st-1",
      ...extra,
    });
  const csrfOf = (screen: FlowScreen): string => {
    if (!("frame" in screen)) throw new Error(`no frame on a ${screen.kind} screen`);
    return screen.frame.csrfToken;
  };
  const codeOf = (screen: FlowScreen): string => {
    expect(screen.kind).toBe("redirect");
    const url = new URL(screen.kind === "redirect" ? screen.location : "");
    expect(url.origin + url.pathname).toBe(RETURN);
    return url.searchParams.get("code") ?? "";
  };
  /** A visit to a created flow that brings its opening secret: the first one binds the flow. */
  const open = (started: FlowStart, who = browser) =>
    h.app.flows.show("acme", started.flow, who, { opening: openingOf(started) });
  /** Walks a flow with TOTP: the challenge, the code, and back to the platform. */
  const walk = async (started: FlowStart, who = browser) => {
    const { flow } = started;
    const challenge = await open(started, who);
    expect(challenge.kind).toBe("challenge");
    const verified = await h.app.flows.act("acme", flow, who, {
      kind: "verify_totp",
      csrf: csrfOf(challenge),
      authenticator: totp.id,
      code: rightCode(h, totp),
    });
    expect(verified).toEqual({ kind: "redirect", location: `${ISSUER}/t/acme/flows/${flow}` });
    return h.app.flows.show("acme", flow, who);
  };
  const audit = async () =>
    (
      await h.store.read(({ audit: a }) => a.read(chainOf("acme"), { afterSeq: 0, limit: 500 }))
    ).filter((e) => e.type.startsWith("flow."));

  it("walks a TOTP sign-in to a code that the creating key exchanges once for a verifiable token", async () => {
    const started = await create();
    const { flow, url } = started;
    expect(openingOf(started)).toMatch(/^[\w-]{32}$/);
    expect(url).toBe(`${ISSUER}/t/acme/flows/${flow}?open=${openingOf(started)}`);
    const first = await open(started);
    expect(first).toMatchObject({
      kind: "challenge",
      options: [{ kind: "verify_totp", authenticators: [{ id: totp.id }] }],
      proven: ["password"],
    });
    const done = await walk(started);
    expect(new URL(done.kind === "redirect" ? done.location : "").searchParams.get("state")).toBe(
      "st-1",
    );
    const exchanged = await h.app.flows.exchange(service, { code: codeOf(done) });
    const jwks = createLocalJWKSet((await h.app.assurance.jwks()) as unknown as JSONWebKeySet);
    const { payload } = await jwtVerify(exchanged.token, jwks, {
      issuer: ISSUER,
      audience: service.id,
      currentDate: h.clock.now(),
      typ: "tenant-mfa-assurance+jwt",
    });
    expect(payload).toMatchObject({
      sub: "alice",
      tenant: "acme",
      aal: 2,
      phr: false,
      amr: ["mfa", "otp", "pwd"],
      decision: exchanged.decision,
    });
    const receipt = await h.app.decisions.receipt(h.admin, exchanged.decision);
    expect(receipt.outcome).toBe("allow");
    expect(receipt.inputSummary).toMatchObject({ flow: { id: flow } });
    expect((await audit()).map((e) => e.type)).toEqual([
      "flow.created",
      "flow.opened",
      "flow.verified",
      "flow.completed",
      "flow.exchanged",
    ]);
  });

  it("lets a key bound to audiences ask only for those, or for its own id", async () => {
    const { secret } = await h.app.apiKeys.create(h.admin, {
      name: "billing app",
      roles: ["platform_service"],
      tenants: ["acme"],
      audiences: ["https://billing.acme.example"],
    });
    const billing = await h.app.authenticate(secret);
    const createAs = (caller: Caller, audience?: string) =>
      h.app.flows.create(caller, "acme", {
        principal: { id: "alice" },
        verified: [password()],
        returnTo: RETURN,
        ...(audience === undefined ? {} : { audience }),
      });
    await expect(createAs(billing, "https://payroll.acme.example")).rejects.toMatchObject({
      code: "flow.audience_not_allowed",
    });
    expect((await audit()).map((e) => e.type)).toEqual([]);
    const allowed = await createAs(billing, "https://billing.acme.example");
    const ownId = await createAs(billing);
    for (const [started, who] of [
      [allowed, browser],
      [ownId, otherBrowser],
    ] as const) {
      h.clock.advance(30); // a TOTP step of its own for each walk
      const code = codeOf(await walk(started, who));
      const { token } = await h.app.flows.exchange(billing, { code });
      const jwks = createLocalJWKSet((await h.app.assurance.jwks()) as unknown as JSONWebKeySet);
      const { payload } = await jwtVerify(token, jwks, {
        issuer: ISSUER,
        currentDate: h.clock.now(),
      });
      expect(payload.aud).toBe(started === allowed ? "https://billing.acme.example" : billing.id);
    }
    // A key without audiences names any, as before.
    await expect(createAs(service, "https://payroll.acme.example")).resolves.toMatchObject({
      flow: expect.any(String),
    });
  });

  it("accepts a code once, only from the key that created the flow, and only for a minute", async () => {
    const other = await h.caller(["platform_service"], ["acme"]);
    const code = codeOf(await walk(await create()));
    await expect(h.app.flows.exchange(other, { code })).rejects.toMatchObject({
      code: "flow.code_invalid",
    });
    await h.app.flows.exchange(service, { code });
    await expect(h.app.flows.exchange(service, { code })).rejects.toMatchObject({
      code: "flow.code_invalid",
    });
    h.clock.advance(30);
    const late = codeOf(await walk(await create(), otherBrowser));
    h.clock.advance(61);
    await expect(h.app.flows.exchange(service, { code: late })).rejects.toMatchObject({
      code: "flow.code_invalid",
    });
    const refusals = (await audit()).filter((e) => e.type === "flow.exchange_refused");
    expect(refusals.map((e) => e.payload["reason"])).toEqual([
      "another_client",
      "replayed",
      "expired",
    ]);
  });

  it("keeps a code issued just before the flow's expiry exchangeable for its whole minute, whatever flows start meanwhile", async () => {
    const started = await create({ ttlSeconds: 60 });
    h.clock.advance(50);
    const code = codeOf(await walk(started));
    // Past the flow's own expiry, within the code's minute: another sign-in starts (and purges).
    h.clock.advance(15);
    await create();
    await expect(h.app.flows.exchange(service, { code })).resolves.toMatchObject({
      principal: "alice",
    });
  });

  // docs/flows.md §3: every refusal answers alike and is audited, also when the key that holds
  // the stolen code cannot reach the flow's tenant at all.
  it("refuses a code presented by another tenant's service key as another client's, audited in the flow's tenant", async () => {
    await h.app.tenants.create(h.admin, { id: "globex", name: "Globex", returnUrls: [RETURN] });
    const globex = await h.caller(["platform_service"], ["globex"]);
    const acmeAdmin = await h.caller(["tenant_admin"], ["acme"]);
    const code = codeOf(await walk(await create()));
    await expect(h.app.flows.exchange(globex, { code })).rejects.toMatchObject({
      code: "flow.code_invalid",
    });
    // A caller that may never exchange is refused for its role, before the code is looked up.
    await expect(h.app.flows.exchange(acmeAdmin, { code })).rejects.toMatchObject({
      code: "auth.forbidden",
    });
    const refusals = (await audit()).filter((e) => e.type === "flow.exchange_refused");
    expect(refusals.map((e) => e.payload)).toEqual([
      { flow: expect.any(String), principal: "alice", reason: "another_client", caller: globex.id },
    ]);
    // Refused, the code is not spent: the creating key still exchanges it.
    await expect(h.app.flows.exchange(service, { code })).resolves.toMatchObject({
      principal: "alice",
    });
  });

  it("belongs to the first browser that opens it", async () => {
    const started = await create();
    const { flow } = started;
    const challenge = await open(started);
    // Even with the URL's opening secret, another browser is refused.
    expect(await open(started, otherBrowser)).toEqual({
      kind: "failed",
      code: "flow.other_browser",
    });
    const stolen = await h.app.flows.act("acme", flow, otherBrowser, {
      kind: "verify_totp",
      csrf: csrfOf(challenge),
      authenticator: totp.id,
      code: rightCode(h, totp),
    });
    expect(stolen).toMatchObject({ kind: "failed", code: "flow.other_browser" });
    // Audited once: the second refusal comes within a minute of the first.
    expect((await audit()).filter((e) => e.type === "flow.browser_refused")).toHaveLength(1);
  });

  it("refuses a form without the flow's CSRF token, before verifying anything", async () => {
    const started = await create();
    const { flow } = started;
    await open(started);
    const forged = await h.app.flows.act("acme", flow, browser, {
      kind: "verify_totp",
      csrf: "forged",
      authenticator: totp.id,
      code: rightCode(h, totp),
    });
    expect(forged).toEqual({ kind: "failed", code: "flow.csrf" });
    expect((await audit()).map((e) => e.type)).not.toContain("flow.verified");
  });

  it("expires, is used once, and refuses a return URL the tenant did not register", async () => {
    const late = await create();
    h.clock.advance(601);
    expect(await open(late)).toMatchObject({ code: "flow.expired" });
    const used = await create();
    await walk(used);
    expect(await h.app.flows.show("acme", used.flow, browser)).toMatchObject({
      code: "flow.used",
    });
    expect(await h.app.flows.show("acme", "flw_unknown", browser)).toMatchObject({
      code: "flow.not_found",
    });
    await expect(create({ returnTo: "https://evil.example/signed-in" })).rejects.toMatchObject({
      code: "flow.return_to_not_allowed",
    });
  });

  // DESIGN invariant 10: the URL is checked on every step, not only when the flow was created.
  it("sends no code to a return URL the tenant removed while the flow was open", async () => {
    const started = await create();
    const { flow } = started;
    const challenge = await open(started);
    expect(challenge.kind).toBe("challenge");
    await h.app.tenants.setReturnUrls(h.admin, "acme", {
      returnUrls: ["https://app.acme.example/elsewhere"],
    });
    const verified = await h.app.flows.act("acme", flow, browser, {
      kind: "verify_totp",
      csrf: csrfOf(challenge),
      authenticator: totp.id,
      code: rightCode(h, totp),
    });
    // Back to the flow's own page, which then refuses to go on to the removed URL.
    expect(verified).toEqual({ kind: "redirect", location: `${ISSUER}/t/acme/flows/${flow}` });
    expect(await h.app.flows.show("acme", flow, browser)).toMatchObject({
      kind: "failed",
      code: "flow.return_to_not_allowed",
    });
    expect((await audit()).map((e) => e.type)).not.toContain("flow.completed");
  });

  it("refuses MFA evidence asserted by the platform: only its password check", async () => {
    await expect(
      create({
        verified: [{ method: "totp", source: "platform", at: h.clock.now().toISOString() }],
      }),
    ).rejects.toMatchObject({ code: "request.invalid" });
  });

  it("reuses this browser's fresh evidence, says so in the receipt, and not in another browser", async () => {
    await walk(await create());
    h.clock.advance(120);
    const started = await create();
    const { flow } = started;
    const reused = await open(started);
    const exchanged = await h.app.flows.exchange(service, { code: codeOf(reused) });
    const receipt = await h.app.decisions.receipt(h.admin, exchanged.decision);
    expect(receipt.inputSummary["flow"]).toMatchObject({
      id: flow,
      reusedSession: expect.any(String),
    });
    const elsewhere = await open(await create(), otherBrowser);
    expect(elsewhere.kind).toBe("challenge");
  });

  it("stops reusing a browser's evidence once one of the principal's authenticators is removed", async () => {
    const spare = await enrolTotp(h, service, "acme", "alice");
    h.clock.advance(60);
    await walk(await create());
    await h.app.authenticators.remove(h.admin, "acme", "alice", spare.id);
    const removed = await h.app.audit.list(h.admin, "acme", { type: "authenticator.removed" }, {});
    expect(removed.items[0]?.payload).toMatchObject({ sessionsEnded: 1 });
    expect((await open(await create())).kind).toBe("challenge");
  });

  it("steps up only for the difference: phishing resistance asks for a passkey, after verifying", async () => {
    await walk(await create());
    const started = await create({ stepUp: { phishingResistant: true } });
    const { flow } = started;
    const stepUp = await open(started);
    // A passkey is what is missing; enrolling one needs a method verified in this flow first.
    expect(stepUp).toMatchObject({ kind: "challenge", options: [{ kind: "verify_totp" }] });
    const refused = await h.app.flows.act("acme", flow, browser, {
      kind: "enroll_totp",
      csrf: csrfOf(stepUp),
    });
    expect(refused).toMatchObject({ kind: "challenge", notice: { code: "enrolment.not_allowed" } });
    h.clock.advance(30);
    await h.app.flows.act("acme", flow, browser, {
      kind: "verify_totp",
      csrf: csrfOf(stepUp),
      authenticator: totp.id,
      code: rightCode(h, totp),
    });
    expect(await h.app.flows.show("acme", flow, browser)).toMatchObject({
      kind: "challenge",
      options: [{ kind: "enroll_webauthn" }],
      frame: { stepUp: true },
    });
  });

  it("lets a principal without any authenticator enrol one on the strength of the password", async () => {
    await h.app.principals.upsert(h.admin, "acme", "bob", { population: "direct" });
    const started = await h.app.flows.create(service, "acme", {
      principal: { id: "bob" },
      verified: [password()],
      returnTo: RETURN,
    });
    const { flow } = started;
    const challenge = await open(started);
    expect(challenge).toMatchObject({
      kind: "challenge",
      options: [{ kind: "enroll_webauthn" }, { kind: "enroll_totp" }],
    });
    const enrolment = await h.app.flows.act("acme", flow, browser, {
      kind: "enroll_totp",
      csrf: csrfOf(challenge),
    });
    expect(enrolment).toMatchObject({
      kind: "enroll_totp",
      qrSvg: expect.stringContaining("<svg"),
    });
    if (enrolment.kind !== "enroll_totp") return;
    const { oathtoolCode } = await import("../../verifiers/totp/test-support/oathtool.js");
    const confirmed = await h.app.flows.act("acme", flow, browser, {
      kind: "confirm_totp",
      csrf: csrfOf(enrolment),
      authenticator: enrolment.authenticator,
      code: oathtoolCode(enrolment.secret, h.clock.now()),
    });
    expect(confirmed.kind).toBe("redirect");
    codeOf(await h.app.flows.show("acme", flow, browser));
  });

  it("without the platform's password, a principal with no authenticator is sent back to sign in", async () => {
    await h.app.principals.upsert(h.admin, "acme", "bob", { population: "direct" });
    const screen = await open(
      await h.app.flows.create(service, "acme", {
        principal: { id: "bob" },
        returnTo: RETURN,
        state: "s",
      }),
    );
    expect(screen).toMatchObject({
      kind: "challenge",
      options: [{ kind: "reauthenticate", location: `${RETURN}?error=reauthenticate&state=s` }],
    });
  });
});
