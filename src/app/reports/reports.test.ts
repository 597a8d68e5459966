// The compliance report an administrator or auditor reads (DESIGN: "tenant administrators … read
// their audit and compliance reports"; seed 000: inventory users by type, review exceptions
// monthly and tell owners 14 days before expiry, watch integrations signing in with passwords).
// Built over the real application and store, SQLite and PostgreSQL: enrolments through the real TOTP, WebAuthn and
// recovery-code use cases, decisions through the decision API.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { PlatformMandate } from "../../core/policy.js";
import type { Caller, DecisionRequest } from "../application.js";
import { chainOf, DECISION_RECORDED, linkEvent } from "../audit/audit-chain.js";
import { AppError, InvalidInput } from "../errors.js";
import type { ExemptionRecord } from "../records.js";
import { provedMfaJustNow } from "../test-support/fresh-mfa.js";
import { enrolTotp } from "../test-support/totp-principals.js";
import { replacePolicy } from "../test-support/replace-policy.js";
import { openWebAuthnWorld, type WebAuthnWorld } from "../test-support/webauthn-world.js";
import { CountingRandom, type Harness } from "../test-support/harness.js";
import { describeOnPostgres } from "../test-support/postgres-instances.js";
import { wrapRepositories } from "../test-support/wrapped-store.js";

const DAY = 86_400;

const reportTests = (postgres: boolean) => () => {
  let world: WebAuthnWorld;
  let h: Harness;
  let service: Caller;
  let approver: Caller;
  const at = (days: number) => new Date(h.clock.now().getTime() + days * DAY * 1000).toISOString();
  const passwordSignIn = (principal: string): DecisionRequest => ({
    principal: { id: principal },
    evidence: { events: [{ method: "password", source: "platform", at: at(0) }] },
  });
  const exempt = async (
    principal: string,
    category: "break_glass" | "temporary_access" | "legacy_integration",
    window: { startsIn: number; expiresIn: number; reviewIn: number },
    approve = true,
  ) => {
    const requested = await h.app.exemptions.request(h.admin, "acme", {
      principal,
      category,
      justification: `${category} for ${principal}`,
      owner: "it-helpdesk",
      startsAt: at(window.startsIn),
      expiresAt: at(window.expiresIn),
      reviewAt: at(window.reviewIn),
    });
    return approve ? h.app.exemptions.approve(approver, "acme", requested.id) : requested;
  };
  /** An exemption of alice's as the use cases would leave it, written straight to the store. */
  const exemption = (
    id: string,
    status: "approved" | "requested" | "rejected",
    expiresIn: number,
  ): ExemptionRecord => ({
    id,
    tenant: "acme",
    principal: "alice",
    category: "temporary_access",
    status,
    startsAt: at(-1),
    expiresAt: at(expiresIn),
    reviewAt: at(1),
    requestedBy: "requester",
    ...(status === "approved" ? { approvedBy: "approver" } : {}),
    owner: "it-helpdesk",
    justification: "seeded",
    createdAt: at(-1),
  });

  beforeEach(async () => {
    // acme and globex, each with direct principals alice and bob.
    world = await openWebAuthnWorld({ postgres });
    h = world.h;
    service = world.service.acme;
    approver = await h.caller(["exemption_approver"], ["acme"]);
    const register = (
      id: string,
      population: "direct" | "sso" | "api_human" | "integration" | "guest",
      sharedLogin = false,
    ) =>
      h.app.principals.upsert(h.admin, "acme", id, {
        population,
        ...(sharedLogin ? { sharedLogin } : {}),
      });
    await enrolTotp(h, service, "acme", "alice");
    await world.register(world.authenticator(), { principal: "bob" });
    await register("carol", "direct");
    await provedMfaJustNow(h, "acme", "carol");
    await h.app.recoveryCodes.generate(service, "acme", "carol");
    await register("dave", "sso");
    await register("erin", "api_human");
    await register("kiosk", "direct", true);
    await register("svc", "integration");
    await register("visitor", "guest");
    // Another tenant's enrolments and decisions never count.
    await enrolTotp(h, world.service.globex, "globex", "zed");
    await h.app.decisions.decide(world.service.globex, "globex", passwordSignIn("alice"));
  });
  afterEach(() => world.close());

  it("counts the principals by population against what each has enrolled", async () => {
    const report = await h.app.reports.compliance(h.admin, "acme", {});
    expect(report.principals).toEqual({
      registered: 8,
      sharedLogins: 1,
      byPopulation: {
        direct: {
          registered: 4,
          withTotp: 1,
          withWebAuthn: 1,
          withRecoveryCodes: 1,
          withoutPlatformMfa: 2,
        },
        sso: {
          registered: 1,
          withTotp: 0,
          withWebAuthn: 0,
          withRecoveryCodes: 0,
          withoutPlatformMfa: 1,
        },
        integration: {
          registered: 1,
          withTotp: 0,
          withWebAuthn: 0,
          withRecoveryCodes: 0,
          withoutPlatformMfa: 1,
        },
        api_human: {
          registered: 1,
          withTotp: 0,
          withWebAuthn: 0,
          withRecoveryCodes: 0,
          withoutPlatformMfa: 1,
        },
        guest: {
          registered: 1,
          withTotp: 0,
          withWebAuthn: 0,
          withRecoveryCodes: 0,
          withoutPlatformMfa: 1,
        },
      },
      // Recovery codes alone are a way back in, not a second factor: carol is listed.
      directWithoutPlatformMfa: {
        count: 3,
        principals: ["carol", "erin", "kiosk"],
        truncated: false,
      },
    });
  });

  // No snapshot spans the principals' pages (it would hold SQLite's writer): what is enrolled
  // while they are read must not count as missing.
  it("counts a factor enrolled while the principals' pages are read", async () => {
    let enrolled = false;
    const store = wrapRepositories(h.store, (r) => ({
      ...r,
      principals: {
        ...r.principals,
        list: async (...args) => {
          if (!enrolled) {
            enrolled = true;
            await enrolTotp(h, service, "acme", "carol");
          }
          return r.principals.list(...args);
        },
      },
    }));
    const reporter = h.application({ store, random: new CountingRandom(1_000_000) });
    try {
      const { principals } = await reporter.reports.compliance(h.admin, "acme", {});
      expect(enrolled).toBe(true);
      expect(principals.byPopulation.direct).toMatchObject({ withTotp: 2, withoutPlatformMfa: 1 });
      expect(principals.directWithoutPlatformMfa.principals).toEqual(["erin", "kiosk"]);
    } finally {
      await reporter.close();
    }
  });

  it("counts neither a used-up recovery-code set nor a TOTP authenticator never confirmed", async () => {
    await provedMfaJustNow(h, "acme", "carol");
    const { codes } = await h.app.recoveryCodes.generate(service, "acme", "carol");
    for (const code of codes) await h.app.recoveryCodes.verify(service, "acme", "carol", { code });
    await provedMfaJustNow(h, "acme", "erin");
    await h.app.authenticators.beginTotp(service, "acme", "erin", {});
    const { byPopulation } = (await h.app.reports.compliance(h.admin, "acme", {})).principals;
    expect(byPopulation.direct).toMatchObject({ withRecoveryCodes: 0, withoutPlatformMfa: 2 });
    expect(byPopulation.api_human).toMatchObject({ withTotp: 0, withoutPlatformMfa: 1 });
  });

  // A judgment call: a factor locked after too many failures is still the principal's (an
  // administrator's unlock lifts the lock, and the principal is not asked to enrol again), so it
  // counts as enrolled; each lock is in the audit log (`authenticator.locked`, `recovery_code.locked`).
  it("counts a locked TOTP authenticator, WebAuthn credential or recovery-code set as enrolled", async () => {
    const now = at(0);
    await h.store.transaction(async (r) => {
      const [totp] = await r.authenticators.list("acme", "alice");
      const [credential] = await r.webauthnCredentials.list("acme", "bob");
      if (totp === undefined || credential === undefined) throw new Error("not enrolled");
      expect(await r.authenticators.recordFailure("acme", "alice", totp.id, 1, now)).toMatchObject({
        lockedAt: now,
      });
      expect(
        await r.webauthnCredentials.recordFailure("acme", "bob", credential.id, 1, now),
      ).toMatchObject({ lockedAt: now });
      expect(await r.recoveryCodes.recordFailure("acme", "carol", 1, now)).toMatchObject({
        lockedAt: now,
      });
    });
    const { direct } = (await h.app.reports.compliance(h.admin, "acme", {})).principals
      .byPopulation;
    expect(direct).toMatchObject({
      withTotp: 1,
      withWebAuthn: 1,
      withRecoveryCodes: 1,
      withoutPlatformMfa: 2,
    });
  });

  it("counts the decisions of the period by outcome, reason and exemption, and lists interactive integrations", async () => {
    // Before the default period (the 30 days up to now): counted only when asked for.
    await h.app.decisions.decide(service, "acme", passwordSignIn("alice"));
    const longAgo = at(-1);
    h.clock.advance(40 * DAY);
    await exempt("erin", "break_glass", { startsIn: 0, expiresIn: 1 / 24, reviewIn: 1 / 24 });
    await exempt("carol", "temporary_access", { startsIn: 0, expiresIn: 5, reviewIn: 3 });
    for (const principal of ["alice", "erin", "carol", "svc", "visitor"]) {
      await h.app.decisions.decide(service, "acme", passwordSignIn(principal));
    }
    // The period ends, excluded, at the moment the report is made.
    h.clock.advance(60);

    const report = await h.app.reports.compliance(h.admin, "acme", {});
    expect(report.period).toEqual({ from: at(-30), to: at(0) });
    expect(report.decisions).toEqual({
      total: 5,
      byOutcome: { allow: 2, challenge: 2, deny: 0, not_applicable: 1 },
      reportOnly: 0,
      reportOnlyWouldBe: { allow: 0, challenge: 0, deny: 0, not_applicable: 0 },
      byReason: {
        "requirement.unmet.aal": 2,
        "exemption.applied": 1,
        "exemption.break_glass": 1,
        "population.guest": 1,
        "population.integration_interactive": 1,
      },
      exemptionUses: 2,
      breakGlassUses: 1,
      interactiveIntegrations: { count: 1, principals: ["svc"], truncated: false },
    });

    const whole = await h.app.reports.compliance(h.admin, "acme", { from: longAgo, to: at(1) });
    expect(whole.decisions.total).toBe(6);
    expect(whole.decisions.byOutcome.challenge).toBe(3);
    // `to` is excluded, `from` included.
    const none = await h.app.reports.compliance(h.admin, "acme", { from: at(1), to: at(2) });
    expect(none.decisions.total).toBe(0);
  });

  it("names the audit chain's head it counted up to, as a checkpoint of the chain names it", async () => {
    await h.app.decisions.decide(service, "acme", passwordSignIn("alice"));
    h.clock.advance(60);
    const report = await h.app.reports.compliance(h.admin, "acme", {});
    const checkpoint = await h.app.audit.checkpoint(h.admin, { tenant: "acme" });
    expect(report.chainHead).toEqual({
      chain: checkpoint.chain,
      seq: checkpoint.seq,
      hash: checkpoint.hash,
    });
    expect(report.decisions.total).toBe(1);
  });

  it("counts no event appended after the head it read first", async () => {
    await h.app.decisions.decide(service, "acme", passwordSignIn("alice"));
    await h.app.decisions.decide(service, "acme", passwordSignIn("bob"));
    h.clock.advance(60);
    // As if the second decision were recorded just after the report read the chain's head.
    const [before] = await h.store.read(async (r) => {
      const last = await r.audit.head(chainOf("acme"));
      return r.audit.read(chainOf("acme"), { afterSeq: (last?.seq ?? 0) - 2, limit: 1 });
    });
    if (before === undefined) throw new Error("no event");
    const store = wrapRepositories(h.store, (r) => ({
      ...r,
      audit: {
        ...r.audit,
        head: async (chain) =>
          chain === chainOf("acme") ? { seq: before.seq, hash: before.hash } : r.audit.head(chain),
      },
    }));
    const reporter = h.application({ store, random: new CountingRandom(1_000_000) });
    try {
      const report = await reporter.reports.compliance(h.admin, "acme", {});
      expect(report.chainHead).toMatchObject({ seq: before.seq, hash: before.hash });
      expect(report.decisions.total).toBe(1);
    } finally {
      await reporter.close();
    }
  });

  it("counts decisions made while the policy was report-only, and says when enforcement starts", async () => {
    const startsAt = at(10);
    await replacePolicy(h, "acme", { posture: "platform_mfa", enforcementStartsAt: startsAt });
    await h.app.decisions.decide(service, "acme", passwordSignIn("alice"));
    h.clock.advance(60);
    const report = await h.app.reports.compliance(h.admin, "acme", {});
    expect(report.policy).toMatchObject({
      posture: "platform_mfa",
      mode: "report_only",
      enforcementStartsAt: startsAt,
    });
    // Only mandates are enforced (none here): allowed now, challenged once enforcement starts.
    expect(report.decisions).toMatchObject({
      total: 1,
      byOutcome: { allow: 1 },
      reportOnly: 1,
      reportOnlyWouldBe: { allow: 0, challenge: 1, deny: 0, not_applicable: 0 },
    });
    h.clock.advance(11 * DAY);
    expect((await h.app.reports.compliance(h.admin, "acme", {})).policy.mode).toBe("enforce");
  });

  it("lists the exemptions to review: overdue reviews, those expiring soon, those awaiting approval", async () => {
    await exempt("carol", "temporary_access", { startsIn: 0, expiresIn: 10, reviewIn: 1 });
    await exempt("alice", "temporary_access", { startsIn: 0, expiresIn: 1, reviewIn: 1 });
    const rejected = await exempt(
      "bob",
      "temporary_access",
      { startsIn: 0, expiresIn: 5, reviewIn: 2 },
      false,
    );
    await h.app.exemptions.reject(approver, "acme", rejected.id, { reason: "no" });
    h.clock.advance(2 * DAY);
    const breakGlass = await exempt("erin", "break_glass", {
      startsIn: 0,
      expiresIn: 1,
      reviewIn: 1,
    });
    const upcoming = await exempt("svc", "legacy_integration", {
      startsIn: 2,
      expiresIn: 40,
      reviewIn: 20,
    });
    const awaiting = await exempt(
      "dave",
      "temporary_access",
      { startsIn: 0, expiresIn: 30, reviewIn: 15 },
      false,
    );

    const review = (await h.app.reports.compliance(h.admin, "acme", {})).exemptions;
    // alice's has expired and bob's was rejected: neither is listed. Soonest expiry first.
    expect(
      review.items.map((item) => [
        item.principal,
        item.state,
        item.reviewOverdue,
        item.expiringSoon,
      ]),
    ).toEqual([
      ["erin", "in_force", false, true],
      ["carol", "in_force", true, true],
      ["dave", "awaiting_approval", false, false],
      ["svc", "upcoming", false, false],
    ]);
    expect(review).toMatchObject({
      dueWithinDays: 14,
      inForce: 2,
      upcoming: 1,
      awaitingApproval: 1,
      reviewOverdue: 1,
      expiringSoon: 2,
      truncated: false,
    });
    expect(review.items[0]).toMatchObject({
      id: breakGlass.id,
      category: "break_glass",
      owner: "it-helpdesk",
      approvedBy: approver.id,
    });
    expect(review.items.find((item) => item.id === upcoming.id)?.startsAt).toBe(upcoming.startsAt);
    expect(review.items.find((item) => item.id === awaiting.id)?.approvedBy).toBeUndefined();

    const wider = (await h.app.reports.compliance(h.admin, "acme", { dueWithinDays: 30 }))
      .exemptions;
    expect(wider).toMatchObject({ dueWithinDays: 30, expiringSoon: 3 });
  });

  it("does not count as in force an exemption still approved on a principal marked as a shared login before marks revoked them, which the engine refuses", async () => {
    const approved = await exempt("carol", "temporary_access", {
      startsIn: 0,
      expiresIn: 10,
      reviewIn: 5,
    });
    const awaiting = await exempt(
      "carol",
      "temporary_access",
      { startsIn: 1, expiresIn: 9, reviewIn: 5 },
      false,
    );
    // Marked in the store directly, as marks made before a mark revoked the principal's open
    // exemptions left them: approved and requested still.
    await h.store.transaction(async ({ principals }) => {
      const carol = await principals.get("acme", "carol");
      if (carol === undefined) throw new Error("no carol");
      await principals.upsert({ ...carol, sharedLogin: true });
    });
    const decision = await h.app.decisions.decide(service, "acme", passwordSignIn("carol"));
    expect([decision.outcome, decision.exemption]).toEqual(["challenge", null]);

    const review = (await h.app.reports.compliance(h.admin, "acme", {})).exemptions;
    expect(review.items.map((item) => [item.id, item.state])).toEqual([
      [awaiting.id, "shared_login_refused"],
      [approved.id, "shared_login_refused"],
    ]);
    expect(review).toMatchObject({
      inForce: 0,
      upcoming: 0,
      awaitingApproval: 0,
      sharedLoginRefused: 2,
    });
  });

  // An exemption excuses the tenant policy and exemptible mandates only (DESIGN: "Mandates marked
  // not exemptible cannot be exempted at all"): "in force" alone would overstate what it lifts.
  it("names, for each exemption, the mandates binding its principal now that it cannot lift, as the engine applies them", async () => {
    const mandate = (
      id: string,
      exemptible: boolean,
      scope: PlatformMandate["scope"],
      window: Pick<PlatformMandate, "activeFrom"> = {},
    ) =>
      h.app.mandates.create(h.admin, {
        id,
        mandate: { require: { minAal: 2 }, exemptible, scope, ...window },
        rationale: "r",
      });
    await mandate("uplift", false, { tenants: ["acme"], populations: ["direct"] });
    await mandate("sso-uplift", false, { tenants: "all", populations: ["sso"] });
    await mandate("baseline", true, { tenants: "all" });
    await mandate("later", false, { tenants: "all" }, { activeFrom: at(3) });
    await mandate("globex-only", false, { tenants: ["globex"] });
    const window = { startsIn: 0, expiresIn: 10, reviewIn: 5 };
    for (const principal of ["carol", "dave", "erin", "svc"])
      await exempt(principal, "temporary_access", window);
    const awaiting = await exempt("carol", "temporary_access", window, false);

    const review = (await h.app.reports.compliance(h.admin, "acme", {})).exemptions;
    expect(review.items).toHaveLength(5);
    expect(
      review.items.map((item) => [item.principal, item.state, item.notExemptibleMandates]),
    ).toEqual(
      expect.arrayContaining([
        ["carol", "in_force", ["uplift"]],
        ["carol", "awaiting_approval", ["uplift"]],
        ["dave", "in_force", ["sso-uplift"]],
        ["erin", "in_force", []],
        // An integration signing in with a password is held to the rules of a `direct` person.
        ["svc", "in_force", ["uplift"]],
      ]),
    );
    expect(review.items.find((item) => item.id === awaiting.id)?.notExemptibleMandates).toEqual([
      "uplift",
    ]);
    expect(review).toMatchObject({ inForce: 4, inForceLimitedByMandates: 3 });

    // The engine agrees: carol's exemption lifts the tenant's requirement, not the mandate's.
    const carol = await h.app.decisions.decide(service, "acme", passwordSignIn("carol"));
    expect([carol.outcome, carol.exemption, carol.reasons[0]?.code]).toEqual([
      "challenge",
      null,
      "exemption.not_exemptible",
    ]);
    const erin = await h.app.decisions.decide(service, "acme", passwordSignIn("erin"));
    expect([erin.outcome, erin.exemption?.id]).toEqual([
      "allow",
      review.items.find((item) => item.principal === "erin")?.id,
    ]);
  });

  it("names the mandates that bind the tenant now, and no other", async () => {
    const mandate = { require: { minAal: 2 as const }, exemptible: false };
    await h.app.mandates.create(h.admin, {
      id: "uplift",
      mandate: {
        ...mandate,
        title: "Phishing campaign",
        scope: { tenants: ["acme"], populations: ["direct"] },
        activeUntil: at(7),
      },
      rationale: "r",
    });
    await h.app.mandates.create(h.admin, {
      id: "globex-only",
      mandate: { ...mandate, scope: { tenants: ["globex"] } },
      rationale: "r",
    });
    await h.app.mandates.create(h.admin, {
      id: "later",
      mandate: { ...mandate, scope: { tenants: "all" }, activeFrom: at(3) },
      rationale: "r",
    });
    await h.app.mandates.create(h.admin, {
      id: "retired",
      mandate: { ...mandate, scope: { tenants: "all" } },
      rationale: "r",
    });
    await h.app.mandates.retire(h.admin, "retired", { rationale: "done", ifMatch: 1 });

    const report = await h.app.reports.compliance(h.admin, "acme", {});
    expect(report.mandates).toEqual([
      {
        id: "uplift",
        version: 1,
        title: "Phishing campaign",
        exemptible: false,
        populations: ["direct"],
        activeUntil: at(7),
      },
    ]);
    h.clock.advance(4 * DAY);
    const later = await h.app.reports.compliance(h.admin, "acme", {});
    expect(later.mandates.map((m) => m.id).sort()).toEqual(["later", "uplift"]);
  });

  it("is read by the tenant's administrators and auditors only, and never across tenants", async () => {
    const auditor = await h.caller(["tenant_auditor"], ["acme"]);
    const admin = await h.caller(["tenant_admin"], ["acme"]);
    const globexAdmin = await h.caller(["tenant_admin"], ["globex"]);
    const codeOf = (caller: Caller, tenant: string) =>
      world.codeOf(h.app.reports.compliance(caller, tenant, {}));
    expect(await codeOf(auditor, "acme")).toBe("ok");
    expect(await codeOf(admin, "acme")).toBe("ok");
    expect(await codeOf(approver, "acme")).toBe("auth.forbidden");
    expect(await codeOf(service, "acme")).toBe("auth.forbidden");
    expect(await codeOf(globexAdmin, "acme")).toBe("not_found");
    expect(await codeOf(h.admin, "nowhere")).toBe("not_found");
  });

  // The use case reads principals and exemptions by cursor, and audit events by position, 500
  // at a time: whatever the page boundaries, each row counts once. Seeded through the store, as
  // the use cases would leave the rows, so that a thousand rows take one transaction.
  describe("across pages of the store", () => {
    const ids = (prefix: string, count: number) =>
      Array.from({ length: count }, (_, i) => `${prefix}-${String(i).padStart(4, "0")}`);
    const addPrincipals = (tenant: string, principals: readonly string[]) =>
      h.store.transaction(async (r) => {
        for (const id of principals) {
          await r.principals.insert({
            tenant,
            id,
            population: "direct",
            createdAt: at(0),
            updatedAt: at(0),
          });
        }
      });

    it("counts each principal once at exactly one page and at one more", async () => {
      // acme has 8 principals already; globex's never count.
      await addPrincipals("acme", ids("p", 492));
      await addPrincipals("globex", ids("p", 600));
      const exactly = (await h.app.reports.compliance(h.admin, "acme", {})).principals;
      expect(exactly.registered).toBe(500);
      expect(exactly.byPopulation.direct.registered).toBe(496);
      expect(exactly.directWithoutPlatformMfa).toMatchObject({ count: 495, truncated: true });

      await addPrincipals("acme", ["p-9999"]);
      const more = (await h.app.reports.compliance(h.admin, "acme", {})).principals;
      expect(more.registered).toBe(501);
      expect(more.byPopulation.direct).toMatchObject({
        registered: 497,
        withTotp: 1,
        withWebAuthn: 1,
        withoutPlatformMfa: 495,
      });
      expect(more.directWithoutPlatformMfa.count).toBe(496);
      expect(more.directWithoutPlatformMfa.principals).toEqual(
        ["carol", "erin", "kiosk", ...ids("p", 492), "p-9999"].sort().slice(0, 100),
      );
    });

    it("counts every decision and break-glass use of the period once, among events outside it", async () => {
      const from = at(-20);
      const to = at(-10);
      const inside = (i: number) => new Date(Date.parse(from) + i * 1000).toISOString();
      // By position, 201 times: three decisions in the period (the first at `from` itself,
      // included), one before it, one at `to` (excluded), three break-glass uses in the period.
      // Runs of three put events the report counts on both sides of each page's end.
      const integrations = ids("int", 150);
      const events: { type: string; at: string; payload: Record<string, unknown> }[] = [];
      let counted = 0;
      const decision = (time: string, outcome: string) => ({
        type: DECISION_RECORDED,
        at: time,
        payload: {
          decision: `dec_${String(events.length)}`,
          principal: integrations[events.length % 150],
          outcome,
          mode: "enforce",
          reasons: ["population.integration_interactive"],
        },
      });
      for (let i = 0; i < 201; i++) {
        for (let j = 0; j < 3; j++, counted++) {
          events.push(decision(inside(counted), counted % 2 === 0 ? "allow" : "challenge"));
        }
        events.push(decision(at(-25), "deny"), decision(to, "deny"));
        for (let j = 0; j < 3; j++) {
          events.push({ type: "exemption.break_glass_used", at: inside(i), payload: {} });
        }
      }
      await h.store.transaction((r) =>
        r.audit.appendMany(
          chainOf("acme"),
          events.map(
            ({ type, at: time, payload }, i) =>
              (head) =>
                linkEvent(
                  { tenant: "acme", type, actor: "test", payload },
                  head,
                  `evt_paged_${String(i)}`,
                  time,
                ),
          ),
        ),
      );
      const { decisions } = await h.app.reports.compliance(h.admin, "acme", { from, to });
      expect(decisions).toMatchObject({
        total: 603,
        byOutcome: { allow: 302, challenge: 301, deny: 0, not_applicable: 0 },
        byReason: { "population.integration_interactive": 603 },
        breakGlassUses: 603,
        interactiveIntegrations: { count: 150, truncated: true },
      });
      expect(decisions.interactiveIntegrations.principals).toEqual(ids("int", 100));
    });

    it("lists each exemption once, approved and requested alike, past a page of each", async () => {
      await h.store.transaction(async (r) => {
        // Ids interleave the statuses, so each status's pages end at different ids.
        for (let i = 0; i < 501; i++) {
          await r.exemptions.insert(
            exemption(`ex-${String(i).padStart(4, "0")}-a`, "approved", 20),
          );
          await r.exemptions.insert(
            exemption(`ex-${String(i).padStart(4, "0")}-r`, "requested", 30),
          );
          await r.exemptions.insert(exemption(`ex-${String(i).padStart(4, "0")}-x`, "rejected", 5));
        }
        // Approved, but expired: not listed.
        await r.exemptions.insert(exemption("ex-expired", "approved", -1 / 24));
      });
      const review = (await h.app.reports.compliance(h.admin, "acme", {})).exemptions;
      expect(review).toMatchObject({
        inForce: 501,
        upcoming: 0,
        awaitingApproval: 501,
        reviewOverdue: 0,
        expiringSoon: 0,
        truncated: true,
      });
      // Soonest expiry first: every approved one, then the first requested ones.
      expect(review.items).toHaveLength(500);
      expect(new Set(review.items.map((item) => item.id)).size).toBe(500);
      expect(review.items.every((item) => item.state === "in_force")).toBe(true);
    });
  });

  it("reads no exemption that has expired: the store leaves them out, however many there are", async () => {
    await h.store.transaction(async (r) => {
      for (let i = 0; i < 20; i++) {
        await r.exemptions.insert(exemption(`old-a-${String(i)}`, "approved", -1));
        await r.exemptions.insert(exemption(`old-r-${String(i)}`, "requested", -1));
      }
      // Expiring at the report's instant: expired, as the engine sees it.
      await r.exemptions.insert(exemption("ends-now", "approved", 0));
      await r.exemptions.insert(exemption("live", "approved", 1));
    });
    const read: string[] = [];
    const store = wrapRepositories(h.store, (r) => ({
      ...r,
      exemptions: {
        ...r.exemptions,
        list: async (...args) => {
          const page = await r.exemptions.list(...args);
          read.push(...page.items.map((item) => item.id));
          return page;
        },
      },
    }));
    const reporter = h.application({ store, random: new CountingRandom(1_000_000) });
    try {
      const review = (await reporter.reports.compliance(h.admin, "acme", {})).exemptions;
      expect(review.items.map((item) => item.id)).toEqual(["live"]);
      expect(read).toEqual(["live"]);
    } finally {
      await reporter.close();
    }
  });

  it("refuses a period that is not a period, or longer than a year and a day", async () => {
    const refusal = async (options: Parameters<Harness["app"]["reports"]["compliance"]>[2]) => {
      try {
        await h.app.reports.compliance(h.admin, "acme", options);
        return "ok";
      } catch (error) {
        if (!(error instanceof AppError)) throw error;
        return `${error.code}: ${error.message}`;
      }
    };
    expect(await refusal({ from: at(0), to: at(0) })).toBe(
      "request.invalid: from must be before to.",
    );
    expect(await refusal({ from: at(1) })).toBe("request.invalid: from must be before to.");
    expect(await refusal({ from: at(-367) })).toMatch(
      /^request\.invalid: A report counts at most 366 days/,
    );
    expect(await refusal({ from: at(-366) })).toBe("ok");
    expect(await refusal({ from: "yesterday" })).toMatch(
      /^request\.invalid: from must be an ISO 8601 time/,
    );
    expect(await refusal({ to: "10000-01-01T00:00:00Z" })).toMatch(/^request\.invalid: to must be/);
    expect(await refusal({ dueWithinDays: 0 })).toMatch(/^request\.invalid: dueWithinDays/);
    expect(await refusal({ dueWithinDays: 91 })).toMatch(/^request\.invalid: dueWithinDays/);
    expect(await refusal({ dueWithinDays: 1.5 })).toMatch(/^request\.invalid: dueWithinDays/);
    // A period near the start of year 0000 starts there, not in a year the service cannot write.
    expect(await refusal({ to: "0000-01-05T00:00:00Z" })).toBe("ok");
  });

  it("names each field it refuses, only those given, for a front end to point at", async () => {
    const fields = async (options: Parameters<Harness["app"]["reports"]["compliance"]>[2]) => {
      try {
        await h.app.reports.compliance(h.admin, "acme", options);
        return [];
      } catch (error) {
        if (!(error instanceof InvalidInput)) throw error;
        return error.fields();
      }
    };
    expect(await fields({ from: at(1), to: at(0) })).toEqual([
      { field: "from", detail: "must be before to" },
      { field: "to", detail: "must be after from" },
    ]);
    // `to` defaults to now: only `from` is at fault.
    expect(await fields({ from: at(-367) })).toEqual([
      { field: "from", detail: "must be at most 366 days before to" },
    ]);
    expect(await fields({ to: "10000-01-01T00:00:00Z" })).toEqual([
      { field: "to", detail: "must be an ISO 8601 time within years 0000–9999 in UTC" },
    ]);
    expect(await fields({ dueWithinDays: 0 })).toEqual([
      { field: "dueWithinDays", detail: "must be a whole number of days from 1 to 90" },
    ]);
  });
};

describe("the compliance report (SQLite)", reportTests(false));
describeOnPostgres(
  {
    title: "the compliance report (PostgreSQL)",
    skippedTitle: "the compliance report on PostgreSQL",
    tests: "compliance report tests",
  },
  reportTests(true),
);
