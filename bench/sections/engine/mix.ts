import { deepFreeze } from "../../../src/core/input.js";
import type {
  AuthenticationEvent,
  EnrolledAuthenticator,
  EvaluationInput,
  Exemption,
  IdpProfile,
  PlatformMandate,
  Population,
  Posture,
  RequirementSpec,
  RiskLevel,
  RiskRules,
  TenantPolicy,
} from "../../../src/index.js";

/**
 * The representative mix of sign-ins the engine section measures: built once, deterministically
 * (seeded), before anything is timed. Each input is realistic on its own (a tenant with its
 * posture and parameters, the platform's mandates, a principal of some population, 0–3
 * authentication events of some age); together they cover the engine's paths in proportions a
 * busy platform might see.
 */
export interface Mix {
  readonly now: Date;
  readonly inputs: readonly EvaluationInput[];
  /** Every platform mandate any input carries, for the Cedar baseline to compile. */
  readonly mandates: readonly PlatformMandate[];
}

/** The fixed instant of every decision in the mix. */
export const MIX_NOW = new Date("2025-06-02T12:00:00.000Z");

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** mulberry32: a small seeded PRNG, so the mix is the same on every run. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Random = () => number;

function pick<T>(random: Random, items: readonly T[]): T {
  const item = items[Math.floor(random() * items.length)];
  if (item === undefined) throw new Error("pick from an empty list");
  return item;
}

/** Picks a value with probability proportional to its weight. */
function weighted<T>(random: Random, table: readonly (readonly [number, T])[]): T {
  const total = table.reduce((sum, [weight]) => sum + weight, 0);
  let roll = random() * total;
  for (const [weight, value] of table) {
    roll -= weight;
    if (roll < 0) return value;
  }
  const last = table.at(-1);
  if (last === undefined) throw new Error("weighted pick from an empty table");
  return last[1];
}

/** A uniform integer in [low, high]. */
const between = (random: Random, low: number, high: number): number =>
  low + Math.floor(random() * (high - low + 1));

/** The platform's mandates: an always-on baseline, a time-boxed emergency uplift, and more. */
function platformMandates(now: number) {
  const iso = (ms: number): string => new Date(ms).toISOString();
  const financeTenants = ["t03", "t07", "t11", "t15", "t19", "t23", "t27", "t31"];
  return {
    baseline: {
      id: "baseline-mfa",
      version: 3,
      title: "MFA for every person on the platform",
      scope: { tenants: "all", populations: ["direct", "api_human"] },
      require: { minAal: 2 },
      exemptible: true,
    },
    emergency: {
      id: "emergency-uplift",
      version: 1,
      title: "Phishing-resistant, fresh MFA for high-risk sign-ins after a threat report",
      scope: { tenants: "all" },
      require: { minAal: 2 },
      riskRules: { high: { phishingResistant: true, maxAgeSeconds: 300 } },
      activeFrom: iso(now - 3 * DAY),
      activeUntil: iso(now + 4 * DAY),
      exemptible: false,
    },
    finance: {
      id: "finance-fresh-mfa",
      version: 2,
      title: "Regulated tenants: MFA no older than 12 hours",
      scope: { tenants: financeTenants },
      require: { minAal: 2, maxAgeSeconds: 12 * 3600 },
      exemptible: true,
    },
    expired: {
      id: "q1-audit-uplift",
      version: 1,
      title: "AAL3 during the Q1 audit (over)",
      scope: { tenants: "all" },
      require: { minAal: 3 },
      activeFrom: iso(now - 120 * DAY),
      activeUntil: iso(now - 30 * DAY),
      exemptible: false,
    },
    adminKeys: {
      id: "api-admin-passkeys",
      version: 1,
      title: "API users of three tenants: platform WebAuthn only",
      scope: { tenants: ["t01", "t02", "t05"], populations: ["api_human"] },
      require: { phishingResistant: true, acceptedMethods: ["webauthn"], proofSource: "platform" },
      exemptible: false,
    },
  } satisfies Record<string, PlatformMandate>;
}

interface TenantSetup {
  readonly policy: TenantPolicy;
  readonly idps: readonly IdpProfile[];
}

const TENANT_COUNT = 48;

function buildTenants(random: Random, now: number): TenantSetup[] {
  const tenants: TenantSetup[] = [];
  for (let index = 0; index < TENANT_COUNT; index++) {
    const tenant = `t${String(index).padStart(2, "0")}`;
    const posture = weighted<Posture>(random, [
      [30, "platform_mfa"],
      [15, "phishing_resistant"],
      [20, "idp_mfa"],
      [20, "idp_or_platform"],
      [15, "mfa_optional"],
    ]);
    const require = weighted<RequirementSpec | undefined>(random, [
      [65, undefined],
      [10, { maxAgeSeconds: 3600 }],
      [10, { maxAgeSeconds: 4 * 3600 }],
      [5, { maxAgeSeconds: 12 * 3600 }],
      [10, { reauthIntervalSeconds: 8 * 3600 }],
    ]);
    const riskRules = weighted<RiskRules | undefined>(random, [
      [65, undefined],
      [12, { high: { phishingResistant: true } }],
      [
        8,
        { medium: { maxAgeSeconds: 3600 }, high: { phishingResistant: true, maxAgeSeconds: 600 } },
      ],
      [8, { high: { maxAgeSeconds: 900 } }],
      [7, { medium: { minAal: 2 }, high: { minAal: 2, maxAgeSeconds: 900 } }],
    ]);
    const policy: TenantPolicy = {
      tenant,
      version: between(random, 1, 9),
      posture,
      ...(require === undefined ? {} : { require }),
      ...(riskRules === undefined ? {} : { riskRules }),
      ...(random() < 0.15 ? { unknownRisk: "low" as const } : {}),
      // A few tenants have chosen a posture whose enforcement starts later (report-only).
      ...(random() < 0.06
        ? { enforcementStartsAt: new Date(now + between(random, 3, 30) * DAY).toISOString() }
        : {}),
    };
    const idps: IdpProfile[] =
      posture === "idp_mfa" || posture === "idp_or_platform"
        ? [
            random() < 0.5
              ? { id: "okta" }
              : {
                  id: "entra",
                  mfaRequestValues: ["http://schemas.microsoft.com/claims/multipleauthn"],
                  phishingResistantRequestValues: ["urn:example:acr:phishing-resistant"],
                },
          ]
        : [];
    tenants.push({ policy, idps });
  }
  return tenants;
}

/** Builds the events of one sign-in; ages are minutes before `now` (negative: in the future). */
class EventFactory {
  constructor(
    private readonly random: Random,
    private readonly now: number,
    private readonly tenant: string,
    private readonly idp: string,
  ) {}

  private at(minutesAgo: number): string {
    return new Date(this.now - minutesAgo * MINUTE).toISOString();
  }

  /** A few minutes old. */
  fresh(): number {
    return between(this.random, 1, 20);
  }

  /** Hours old: fine for the NIST 24 h limit, too old for a tight max age. */
  hours(): number {
    return between(this.random, 2 * 60, 10 * 60);
  }

  /** Older than the 24 h AAL2 reauthentication limit. */
  stale(): number {
    return between(this.random, 26 * 60, 5 * 24 * 60);
  }

  password(ago: number): AuthenticationEvent {
    return { method: "password", source: "platform", at: this.at(ago) };
  }

  totp(ago: number): AuthenticationEvent {
    return { method: "totp", source: "platform", at: this.at(ago) };
  }

  recoveryCode(ago: number): AuthenticationEvent {
    return { method: "recovery_code", source: "platform", at: this.at(ago) };
  }

  /** A device-bound key in the mix is an attested security key; a synced passkey is not. */
  webauthn(ago: number, userVerified: boolean, backupEligible: boolean): AuthenticationEvent {
    return {
      method: "webauthn",
      source: "platform",
      at: this.at(ago),
      userVerified,
      backupEligible,
      attested: !backupEligible,
      credentialId: `cred-${String(between(this.random, 1, 9999))}`,
    };
  }

  federated(
    ago: number,
    aal: 0 | 1 | 2 | 3,
    phishingResistant: boolean,
    tenant = this.tenant,
  ): AuthenticationEvent {
    const amr = aal >= 2 ? ["pwd", "mfa"] : aal === 1 ? ["pwd"] : [];
    return {
      method: "federated",
      source: "idp",
      tenant,
      idp: this.idp,
      at: this.at(ago),
      assurance: { aal, phishingResistant },
      claims: aal >= 2 ? { amr, acr: "https://refeds.org/profile/mfa" } : { amr },
    };
  }
}

type Scenario = (f: EventFactory, random: Random) => AuthenticationEvent[];

/** Sign-ins of people on the platform (direct, api_human, interactive integrations). */
const PLATFORM_SCENARIOS: readonly (readonly [number, Scenario])[] = [
  [22, (f) => [f.password(f.fresh() + 1), f.totp(f.fresh())]],
  [12, (f) => [f.password(f.fresh())]],
  [12, (f) => [f.webauthn(f.fresh(), true, true)]],
  [6, (f) => [f.webauthn(f.fresh(), true, false)]],
  [8, (f, r) => [f.password(f.fresh() + 1), f.webauthn(f.fresh(), false, r() < 0.5)]],
  [4, (f) => [f.password(f.fresh() + 1), f.recoveryCode(f.fresh())]],
  [8, (f) => [f.password(f.stale() + 1), f.totp(f.stale())]],
  [8, (f) => [f.password(f.hours() + 1), f.totp(f.hours())]],
  [4, (f) => [f.webauthn(f.stale(), true, true)]],
  [6, (f, r) => [f.password(f.hours()), f.totp(f.hours()), f.webauthn(f.fresh(), true, r() < 0.5)]],
  [4, (f) => [f.password(f.fresh()), f.totp(-5)]],
  [4, (f) => [f.password(f.stale()), f.totp(f.fresh())]],
];

/** Sign-ins through the tenant's IdP, sometimes with a platform second factor. */
const SSO_SCENARIOS: readonly (readonly [number, Scenario])[] = [
  [30, (f) => [f.federated(f.fresh(), 2, false)]],
  [8, (f) => [f.federated(f.fresh(), 2, true)]],
  [15, (f) => [f.federated(f.fresh(), 1, false)]],
  [12, (f) => [f.federated(f.fresh() + 1, 1, false), f.totp(f.fresh())]],
  [10, (f) => [f.federated(f.stale(), 2, false)]],
  [8, (f) => [f.federated(f.hours(), 2, false)]],
  [5, (f) => [f.federated(f.fresh(), 0, false)]],
  [3, (f) => [f.federated(f.fresh(), 2, false, "t99")]],
  [4, (f) => [f.federated(f.fresh() + 1, 1, false), f.webauthn(f.fresh(), true, true)]],
  [5, (f) => [f.federated(f.fresh(), 3, true)]],
];

function populationFor(random: Random, posture: Posture): Population {
  const federatedPosture = posture === "idp_mfa" || posture === "idp_or_platform";
  return weighted<Population>(
    random,
    federatedPosture
      ? [
          [55, "sso"],
          [10, "direct"],
          [10, "api_human"],
          [17, "integration"],
          [8, "guest"],
        ]
      : [
          [57, "direct"],
          [8, "sso"],
          [12, "api_human"],
          [15, "integration"],
          [8, "guest"],
        ],
  );
}

function authenticatorsFor(
  random: Random,
  events: readonly AuthenticationEvent[],
): EnrolledAuthenticator[] {
  const enrolled: EnrolledAuthenticator[] = [];
  for (const event of events) {
    if (event.method === "totp") enrolled.push({ method: "totp", id: "totp-1", label: "phone" });
    if (event.method === "webauthn") {
      enrolled.push({
        method: "webauthn",
        id: event.credentialId ?? "key-1",
        userVerifying: event.userVerified,
        backupEligible: event.backupEligible,
        attested: event.attested === true,
      });
    }
  }
  if (enrolled.length === 0 && random() < 0.6) {
    enrolled.push(
      random() < 0.6
        ? { method: "totp", id: "totp-1" }
        : { method: "webauthn", id: "key-1", userVerifying: true, backupEligible: random() < 0.7 },
    );
  }
  if (random() < 0.3) enrolled.push({ method: "recovery_code", remaining: between(random, 0, 10) });
  return enrolled;
}

function exemptionFor(
  random: Random,
  now: number,
  tenant: string,
  principal: string,
): Exemption | undefined {
  if (random() >= 0.08) return undefined;
  const iso = (ms: number): string => new Date(ms).toISOString();
  const id = `ex-${String(between(random, 1, 99_999))}`;
  const variant = weighted<Pick<Exemption, "category" | "status"> & Partial<Exemption>>(random, [
    [30, { category: "break_glass", status: "approved" }],
    [20, { category: "temporary_access", status: "approved" }],
    [15, { category: "temporary_access", status: "approved", expiresAt: iso(now - DAY) }],
    [10, { category: "shared_login", status: "approved" }],
    [10, { category: "legacy_integration", status: "requested" }],
    [15, { category: "temporary_access", status: "approved", approvedBy: "ops-lead" }],
  ]);
  // One object literal with every field, as a store's row mapper or JSON.parse gives: spreading
  // a fresh object into another gives each exemption a hidden class of its own in V8, which
  // no real caller's exemptions have and which made every read of them a cache miss.
  return {
    id,
    tenant,
    principal,
    startsAt: iso(now - 2 * DAY),
    expiresAt: variant.expiresAt ?? iso(now + 5 * DAY),
    requestedBy: "ops-lead",
    approvedBy: variant.approvedBy ?? "security-officer",
    justification: "benchmark mix",
    category: variant.category,
    status: variant.status,
  };
}

/** Builds `size` inputs, evaluated at {@link MIX_NOW}. The same `seed` gives the same mix. */
export function buildMix(size: number, seed = 20250602): Mix {
  const random = seeded(seed);
  const now = MIX_NOW.getTime();
  const tenants = buildTenants(random, now);
  const m = platformMandates(now);
  const mandateSets: readonly (readonly [number, readonly PlatformMandate[]])[] = [
    [15, []],
    [20, [m.baseline]],
    [35, [m.baseline, m.emergency]],
    [15, [m.baseline, m.emergency, m.finance]],
    [10, [m.emergency, m.expired, m.adminKeys]],
    [5, [m.expired]],
  ];

  const inputs: EvaluationInput[] = [];
  for (let index = 0; index < size; index++) {
    const { policy, idps } = pick(random, tenants);
    const tenant = policy.tenant;
    const population = populationFor(random, policy.posture);
    const principalId = `u${String(between(random, 1, 700))}`;
    const factory = new EventFactory(random, now, tenant, idps[0]?.id ?? "okta");

    let events: AuthenticationEvent[];
    let grant: "client_credentials" | "jwt_bearer" | undefined;
    if (population === "guest") {
      events = [factory.password(factory.fresh())];
    } else if (population === "sso") {
      events = weighted(random, SSO_SCENARIOS)(factory, random);
    } else if (population === "integration" && random() < 0.55) {
      events = [];
      grant = random() < 0.7 ? "client_credentials" : "jwt_bearer";
    } else {
      events = weighted(random, PLATFORM_SCENARIOS)(factory, random);
    }

    const risk = weighted<RiskLevel | undefined>(random, [
      [45, undefined],
      [25, "low"],
      [20, "medium"],
      [10, "high"],
    ]);
    const stepUp =
      random() < 0.08
        ? pick<RequirementSpec>(random, [
            { minAal: 2, maxAgeSeconds: 300 },
            { minAal: 2, phishingResistant: true },
            { maxAgeSeconds: 900 },
          ])
        : undefined;
    const exemption = exemptionFor(random, now, tenant, principalId);
    const lastActivityAt =
      random() < 0.4
        ? new Date(now - pick(random, [1, 5, 30, 90, 240]) * MINUTE).toISOString()
        : undefined;
    const mandates = weighted(random, mandateSets);

    inputs.push({
      tenant,
      policy,
      ...(mandates.length === 0 ? {} : { mandates }),
      principal: {
        id: principalId,
        population,
        authenticators: authenticatorsFor(random, events),
      },
      evidence: grant === undefined ? { events } : { events, grant },
      ...(exemption === undefined ? {} : { exemptions: [exemption] }),
      ...(risk === undefined ? {} : { risk }),
      ...(stepUp === undefined ? {} : { stepUp }),
      ...(lastActivityAt === undefined ? {} : { lastActivityAt }),
      ...(idps.length === 0 ? {} : { idps }),
    });
  }
  // The service hands the engine tenant policies and mandates from its rule cache, deeply
  // frozen, so that the engine checks each once; the mix shares them the same way. Everything
  // that arrives with a request (principal, evidence, exemptions, step-up) stays unfrozen.
  for (const { policy } of tenants) deepFreeze(policy);
  for (const mandate of Object.values(m)) deepFreeze(mandate);
  return { now: MIX_NOW, inputs, mandates: Object.values(m) };
}
