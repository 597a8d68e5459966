/**
 * The decision service's checks, pinned where a mutation survey of src/app/decisions found them
 * unpinned: what a receipt and its audit events keep for an auditor, what the engine is given of
 * the request and the store, and the decision API's own refusals.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { AuthenticationEvent } from "../../core/evidence.js";
import type { Caller, DecisionRequest } from "../application.js";
import { digestReceipt } from "../audit/audit-chain.js";
import { transact } from "../context.js";
import { AppError } from "../errors.js";
import { openHarness, type Harness } from "../test-support/harness.js";
import { replacePolicy } from "../test-support/replace-policy.js";
import type { TestDatabase } from "../../storage/postgres/test-support/test-database.js";
import { describeOnPostgres, openPostgresDatabase } from "../test-support/postgres-instances.js";
import { prepareDecision, recordDecision, type DecisionServices } from "./decisions.js";
import { attestationTrust } from "../authenticators/webauthn.js";
import { ReceiptWriter } from "./receipt-writer.js";
import { RulesCache } from "./rules-cache.js";

let h: Harness;
let service: Caller;
const ago = (seconds: number) => new Date(h.clock.now().getTime() - seconds * 1000).toISOString();
const password = (): AuthenticationEvent => ({
  method: "password",
  source: "platform",
  at: ago(60),
});
const totp = (): AuthenticationEvent => ({ method: "totp", source: "platform", at: ago(30) });
const signIn = (
  events: readonly AuthenticationEvent[],
  more: Partial<DecisionRequest> = {},
): DecisionRequest => ({ principal: { id: "alice" }, evidence: { events }, ...more });
const decide = (request: DecisionRequest, tenant = "acme") =>
  h.app.decisions.decide(service, tenant, request);
const summaryOf = async (id: string | null) =>
  (await h.app.decisions.receipt(h.admin, id ?? "")).inputSummary;
const recordedEvents = async (type: string) =>
  (await h.app.audit.list(h.admin, "acme", { type }, { limit: 50 })).items;

/** The decision services of the harness's store, as a use case outside the decision API has them. */
function ownServices(): DecisionServices & { close(): void } {
  const rules = new RulesCache(h.store, h.clock);
  return {
    rules,
    receipts: new ReceiptWriter(h.context),
    attested: attestationTrust(undefined),
    close: () => {
      rules.close();
    },
  };
}

/**
 * An exemption of `category` for alice at acme, requested and approved by two parties, ending in
 * `seconds` (an hour by default).
 */
async function approvedExemption(
  category: "break_glass" | "temporary_access",
  seconds = 3600,
): Promise<string> {
  const admin = await h.caller(["tenant_admin"], ["acme"]);
  const approver = await h.caller(["exemption_approver"], ["acme"]);
  const requested = await h.app.exemptions.request(admin, "acme", {
    principal: "alice",
    category,
    justification: "vendor outage",
    owner: "secops",
    startsAt: ago(0),
    expiresAt: ago(-seconds),
    reviewAt: ago(-seconds / 2),
  });
  await h.app.exemptions.approve(approver, "acme", requested.id);
  return requested.id;
}

/** Opens the harness (SQLite in memory unless `url` names a database) with acme and alice. */
async function setUp(url?: string): Promise<void> {
  h = await openHarness(url === undefined ? {} : { url });
  await h.app.tenants.create(h.admin, { id: "acme", name: "Acme" });
  await h.app.principals.upsert(h.admin, "acme", "alice", { population: "direct" });
  service = await h.caller(["platform_service"], ["acme"]);
}
beforeEach(() => setUp());
afterEach(() => h.close());

describe("what a receipt keeps of the sign-in", () => {
  // Threat: a receipt that no longer says what a WebAuthn step proved (user verification, a
  // synced key, hardware attestation), so an auditor cannot tell why it met AAL2 or AAL3.
  it("keeps a WebAuthn step's flags and attestation", async () => {
    const webauthn: AuthenticationEvent = {
      method: "webauthn",
      source: "platform",
      at: ago(30),
      userVerified: true,
      backupEligible: false,
      attested: true,
    };
    const decision = await decide(signIn([password(), webauthn]));
    const summary = await summaryOf(decision.id);
    expect(summary["events"]).toEqual([
      { method: "password", at: ago(60), source: "platform" },
      {
        method: "webauthn",
        at: ago(30),
        source: "platform",
        userVerified: true,
        backupEligible: false,
        attested: true,
      },
    ]);
  });

  // Threat: a receipt of a federated sign-in that drops which IdP answered, what its mapping
  // granted, or the IdP's own claims: the auditor can no longer check the grant against them.
  it("keeps a federated step's IdP, granted assurance and the IdP's verbatim claims", async () => {
    const services = ownServices();
    const federated: AuthenticationEvent = {
      method: "federated",
      source: "idp",
      tenant: "acme",
      idp: "okta",
      at: ago(30),
      assurance: { aal: 2, phishingResistant: false },
      claims: { amr: ["mfa", "pwd"], acr: "urn:okta:mfa" },
    };
    const prepared = await prepareDecision(h.context, services, "acme", signIn([federated]), {
      id: "idp:okta",
    });
    services.close();
    expect(prepared.receipt.inputSummary["events"]).toEqual([
      {
        method: "federated",
        at: ago(30),
        source: "idp",
        idp: "okta",
        assurance: { aal: 2, phishingResistant: false },
        claims: { amr: ["mfa", "pwd"], acr: "urn:okta:mfa" },
      },
    ]);
  });

  // Threat: a receipt that drops the inputs that changed the requirement or the principal's
  // standing (token grant, acting individual, risk, step-up): the decision cannot be replayed.
  it("keeps the token grant, the acting individual, the risk and the step-up asked for", async () => {
    const decision = await decide(
      signIn([password(), totp()], {
        evidence: {
          events: [password(), totp()],
          grant: "client_credentials",
          act: { sub: "jdoe", iss: "https://pam.example" },
        },
        risk: "high",
        stepUp: { maxAgeSeconds: 300 },
      }),
    );
    expect(await summaryOf(decision.id)).toMatchObject({
      grant: "client_credentials",
      act: { sub: "jdoe", iss: "https://pam.example" },
      risk: "high",
      stepUp: { maxAgeSeconds: 300 },
    });
  });

  // Threat: a hosted flow's decision whose receipt does not name the flow it came from.
  it("keeps what the caller of prepareDecision asks an auditor to see", async () => {
    const services = ownServices();
    const prepared = await prepareDecision(
      h.context,
      services,
      "acme",
      signIn([password(), totp()]),
      { id: "flow:flw_1" },
      { flow: { id: "flw_1" } },
    );
    services.close();
    expect(prepared.receipt.inputSummary).toMatchObject({
      population: "direct",
      flow: { id: "flw_1" },
    });
  });
});

describe("what the engine is given", () => {
  // Threat: a decision for a tenant that does not exist (no policy) is evaluated against nothing
  // rather than refused (DESIGN invariant 1: no allow without a verified policy).
  it("refuses a tenant that has no policy as not_found, and records nothing", async () => {
    const everywhere = await h.caller(["platform_service"], "all");
    await expect(
      h.app.decisions.decide(everywhere, "nowhere", {
        principal: { id: "alice", population: "direct" },
        evidence: { events: [password(), totp()] },
      }),
    ).rejects.toMatchObject({ code: "not_found" });
    const receipts = await h.store.read((r) => r.receipts.countByTenant());
    expect(receipts.get("nowhere") ?? 0).toBe(0);
  });

  // Threat: a login marked as shared after its exemption was approved keeps using it (seed 001:
  // shared logins are never exempted); the mark must reach the engine on every decision.
  it("does not let a principal marked as a shared login use an exemption approved before", async () => {
    const exemption = await approvedExemption("break_glass");
    expect(await decide(signIn([password()]))).toMatchObject({
      outcome: "allow",
      exemption: { id: exemption },
    });
    await h.app.principals.upsert(h.admin, "acme", "alice", {
      population: "direct",
      sharedLogin: true,
    });
    const after = await decide(signIn([password()]));
    expect(after.outcome).not.toBe("allow");
    expect(after.exemption).toBeNull();
  });

  // Threat: the engine choosing among part of a principal's exemptions only, so that which one
  // a decision uses (and whether it raises a break-glass alert) depends on the store's order.
  it("gives the engine every exemption of the principal active now", async () => {
    await approvedExemption("break_glass", 1800);
    const longer = await approvedExemption("temporary_access", 7200);
    const decision = await decide(signIn([password()]));
    expect(decision.exemption).toMatchObject({ id: longer, breakGlass: false });
  });

  // Threat: a principal's long history of past exemptions crowding its active one out of what
  // the decision reads.
  it("finds the active exemption among more than a hundred past ones", async () => {
    await h.store.transaction(async (r) => {
      for (let i = 0; i <= 100; i++) {
        await r.exemptions.insert({
          id: `exa_${String(i).padStart(3, "0")}`,
          tenant: "acme",
          principal: "alice",
          category: "temporary_access",
          status: "approved",
          startsAt: ago(86_400 * 30),
          expiresAt: ago(86_400 * 29),
          reviewAt: ago(86_400 * 29),
          requestedBy: "key_admin",
          approvedBy: "key_approver",
          justification: "migration",
          owner: "it",
          createdAt: ago(86_400 * 30),
        });
      }
    });
    const active = await approvedExemption("temporary_access");
    expect((await decide(signIn([password()]))).exemption?.id).toBe(active);
  });

  // Threat: a high-risk sign-in decided as if its risk were unknown, skipping the policy's
  // stricter rules for that risk.
  it("applies the policy's risk rules for the risk the request reports", async () => {
    await replacePolicy(h, "acme", {
      posture: "platform_mfa",
      riskRules: { high: { phishingResistant: true } },
    });
    expect((await decide(signIn([password(), totp()], { risk: "low" }))).outcome).toBe("allow");
    expect((await decide(signIn([password(), totp()], { risk: "high" }))).outcome).toBe(
      "challenge",
    );
  });

  // Threat: a sensitive action's step-up request ignored, so the session's older, weaker MFA
  // passes for it.
  it("applies the step-up the request asks for", async () => {
    expect((await decide(signIn([password(), totp()]))).outcome).toBe("allow");
    const stepped = await decide(signIn([password(), totp()], { stepUp: { maxAgeSeconds: 10 } }));
    expect(stepped.outcome).toBe("challenge");
  });

  // Threat: an idle session let through because the decision never saw its last activity.
  it("applies the policy's idle timeout to the request's last activity", async () => {
    await replacePolicy(h, "acme", {
      posture: "platform_mfa",
      require: { idleTimeoutSeconds: 600 },
    });
    // MFA proved half an hour ago: the session is idle unless it was active since.
    const earlier: AuthenticationEvent[] = [
      { method: "password", source: "platform", at: ago(1810) },
      { method: "totp", source: "platform", at: ago(1800) },
    ];
    expect((await decide(signIn(earlier, { lastActivityAt: ago(5) }))).outcome).toBe("allow");
    const idle = await decide(signIn(earlier, { lastActivityAt: ago(1200) }));
    expect(idle.outcome).not.toBe("allow");
  });

  // Threat: a challenge that offers enrolment to a principal who already holds an authenticator,
  // or a step-up at a generic IdP instead of the tenant's, sending the user down the wrong path.
  it("guides the challenge by the principal's authenticators and the tenant's IdPs", async () => {
    const enrolled = await decide({
      principal: { id: "alice", authenticators: [{ method: "totp", id: "auth_1" }] },
      evidence: { events: [password()] },
    });
    expect(enrolled.challenge).toContainEqual(
      expect.objectContaining({ kind: "verify", method: "totp", authenticatorId: "auth_1" }),
    );
    await replacePolicy(h, "acme", { posture: "idp_or_platform" });
    const atIdp = await decide(
      signIn([password()], { idps: [{ id: "okta", mfaRequestValues: ["urn:okta:mfa"] }] }),
    );
    expect(atIdp.challenge).toContainEqual(
      expect.objectContaining({ kind: "idp_step_up", idp: "okta", acrValues: ["urn:okta:mfa"] }),
    );
  });
});

describe("the audit events a decision records", () => {
  // Threat: a decision.recorded event that drops who asked, for whom, under which rules, for
  // which reasons, or which exemption let the principal in: the audit log no longer accounts
  // for the decision without the receipt (which may be purged or altered).
  it("records the caller, principal, outcome, mode, reasons, versions and exemption", async () => {
    await h.app.mandates.create(h.admin, {
      id: "baseline",
      mandate: { scope: { tenants: "all" }, require: { minAal: 2 }, exemptible: true },
      rationale: "baseline",
    });
    const exemption = await approvedExemption("temporary_access");
    const decision = await decide(signIn([password()]));
    expect(decision).toMatchObject({ outcome: "allow", exemption: { id: exemption } });
    const [event] = await recordedEvents("decision.recorded");
    const receipt = await h.app.decisions.receipt(h.admin, decision.id ?? "");
    const { recordedBy: _, ...stored } = receipt;
    expect(event).toMatchObject({ id: `evt_${decision.id ?? ""}`, actor: service.id });
    expect(event?.payload).toEqual({
      decision: decision.id,
      receipt: digestReceipt(stored),
      principal: "alice",
      outcome: "allow",
      mode: "enforce",
      reasons: decision.reasons.map((reason) => reason.code),
      policyVersion: 1,
      mandates: [{ id: "baseline", version: 1 }],
      exemption,
    });
    expect(decision.reasons.length).toBeGreaterThan(0);
    // Only break-glass use is its own event.
    expect(await recordedEvents("exemption.break_glass_used")).toEqual([]);
  });

  // Threat: during a report-only period the audit log says `allow` and hides that the policy,
  // once enforced, would have challenged.
  it("records what a report-only policy would have decided", async () => {
    await replacePolicy(h, "acme", {
      posture: "phishing_resistant",
      enforcementStartsAt: ago(-86_400),
    });
    const decision = await decide(signIn([password(), totp()]));
    expect(decision).toMatchObject({ mode: "report_only", reportOnly: { outcome: "challenge" } });
    const [event] = await recordedEvents("decision.recorded");
    expect(event?.payload).toMatchObject({
      mode: "report_only",
      outcome: decision.outcome,
      reportOnlyOutcome: "challenge",
    });
  });

  // Threat: a break-glass event that operators alert on but cannot tell when the access ends, or
  // that the chain lists before the decision it belongs to.
  it("records break-glass use after the decision, with the exemption's expiry", async () => {
    const exemption = await approvedExemption("break_glass");
    const decision = await decide(signIn([password()]));
    const [breakGlass] = await recordedEvents("exemption.break_glass_used");
    const [recorded] = await recordedEvents("decision.recorded");
    expect(breakGlass?.payload).toEqual({
      decision: decision.id,
      principal: "alice",
      exemption,
      expiresAt: decision.exemption?.expiresAt,
    });
    expect(breakGlass?.actor).toBe(service.id);
    expect(breakGlass?.seq).toBe((recorded?.seq ?? 0) + 1);
  });
});

/**
 * Threat: a hosted flow's decision that is acted on though its receipt or its audit event was
 * never written (DESIGN invariant 4: both commit together or not at all).
 */
async function recordsTogetherOrNotAtAll(): Promise<void> {
  const services = ownServices();
  const prepare = () =>
    prepareDecision(h.context, services, "acme", signIn([password(), totp()]), {
      id: "flow:flw_1",
    });
  const stored = await prepare();
  await transact(h.context, (r) => recordDecision(h.context, r, stored));
  expect(await h.app.decisions.receipt(h.admin, stored.receipt.id)).toMatchObject({
    outcome: "allow",
    recordedBy: `evt_${stored.receipt.id}`,
  });

  const lost = await prepare();
  await expect(
    transact(h.context, async (r) => {
      await recordDecision(h.context, r, lost);
      throw new AppError("request.invalid", "the caller's own step failed after recording");
    }),
  ).rejects.toMatchObject({ code: "request.invalid" });
  services.close();
  await expect(h.app.decisions.receipt(h.admin, lost.receipt.id)).rejects.toMatchObject({
    code: "not_found",
  });
  const recorded = (await recordedEvents("decision.recorded")).map((e) => e.payload["decision"]);
  expect(recorded).toEqual([stored.receipt.id]);
}

describe("a decision recorded in the caller's own transaction", () => {
  it("stores the receipt and its audit event together, or neither", recordsTogetherOrNotAtAll);
});

describeOnPostgres(
  {
    title: "a decision recorded in the caller's own transaction, on PostgreSQL",
    skippedTitle: "a decision recorded in the caller's own transaction, on PostgreSQL",
    tests: "decision recording tests",
  },
  () => {
    let database: TestDatabase;
    beforeEach(async () => {
      await h.close();
      database = await openPostgresDatabase();
      await setUp(database.url);
    });
    afterEach(async () => {
      await h.close();
      await database.drop();
      // The file's own afterEach closes a harness: give it one.
      await setUp();
    });
    it("stores the receipt and its audit event together, or neither", recordsTogetherOrNotAtAll);
  },
);

describe("the decision API's own checks", () => {
  // Threat: a decision, and a receipt, for a principal with no name.
  it("refuses an empty principal id", async () => {
    await expect(
      decide({ principal: { id: "", population: "direct" }, evidence: { events: [password()] } }),
    ).rejects.toMatchObject({ code: "request.invalid" });
  });

  // Threat: caller-asserted IdP evidence slipped in behind a platform event (DESIGN invariant 3).
  it("refuses federated evidence wherever it stands among the events", async () => {
    const federated: AuthenticationEvent = {
      method: "federated",
      source: "idp",
      tenant: "acme",
      idp: "okta",
      at: ago(10),
      assurance: { aal: 3, phishingResistant: true },
    };
    await expect(decide(signIn([password(), federated]))).rejects.toMatchObject({
      code: "request.invalid",
    });
  });

  // Threat: a caller without the right to read receipts learning which receipt ids exist, from
  // answers that differ between an unknown id and a real one.
  it("answers a caller without receipt.read alike for an unknown receipt and a real one", async () => {
    const decision = await decide(signIn([password(), totp()]));
    const errorOf = (id: string) =>
      h.app.decisions.receipt(service, id).then(
        () => "served",
        (error: unknown) => (error instanceof AppError ? error.code : "not an AppError"),
      );
    expect(await errorOf(decision.id ?? "")).toBe("auth.forbidden");
    expect(await errorOf("dec_unknown")).toBe("auth.forbidden");
  });

  // Threat: a tenant's auditor reading another tenant's receipts (DESIGN invariant 5).
  it("does not serve a receipt to an auditor of another tenant", async () => {
    await h.app.tenants.create(h.admin, { id: "globex", name: "Globex" });
    const decision = await decide(signIn([password(), totp()]));
    const foreign = await h.caller(["tenant_auditor"], ["globex"]);
    await expect(h.app.decisions.receipt(foreign, decision.id ?? "")).rejects.toMatchObject({
      code: "not_found",
    });
  });
});
