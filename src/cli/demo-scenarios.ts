import type { EvaluationInput, PlatformMandate, TenantPolicy } from "../index.js";

/** A named example sign-in for the demo. */
export interface Scenario {
  readonly title: string;
  readonly input: EvaluationInput;
}

const minutesBefore = (now: Date, minutes: number): string =>
  new Date(now.getTime() - minutes * 60_000).toISOString();

/**
 * Example sign-ins across the postures, a platform mandate, an exemption and report-only mode,
 * evaluated at `now`.
 */
export function demoScenarios(now: Date): Scenario[] {
  const ago = (minutes: number) => minutesBefore(now, minutes);
  const password = (minutes: number) =>
    ({ method: "password", source: "platform", at: ago(minutes) }) as const;
  const okta = (minutes: number, aal: 1 | 2, claims: Record<string, unknown>) =>
    ({
      method: "federated",
      source: "idp",
      tenant: "initech",
      idp: "okta",
      at: ago(minutes),
      assurance: { aal, phishingResistant: false },
      claims,
    }) as const;

  const emergency: PlatformMandate = {
    id: "emergency-uplift",
    version: 1,
    title: "Phishing-resistant MFA for high-risk sign-ins after a threat report",
    scope: { tenants: "all" },
    require: { minAal: 2 },
    riskRules: { high: { phishingResistant: true, maxAgeSeconds: 300 } },
    exemptible: false,
  };
  const acme: TenantPolicy = { tenant: "acme", version: 4, posture: "platform_mfa" };
  const globex: TenantPolicy = { tenant: "globex", version: 2, posture: "phishing_resistant" };
  const initech: TenantPolicy = { tenant: "initech", version: 7, posture: "idp_mfa" };
  const daveAtInitech = (event: ReturnType<typeof okta>): EvaluationInput => ({
    tenant: "initech",
    policy: initech,
    mandates: [emergency],
    principal: { id: "dave@initech.example", population: "sso" },
    evidence: { events: [event] },
  });
  const umbrella: TenantPolicy = {
    tenant: "umbrella",
    version: 1,
    posture: "platform_mfa",
    enforcementStartsAt: new Date(now.getTime() + 14 * 86_400_000).toISOString(),
  };

  return [
    {
      title: "acme (platform_mfa): password and a TOTP code",
      input: {
        tenant: "acme",
        policy: acme,
        mandates: [emergency],
        principal: { id: "alice", population: "direct" },
        evidence: {
          events: [password(2), { method: "totp", source: "platform", at: ago(1) }],
        },
      },
    },
    {
      title: "acme (platform_mfa): password only, TOTP enrolled",
      input: {
        tenant: "acme",
        policy: acme,
        mandates: [emergency],
        principal: {
          id: "bob",
          population: "direct",
          authenticators: [{ method: "totp", id: "phone" }],
        },
        evidence: { events: [password(1)] },
      },
    },
    {
      title: "acme (platform_mfa): high risk, TOTP is no longer enough (mandate)",
      input: {
        tenant: "acme",
        policy: acme,
        mandates: [emergency],
        risk: "high",
        principal: { id: "alice", population: "direct", authenticators: [{ method: "totp" }] },
        evidence: {
          events: [password(2), { method: "totp", source: "platform", at: ago(1) }],
        },
      },
    },
    {
      title: "globex (phishing_resistant): passkey with user verification",
      input: {
        tenant: "globex",
        policy: globex,
        mandates: [emergency],
        principal: { id: "carol", population: "direct" },
        evidence: {
          events: [
            {
              method: "webauthn",
              source: "platform",
              at: ago(0),
              userVerified: true,
              backupEligible: true,
            },
          ],
        },
      },
    },
    {
      title: "initech (idp_mfa): the IdP signed in without MFA",
      input: daveAtInitech(okta(3, 1, { amr: ["pwd"] })),
    },
    {
      title: "initech (idp_mfa): the IdP proved MFA (amr: mfa)",
      input: daveAtInitech(
        okta(1, 2, { amr: ["pwd", "mfa"], acr: "https://refeds.org/profile/mfa" }),
      ),
    },
    {
      title: "acme: break-glass account under an approved exemption",
      input: {
        tenant: "acme",
        policy: acme,
        mandates: [{ ...emergency, exemptible: true }],
        principal: { id: "breakglass-1", population: "direct" },
        evidence: { events: [password(0)] },
        exemptions: [
          {
            id: "ex-42",
            tenant: "acme",
            principal: "breakglass-1",
            category: "break_glass",
            status: "approved",
            startsAt: ago(60),
            expiresAt: new Date(now.getTime() + 2 * 86_400_000).toISOString(),
            requestedBy: "ops-lead",
            approvedBy: "security-officer",
          },
        ],
      },
    },
    {
      title: "umbrella (platform_mfa, enforcement in 14 days): report-only nudge",
      input: {
        tenant: "umbrella",
        policy: umbrella,
        principal: { id: "erin", population: "direct" },
        evidence: { events: [password(0)] },
      },
    },
    {
      title: "acme: an integration using client credentials",
      input: {
        tenant: "acme",
        policy: acme,
        mandates: [emergency],
        principal: { id: "billing-sync", population: "integration" },
        evidence: { events: [], grant: "client_credentials" },
      },
    },
  ];
}
