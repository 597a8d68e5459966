import { describe, expect, it } from "vitest";
import { evaluate } from "./evaluate.js";
import type { EvaluationInput } from "./input.js";
import {
  NOW,
  ago,
  codes,
  decide,
  exemption,
  federated,
  input,
  mandate,
  password,
  policy,
  recoveryCode,
  totp,
  webauthn,
} from "./test-support/fixtures.js";
import { REFEDS_MFA, type Outcome } from "./vocabulary.js";

describe("postures", () => {
  const table: [string, Partial<EvaluationInput>, Outcome][] = [
    [
      "platform_mfa allows password + TOTP",
      { evidence: { events: [password(), totp()] } },
      "allow",
    ],
    [
      "platform_mfa allows password + recovery code",
      { evidence: { events: [password(), recoveryCode()] } },
      "allow",
    ],
    [
      "platform_mfa allows a passkey that verified the user",
      { evidence: { events: [webauthn({ be: true })] } },
      "allow",
    ],
    [
      "platform_mfa challenges a password alone",
      { evidence: { events: [password()] } },
      "challenge",
    ],
    [
      "platform_mfa does not take the IdP's proof",
      {
        principal: { id: "alice", population: "sso" },
        evidence: { events: [federated({ aal: 2 })] },
      },
      "challenge",
    ],
    [
      "phishing_resistant allows WebAuthn with user verification",
      { policy: policy("phishing_resistant"), evidence: { events: [webauthn({ uv: true })] } },
      "allow",
    ],
    [
      "phishing_resistant challenges password + TOTP",
      { policy: policy("phishing_resistant"), evidence: { events: [password(), totp()] } },
      "challenge",
    ],
    [
      "phishing_resistant challenges WebAuthn without user verification, even with a password",
      {
        policy: policy("phishing_resistant"),
        evidence: { events: [password(), webauthn({ uv: false })] },
      },
      "challenge",
    ],
    [
      "idp_mfa allows the IdP's proof of MFA",
      { policy: policy("idp_mfa"), evidence: { events: [federated({ aal: 2 })] } },
      "allow",
    ],
    [
      "idp_mfa does not accept platform TOTP",
      { policy: policy("idp_mfa"), evidence: { events: [password(), totp()] } },
      "challenge",
    ],
    [
      "idp_or_platform allows the IdP's proof",
      { policy: policy("idp_or_platform"), evidence: { events: [federated({ aal: 2 })] } },
      "allow",
    ],
    [
      "idp_or_platform allows an IdP single-factor sign-in completed with platform TOTP",
      { policy: policy("idp_or_platform"), evidence: { events: [federated({ aal: 1 }), totp()] } },
      "allow",
    ],
    [
      "mfa_optional allows a password alone when no mandate requires MFA",
      { policy: policy("mfa_optional"), evidence: { events: [password()] } },
      "allow",
    ],
    [
      "mfa_optional does not allow a sign-in with no evidence",
      { policy: policy("mfa_optional"), evidence: { events: [] } },
      "challenge",
    ],
  ];
  it.each(table)("%s", (_name, overrides, outcome) => {
    expect(decide(overrides).outcome).toBe(outcome);
  });

  it("idp_mfa offers no local challenge, only a step-up at the IdP", () => {
    const d = decide({ policy: policy("idp_mfa"), evidence: { events: [federated({ aal: 1 })] } });
    expect(d.challenge.map((o) => o.kind)).toEqual(["idp_step_up"]);
  });

  it("records what satisfied the requirement", () => {
    const d = decide({ evidence: { events: [password(120), totp(30)] } });
    expect(d.satisfiedBy).toEqual({
      events: [password(120), totp(30)],
      aal: 2,
      phishingResistant: false,
      provenAt: ago(30),
    });
  });
});

describe("times in the decision", () => {
  // DESIGN: times in ISO 8601 UTC everywhere in the API; a caller's offset is not echoed back.
  it("reports the satisfying events' times in UTC when they were sent with an offset", () => {
    const withOffset = (text: string) =>
      new Date(Date.parse(text) + 2 * 3_600_000).toISOString().replace("Z", "+02:00");
    const sent = [
      { ...password(120), at: withOffset(ago(120)) },
      { ...totp(30), at: withOffset(ago(30)) },
    ];
    const d = decide({ evidence: { events: sent } });
    expect(d.satisfiedBy?.events).toEqual([password(120), totp(30)]);
    expect(d.satisfiedBy?.provenAt).toBe(ago(30));
  });
});

describe("mandate dominance", () => {
  it("holds an mfa_optional tenant to a mandate's MFA and says so", () => {
    const d = decide({
      policy: policy("mfa_optional"),
      mandates: [mandate("mfa-for-all", { minAal: 2 })],
      evidence: { events: [password()] },
    });
    expect(d.outcome).toBe("challenge");
    expect(d.requirement?.minAal).toEqual({
      value: 2,
      from: [{ kind: "mandate", id: "mfa-for-all", version: 1 }],
    });
    expect(codes(d)).toContain("policy.overridden_by_mandate");
  });

  it("keeps a mandate's phishing resistance even when the tenant picks platform_mfa", () => {
    const d = decide({
      mandates: [mandate("pr", { phishingResistant: true })],
      evidence: { events: [password(), totp()] },
    });
    expect(d.outcome).toBe("challenge");
    expect(codes(d)).toContain("requirement.unmet.phishing_resistance");
    expect(d.reasons.find((r) => r.code === "requirement.unmet.phishing_resistance")?.rule).toEqual(
      {
        kind: "mandate",
        id: "pr",
        version: 1,
      },
    );
  });

  it("denies, saying why, when mandate and tenant accept no common method", () => {
    const d = decide({
      policy: policy("phishing_resistant"),
      mandates: [mandate("otp-only", { acceptedMethods: ["totp"] })],
      evidence: { events: [webauthn()] },
    });
    expect(d.outcome).toBe("deny");
    expect(codes(d)).toEqual(["requirement.conflict"]);
  });

  it("denies when mandate and tenant accept no common proof source", () => {
    const d = decide({
      policy: policy("idp_mfa"),
      mandates: [mandate("local", { proofSource: "platform" })],
      evidence: { events: [federated({ aal: 3, pr: true })] },
    });
    expect(d.outcome).toBe("deny");
    expect(codes(d)).toContain("requirement.conflict");
  });

  it("applies a mandate only to the tenants it lists", () => {
    const only = mandate(
      "globex-only",
      { phishingResistant: true },
      { scope: { tenants: ["globex"] } },
    );
    const d = decide({ mandates: [only], evidence: { events: [password(), totp()] } });
    expect(d.outcome).toBe("allow");
    expect(d.versions.mandates).toEqual([]);
  });

  it("applies a mandate only to the populations it lists", () => {
    const ssoOnly = mandate(
      "sso",
      { phishingResistant: true },
      { scope: { tenants: "all", populations: ["sso"] } },
    );
    expect(
      decide({ mandates: [ssoOnly], evidence: { events: [password(), totp()] } }).outcome,
    ).toBe("allow");
  });

  const window: [string, { activeFrom?: string; activeUntil?: string }, boolean][] = [
    ["before its window", { activeFrom: ago(-1) }, false],
    ["at the start of its window", { activeFrom: ago(0) }, true],
    ["inside its window", { activeFrom: ago(60), activeUntil: ago(-60) }, true],
    ["at the end of its window (exclusive)", { activeUntil: ago(0) }, false],
    ["one second before its end", { activeUntil: ago(-1) }, true],
  ];
  it.each(window)("an emergency uplift %s: binds = %s", (_name, bounds, binds) => {
    const uplift = mandate("uplift", { phishingResistant: true }, bounds);
    const d = decide({ mandates: [uplift], evidence: { events: [password(), totp()] } });
    expect(d.outcome).toBe(binds ? "challenge" : "allow");
    expect(d.versions.mandates).toEqual(binds ? [{ id: "uplift", version: 1 }] : []);
  });

  it("records the versions of the policy and mandates applied", () => {
    const d = decide({
      policy: policy("platform_mfa", { version: 12 }),
      mandates: [mandate("a", {}, { version: 4 }), mandate("b", {}, { version: 9 })],
      evidence: { events: [password(), totp()] },
    });
    expect(d.versions).toEqual({
      tenantPolicy: 12,
      mandates: [
        { id: "a", version: 4 },
        { id: "b", version: 9 },
      ],
    });
  });
});

describe("freshness and reauthentication", () => {
  it("challenges (never allows) when the MFA event is older than the maximum age", () => {
    const d = decide({
      policy: policy("platform_mfa", { require: { maxAgeSeconds: 300 } }),
      evidence: { events: [password(600), totp(301)] },
    });
    expect(d.outcome).toBe("challenge");
    expect(codes(d)).toEqual(["freshness.max_age_exceeded"]);
  });

  it("allows at exactly the maximum age", () => {
    const d = decide({
      policy: policy("platform_mfa", { require: { maxAgeSeconds: 300 } }),
      evidence: { events: [password(600), totp(300)] },
    });
    expect(d.outcome).toBe("allow");
  });

  const reauth: [string, number, number, Outcome][] = [
    ["AAL2 at 24 h", 2, 24 * 3600, "allow"],
    ["AAL2 one second past 24 h", 2, 24 * 3600 + 1, "challenge"],
    ["AAL3 at 12 h", 3, 12 * 3600, "allow"],
    ["AAL3 one second past 12 h", 3, 12 * 3600 + 1, "challenge"],
  ];
  it.each(reauth)("NIST default reauthentication: %s", (_name, aal, secondsAgo, outcome) => {
    const d = decide({
      policy: policy("platform_mfa", { require: { minAal: aal as 2 | 3 } }),
      evidence: { events: [webauthn({ uv: true, be: false, attested: true, secondsAgo })] },
    });
    expect(d.outcome).toBe(outcome);
    if (outcome === "challenge") expect(codes(d)).toContain("session.reauth_interval_exceeded");
  });

  const idle: [string, number, Outcome][] = [
    ["at the 1 h idle limit", 3600, "allow"],
    ["one second past the idle limit", 3601, "challenge"],
  ];
  it.each(idle)("AAL2 session %s", (_name, idleSeconds, outcome) => {
    const d = decide({
      evidence: { events: [password(7200), totp(7200)] },
      lastActivityAt: ago(idleSeconds),
    });
    expect(d.outcome).toBe(outcome);
    if (outcome === "challenge") expect(codes(d)).toEqual(["session.idle_timeout_exceeded"]);
  });

  it("measures the first factor against the reauthentication interval", () => {
    const d = decide({
      principal: { id: "alice", population: "direct", authenticators: [{ method: "totp" }] },
      evidence: { events: [password(25 * 3600), totp(10)] },
    });
    expect(d.outcome).toBe("challenge");
    expect(codes(d)).toEqual(["session.reauth_interval_exceeded"]);
    expect(d.challenge).toEqual([
      { kind: "reauthenticate" },
      { kind: "verify", method: "totp", userVerification: "preferred" },
    ]);
  });

  it("uses the policy's tighter reauthentication interval", () => {
    const d = decide({
      policy: policy("platform_mfa", { require: { reauthIntervalSeconds: 3600 } }),
      evidence: { events: [password(3601), totp(3601)] },
    });
    expect(d.outcome).toBe("challenge");
    expect(d.requirement?.reauthIntervalSeconds).toEqual({
      value: 3600,
      from: [{ kind: "tenant_policy", version: 1 }],
    });
  });

  it("asks the IdP for a forced fresh authentication when its MFA is stale", () => {
    const d = decide({
      policy: policy("idp_mfa", { require: { maxAgeSeconds: 600 } }),
      principal: { id: "alice", population: "sso" },
      evidence: { events: [federated({ aal: 2, secondsAgo: 601 })] },
    });
    expect(d.outcome).toBe("challenge");
    expect(d.challenge).toEqual([
      {
        kind: "idp_step_up",
        acrValues: [REFEDS_MFA],
        authnContextClassRefs: [REFEDS_MFA],
        maxAgeSeconds: 600,
        forceAuthn: true,
        phishingResistant: false,
      },
    ]);
  });
});

describe("populations", () => {
  it("guest access is not_applicable, whatever the mandates", () => {
    const d = decide({
      principal: { id: "visitor", population: "guest" },
      mandates: [mandate("all", { minAal: 3 }, { exemptible: false })],
      evidence: { events: [] },
    });
    expect(d.outcome).toBe("not_applicable");
    expect(codes(d)).toEqual(["population.guest"]);
  });

  it("an integration with a token-based grant needs no interactive MFA", () => {
    const d = decide({
      principal: { id: "sync", population: "integration" },
      evidence: { events: [], grant: "jwt_bearer" },
    });
    expect(d.outcome).toBe("allow");
    expect(codes(d)).toEqual(["population.integration_token"]);
  });

  it("an integration using a password is treated as a person and flagged", () => {
    const d = decide({
      principal: { id: "legacy-sync", population: "integration" },
      evidence: { events: [password()], grant: "client_credentials" },
    });
    expect(d.outcome).toBe("challenge");
    expect(d.principal).toEqual({
      id: "legacy-sync",
      population: "integration",
      treatedAs: "direct",
    });
    expect(codes(d)).toContain("population.integration_interactive");
  });

  it("an integration without a token grant is held to MFA (fail closed)", () => {
    const d = decide({
      principal: { id: "sync", population: "integration" },
      evidence: { events: [] },
    });
    expect(d.outcome).not.toBe("allow");
  });

  it("a mandate scoped to direct users binds an integration that signs in with a password", () => {
    const direct = mandate(
      "direct",
      { phishingResistant: true },
      { scope: { tenants: "all", populations: ["direct"] } },
    );
    const d = decide({
      mandates: [direct],
      principal: { id: "legacy", population: "integration" },
      evidence: { events: [password(), totp()] },
    });
    expect(d.outcome).toBe("challenge");
  });

  it("api_human is held to MFA", () => {
    const d = decide({
      principal: { id: "dev", population: "api_human" },
      evidence: { events: [password()] },
    });
    expect(d.outcome).toBe("challenge");
  });

  // Regression: an IdP sign-in that proved MFA was not taken as a first factor, so under
  // platform_mfa the same platform TOTP that completes a single-factor IdP sign-in did not
  // complete it, and the user was sent to reauthenticate with a password SSO users lack.
  it("an sso user whose IdP proved MFA completes platform_mfa with a platform TOTP", () => {
    for (const aal of [1, 2, 3] as const) {
      const d = decide({
        principal: { id: "alice", population: "sso" },
        evidence: { events: [federated({ aal }), totp()] },
      });
      expect(d.outcome, `IdP AAL${aal}`).toBe("allow");
      expect(d.satisfiedBy?.events.map((e) => e.method)).toEqual(["federated", "totp"]);
    }
  });

  it("an sso user whose IdP proved MFA is asked for the platform second factor only", () => {
    const d = decide({
      principal: { id: "alice", population: "sso", authenticators: [{ method: "totp" }] },
      evidence: { events: [federated({ aal: 2 })] },
    });
    expect(d.outcome).toBe("challenge");
    expect(d.challenge).toEqual([
      { kind: "verify", method: "totp", userVerification: "preferred" },
    ]);
  });

  it("an sso user is sent to the IdP first", () => {
    const d = decide({
      policy: policy("idp_or_platform"),
      principal: { id: "alice", population: "sso", authenticators: [{ method: "totp" }] },
      evidence: { events: [federated({ aal: 1 })] },
    });
    expect(d.challenge.map((o) => o.kind)).toEqual(["idp_step_up", "verify"]);
  });
});

describe("evidence", () => {
  it("evidence from another tenant's IdP never counts", () => {
    const d = decide({
      policy: policy("idp_mfa"),
      evidence: { events: [federated({ aal: 3, tenant: "globex" })] },
    });
    expect(d.outcome).toBe("challenge");
    expect(codes(d)).toContain("evidence.ignored.foreign_tenant");
  });

  it("an IdP that states no assurance proves nothing", () => {
    const d = decide({ policy: policy("idp_mfa"), evidence: { events: [federated({ aal: 0 })] } });
    expect(d.outcome).toBe("challenge");
    expect(codes(d)).toContain("evidence.ignored.no_assurance");
  });

  it("ignores an event dated beyond the clock skew", () => {
    const d = decide({ evidence: { events: [password(), totp(-61)] } });
    expect(d.outcome).toBe("challenge");
    expect(codes(d)).toContain("evidence.ignored.from_future");
  });

  it("accepts an event within the clock skew", () => {
    expect(decide({ evidence: { events: [password(), totp(-60)] } }).outcome).toBe("allow");
  });

  it("ignores an event of an unknown method, and never allows because of it", () => {
    const bogus = {
      method: "magic_link",
      source: "platform",
      at: ago(1),
    } as unknown as EvaluationInput["evidence"]["events"][number];
    const d = decide({ evidence: { events: [password(), bogus] } });
    expect(d.outcome).toBe("challenge");
    expect(codes(d)).toContain("evidence.ignored.invalid");
  });

  it("ignores a platform method claiming to come from an IdP", () => {
    const forged = {
      ...totp(),
      source: "idp",
    } as unknown as EvaluationInput["evidence"]["events"][number];
    expect(decide({ evidence: { events: [password(), forged] } }).outcome).toBe("challenge");
  });

  it("keeps the acting individual (RFC 8693 act) on the receipt", () => {
    const act = { sub: "jane@partner.example", iss: "https://pam.partner.example" };
    const d = decide({ evidence: { events: [password(), totp()], act } });
    expect(d.act).toEqual(act);
  });
});

describe("risk", () => {
  const riskPolicy = policy("platform_mfa", {
    riskRules: { high: { phishingResistant: true, maxAgeSeconds: 300 } },
  });
  it("a high-risk sign-in needs what the risk rule says", () => {
    const d = decide({
      policy: riskPolicy,
      risk: "high",
      evidence: { events: [password(), totp()] },
    });
    expect(d.outcome).toBe("challenge");
    expect(d.requirement?.phishingResistant.from).toEqual([
      { kind: "tenant_policy", version: 1, risk: "high" },
    ]);
    expect(codes(d)).toContain("risk.elevated");
  });

  it("a low-risk sign-in is unaffected by the high rule", () => {
    expect(
      decide({ policy: riskPolicy, risk: "low", evidence: { events: [password(), totp()] } })
        .outcome,
    ).toBe("allow");
  });

  it("medium rules also bind high-risk sign-ins", () => {
    const p = policy("platform_mfa", { riskRules: { medium: { maxAgeSeconds: 60 } } });
    const d = decide({ policy: p, risk: "high", evidence: { events: [password(), totp(120)] } });
    expect(codes(d)).toContain("freshness.max_age_exceeded");
  });

  it("reads an unknown risk as medium by default", () => {
    const p = policy("platform_mfa", { riskRules: { medium: { phishingResistant: true } } });
    expect(decide({ policy: p, evidence: { events: [password(), totp()] } }).outcome).toBe(
      "challenge",
    );
  });

  it("reads an unknown risk as low only when the policy says so", () => {
    const p = policy("platform_mfa", {
      unknownRisk: "low",
      riskRules: { medium: { phishingResistant: true } },
    });
    expect(decide({ policy: p, evidence: { events: [password(), totp()] } }).outcome).toBe("allow");
  });

  it("a tenant's unknownRisk: low cannot switch off a mandate's medium rule", () => {
    const d = decide({
      policy: policy("platform_mfa", { unknownRisk: "low" }),
      mandates: [mandate("m", {}, { riskRules: { medium: { phishingResistant: true } } })],
      evidence: { events: [password(), totp()] },
    });
    expect(d.outcome).toBe("challenge");
  });
});

describe("step-up for a sensitive action", () => {
  it("asks for more than the policy and challenges only for the difference", () => {
    const d = decide({
      stepUp: { phishingResistant: true, maxAgeSeconds: 120 },
      principal: {
        id: "alice",
        population: "direct",
        authenticators: [
          { method: "totp" },
          { method: "webauthn", id: "key", userVerifying: true, backupEligible: false },
        ],
      },
      evidence: { events: [password(), totp()] },
    });
    expect(d.outcome).toBe("challenge");
    expect(d.challenge).toEqual([
      { kind: "verify", method: "webauthn", authenticatorId: "key", userVerification: "preferred" },
    ]);
    expect(d.requirement?.phishingResistant.from).toEqual([{ kind: "step_up" }]);
    expect(codes(d)).toContain("step_up.requested");
  });

  it("allows when the evidence already meets the step-up", () => {
    const d = decide({
      stepUp: { minAal: 3 },
      evidence: { events: [webauthn({ uv: true, be: false, attested: true })] },
    });
    expect(d.outcome).toBe("allow");
  });
});

describe("exemptions", () => {
  it("an active, approved exemption excuses the tenant requirement and says until when", () => {
    const d = decide({ exemptions: [exemption({ category: "temporary_access" })] });
    expect(d.outcome).toBe("allow");
    expect(d.exemption).toMatchObject({
      id: "ex-1",
      category: "temporary_access",
      expiresAt: ago(-3600),
      breakGlass: false,
    });
    expect(d.exemption?.excused.minAal.value).toBe(2);
    expect(d.requirement?.minAal.value).toBe(1);
    expect(codes(d)).toEqual(["exemption.applied"]);
  });

  it("break-glass use is flagged distinctly", () => {
    const d = decide({ exemptions: [exemption({ category: "break_glass" })] });
    expect(d.exemption?.breakGlass).toBe(true);
    expect(codes(d)).toEqual(["exemption.break_glass"]);
  });

  it("does not use an exemption when the evidence already meets the requirement", () => {
    const d = decide({ exemptions: [exemption()], evidence: { events: [password(), totp()] } });
    expect(d.exemption).toBeNull();
  });

  const inapplicable: [string, Parameters<typeof exemption>[0]][] = [
    ["expired (expiry is exclusive)", { expiresAt: ago(0) }],
    ["not yet started", { startsAt: ago(-1) }],
    ["for another principal", { principal: "bob" }],
    ["of another tenant", { tenant: "globex" }],
    ["only requested", { status: "requested" }],
    ["revoked", { status: "revoked" }],
    ["approved by its own requester", { approvedBy: "ops", requestedBy: "ops" }],
    ["with no expiry", { expiresAt: "" }],
  ];
  it.each(inapplicable)("an exemption %s changes nothing", (_name, extra) => {
    const d = decide({ exemptions: [exemption(extra)] });
    expect(d).toEqual(decide());
  });

  it("applies from its start instant", () => {
    expect(decide({ exemptions: [exemption({ startsAt: ago(0) })] }).outcome).toBe("allow");
  });

  it("applies until one second before expiry", () => {
    expect(decide({ exemptions: [exemption({ expiresAt: ago(-1) })] }).outcome).toBe("allow");
  });

  it("a shared-login exemption is refused outright, and the refusal is visible", () => {
    const d = decide({ exemptions: [exemption({ category: "shared_login" })] });
    expect(d.outcome).toBe("challenge");
    expect(d.exemption).toBeNull();
    expect(codes(d)).toContain("exemption.shared_login_refused");
  });

  it("never excuses a non-exemptible mandate", () => {
    const d = decide({
      mandates: [mandate("no-exceptions", { minAal: 2 }, { exemptible: false })],
      exemptions: [exemption()],
    });
    expect(d.outcome).toBe("challenge");
    expect(d.exemption).toBeNull();
    expect(d.reasons[0]).toMatchObject({
      code: "exemption.not_exemptible",
      rule: { kind: "mandate", id: "no-exceptions" },
    });
  });

  it("excuses the tenant requirement but still holds the non-exemptible mandate's part", () => {
    const d = decide({
      policy: policy("phishing_resistant"),
      mandates: [mandate("mfa", { minAal: 2 }, { exemptible: false })],
      exemptions: [exemption()],
      evidence: { events: [password(), totp()] },
    });
    expect(d.outcome).toBe("allow");
    expect(d.exemption?.id).toBe("ex-1");
    expect(d.requirement?.phishingResistant.value).toBe(false);
  });

  it("does not excuse a requested step-up", () => {
    const d = decide({ stepUp: { minAal: 2 }, exemptions: [exemption()] });
    expect(d.outcome).toBe("challenge");
  });

  it("still needs a first factor", () => {
    expect(decide({ exemptions: [exemption()], evidence: { events: [] } }).outcome).toBe(
      "challenge",
    );
  });
});

describe("report-only before the enforcement date", () => {
  const later = policy("platform_mfa", { enforcementStartsAt: ago(-7 * 86400) });

  it("lets the user in, records what enforcement would decide, and nudges with the date", () => {
    const d = decide({ policy: later });
    expect(d.outcome).toBe("allow");
    expect(d.mode).toBe("report_only");
    expect(d.reportOnly?.outcome).toBe("challenge");
    expect(d.reportOnly?.enforcementStartsAt).toBe(ago(-7 * 86400));
    const nudge = d.reasons.find((r) => r.code === "policy.report_only");
    expect(nudge?.message).toContain("2026-11-30");
  });

  it("still enforces platform mandates", () => {
    const d = decide({ policy: later, mandates: [mandate("mfa", { minAal: 2 })] });
    expect(d.outcome).toBe("challenge");
    expect(d.mode).toBe("report_only");
  });

  it("enforces from the start instant", () => {
    const d = decide({ policy: policy("platform_mfa", { enforcementStartsAt: ago(0) }) });
    expect(d.mode).toBe("enforce");
    expect(d.outcome).toBe("challenge");
  });
});

describe("challenge guidance", () => {
  it("offers enrolled authenticators that can meet the requirement, in order", () => {
    const d = decide({
      principal: {
        id: "alice",
        population: "direct",
        authenticators: [
          { method: "webauthn", id: "yubikey", userVerifying: true, backupEligible: false },
          { method: "totp", id: "phone" },
          { method: "recovery_code", remaining: 3 },
        ],
      },
    });
    expect(d.challenge).toEqual([
      {
        kind: "verify",
        method: "webauthn",
        authenticatorId: "yubikey",
        userVerification: "preferred",
      },
      { kind: "verify", method: "totp", authenticatorId: "phone", userVerification: "preferred" },
      { kind: "verify", method: "recovery_code", userVerification: "preferred" },
    ]);
  });

  it("offers enrolment when nothing enrolled can meet the requirement", () => {
    const d = decide({
      principal: {
        id: "alice",
        population: "direct",
        authenticators: [{ method: "recovery_code", remaining: 0 }],
      },
    });
    expect(d.challenge).toEqual([
      { kind: "enroll", method: "webauthn", userVerification: "preferred", deviceBound: false },
      { kind: "enroll", method: "totp", userVerification: "preferred", deviceBound: false },
    ]);
  });

  it("asks for a device-bound authenticator that verifies the user when AAL3 is required", () => {
    const d = decide({
      policy: policy("phishing_resistant", { require: { minAal: 3 } }),
      principal: {
        id: "alice",
        population: "direct",
        authenticators: [
          { method: "webauthn", id: "synced", userVerifying: true, backupEligible: true },
        ],
      },
    });
    expect(d.challenge).toEqual([
      { kind: "enroll", method: "webauthn", userVerification: "required", deviceBound: true },
    ]);
    expect(codes(d)).toContain("requirement.unmet.aal3");
  });

  it("offers for AAL3 only an enrolled key whose attestation was trusted, else asks for one", () => {
    const withKeys = (attested: boolean | undefined) =>
      decide({
        policy: policy("phishing_resistant", { require: { minAal: 3 } }),
        principal: {
          id: "alice",
          population: "direct",
          authenticators: [
            {
              method: "webauthn",
              id: "key",
              userVerifying: true,
              backupEligible: false,
              ...(attested === undefined ? {} : { attested }),
            },
          ],
        },
      }).challenge;
    const enrol = { kind: "enroll", method: "webauthn", userVerification: "required" };
    expect([withKeys(undefined), withKeys(false), withKeys(true)]).toEqual([
      [{ ...enrol, deviceBound: true }],
      [{ ...enrol, deviceBound: true }],
      [
        {
          kind: "verify",
          method: "webauthn",
          authenticatorId: "key",
          userVerification: "required",
        },
      ],
    ]);
  });

  it("uses the IdP's own request values when the tenant registered them", () => {
    const d = decide({
      policy: policy("idp_mfa"),
      idps: [
        { id: "entra", mfaRequestValues: ["http://schemas.microsoft.com/claims/multipleauthn"] },
      ],
      evidence: { events: [federated({ aal: 1 })] },
    });
    expect(d.challenge).toEqual([
      expect.objectContaining({
        kind: "idp_step_up",
        idp: "entra",
        acrValues: ["http://schemas.microsoft.com/claims/multipleauthn"],
      }),
    ]);
  });

  it("denies when the posture's only path is an IdP the tenant has not registered", () => {
    const d = decide({ policy: policy("idp_mfa"), idps: [], evidence: { events: [password()] } });
    expect(d.outcome).toBe("deny");
    expect(codes(d)).toContain("challenge.unavailable");
  });

  it("gives every reason a human message", () => {
    const d = decide({
      policy: policy("phishing_resistant"),
      mandates: [mandate("m", { maxAgeSeconds: 60 })],
      evidence: { events: [password(), totp(120)] },
    });
    for (const r of d.reasons) expect(r.message.length).toBeGreaterThan(20);
  });
});

describe("fail closed", () => {
  const broken: [string, unknown][] = [
    ["no input", undefined],
    [
      "an unknown posture",
      input({ policy: { ...policy("platform_mfa"), posture: "lenient" } as never }),
    ],
    ["a policy of another tenant", input({ policy: policy("mfa_optional", { tenant: "globex" }) })],
    ["an unknown population", input({ principal: { id: "x", population: "robot" } as never })],
    [
      "a mandate that cannot be read",
      input({ policy: policy("mfa_optional"), mandates: [{ id: "m" } as never] }),
    ],
    [
      "a mandate with an unknown method",
      input({
        policy: policy("mfa_optional"),
        mandates: [mandate("m", { acceptedMethods: ["sms" as never] })],
      }),
    ],
    ["evidence that is not a list", input({ evidence: { events: "password" } as never })],
  ];
  it.each(broken)("denies %s with a coded reason, never throwing", (_name, value) => {
    const d = evaluate(value as EvaluationInput, { now: NOW });
    expect(d.outcome).toBe("deny");
    expect(codes(d)[0]).toMatch(/^(input|policy)\.invalid$/);
  });

  it("denies when the clock is not a valid date", () => {
    expect(
      evaluate(input({ policy: policy("mfa_optional") }), { now: new Date("nope") }).outcome,
    ).toBe("deny");
  });

  it("denies with engine.error when evaluation itself fails", () => {
    const hostile = input({ policy: policy("mfa_optional"), evidence: { events: [password()] } });
    Object.defineProperty(hostile, "exemptions", {
      get() {
        throw new Error("store outage");
      },
    });
    const d = evaluate(hostile, { now: NOW });
    expect(d.outcome).toBe("deny");
    expect(codes(d)).toEqual(["engine.error"]);
  });
});

describe("determinism", () => {
  it("returns equal decisions for equal inputs at the same instant", () => {
    const i = input({
      mandates: [mandate("m", { maxAgeSeconds: 300 })],
      evidence: { events: [password(), totp()] },
    });
    expect(evaluate(i, { now: NOW, id: "a" })).toEqual(
      evaluate(structuredClone(i), { now: new Date(NOW), id: "a" }),
    );
  });

  it("stamps the decision with the caller's id and the evaluation time", () => {
    const d = decide();
    expect(d.id).toBe("dec-1");
    expect(d.evaluatedAt).toBe("2026-11-23T12:00:00.000Z");
  });
});
