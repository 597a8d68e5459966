/**
 * fast-check arbitraries for property tests of the policy core. Everything is generated around
 * one fixed instant ({@link NOW}), for the tenant {@link TENANT} and its principal
 * {@link PRINCIPAL}, with a foreign tenant ({@link FOREIGN_TENANT}) and another principal
 * ({@link OTHER_PRINCIPAL}) to try cross-boundary evidence and exemptions.
 *
 * Objects are built without `undefined` for absent optional properties
 * (`exactOptionalPropertyTypes`): `fc.record(…, { requiredKeys })` leaves optional keys out.
 *
 * @module
 */
import fc from "fast-check";
import type {
  Actor,
  AuthenticationEvent,
  EnrolledAuthenticator,
  Evidence,
  FederatedEvent,
  PasswordEvent,
  RecoveryCodeEvent,
  TotpEvent,
  WebAuthnEvent,
} from "../evidence.js";
import type { EvaluationInput, IdpProfile } from "../input.js";
import type {
  Exemption,
  PlatformMandate,
  RequirementSpec,
  RiskRules,
  TenantPolicy,
} from "../policy.js";
import {
  EXEMPTION_CATEGORIES,
  METHODS,
  POPULATIONS,
  POSTURES,
  PROOF_SOURCES,
  REFEDS_MFA,
  RISK_LEVELS,
  TOKEN_GRANTS,
  type Aal,
  type ExemptionCategory,
  type Method,
  type Population,
  type RiskLevel,
} from "../vocabulary.js";

// ---------------------------------------------------------------------------------------------
// Fixed world
// ---------------------------------------------------------------------------------------------

/** The instant every property decides at. */
export const NOW = new Date("2026-11-23T12:00:00.000Z");
/** {@link NOW} in epoch milliseconds. */
export const NOW_MS = NOW.getTime();
/** The tenant being evaluated. */
export const TENANT = "acme";
/** Another tenant: its IdP's evidence and its exemptions never count for {@link TENANT}. */
export const FOREIGN_TENANT = "globex";
/** A third tenant, only ever named in mandate scopes. */
export const THIRD_TENANT = "initech";
/** The principal signing in. */
export const PRINCIPAL = "alice";
/** Another principal of the same tenant. */
export const OTHER_PRINCIPAL = "mallory";
/** The engine's default clock skew for events dated after `now`, in seconds. */
export const DEFAULT_SKEW_SECONDS = 60;

const MINUTE = 60;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** The ISO 8601 instant `offsetSeconds` after {@link NOW} (negative: before). */
export const at = (offsetSeconds: number): string =>
  new Date(NOW_MS + offsetSeconds * 1000).toISOString();

// ---------------------------------------------------------------------------------------------
// Times and durations (offsets in seconds relative to NOW)
// ---------------------------------------------------------------------------------------------

/** Within the last quarter of an hour, up to and including `now`. */
export const recentOffset = fc.oneof(fc.constant(0), fc.integer({ min: -15 * MINUTE, max: 0 }));
/** Earlier today: fresh enough for AAL2 reauthentication, too old for short maximum ages. */
export const olderOffset = fc.integer({ min: -20 * HOUR, max: -15 * MINUTE });
/** Stale for every NIST default (more than a day, up to three months). */
export const staleOffset = fc.integer({ min: -90 * DAY, max: -DAY });
/** Slightly in the future: inside (≤ 60 s) or just beyond the default clock skew. */
export const futureOffset = fc.oneof(
  fc.integer({ min: 1, max: DEFAULT_SKEW_SECONDS }),
  fc.integer({ min: DEFAULT_SKEW_SECONDS + 1, max: 10 * MINUTE }),
);
/** Any event time: mostly recent, some older, some stale, some slightly in the future. */
export const eventOffset = fc.oneof(
  { weight: 6, arbitrary: recentOffset },
  { weight: 2, arbitrary: olderOffset },
  { weight: 2, arbitrary: staleOffset },
  { weight: 1, arbitrary: futureOffset },
);
/** A point strictly before now, at now, or strictly after now. */
export const pastInstant = fc.integer({ min: -60 * DAY, max: -1 }).map(at);
export const futureInstant = fc.integer({ min: 1, max: 60 * DAY }).map(at);

/** A duration in seconds: mostly the usual values, sometimes anything up to 40 days. */
export const durationArb = fc.oneof(
  fc.constantFrom(0, 60, 5 * MINUTE, 15 * MINUTE, HOUR, 12 * HOUR, DAY, 30 * DAY),
  fc.integer({ min: 0, max: 40 * DAY }),
);

// ---------------------------------------------------------------------------------------------
// Requirements, tenant policies, platform mandates
// ---------------------------------------------------------------------------------------------

export const aalArb: fc.Arbitrary<Aal> = fc.constantFrom<Aal>(0, 1, 2, 3);
export const methodArb: fc.Arbitrary<Method> = fc.constantFrom(...METHODS);
/** Any population; guests (to whom policy does not apply) a little less often. */
export const populationArb: fc.Arbitrary<Population> = fc.oneof(
  { weight: 3, arbitrary: fc.constant<Population>("direct") },
  { weight: 3, arbitrary: fc.constant<Population>("sso") },
  { weight: 2, arbitrary: fc.constant<Population>("api_human") },
  { weight: 2, arbitrary: fc.constant<Population>("integration") },
  { weight: 1, arbitrary: fc.constant<Population>("guest") },
);
export const riskLevelArb: fc.Arbitrary<RiskLevel> = fc.constantFrom(...RISK_LEVELS);
export const unknownRiskArb = fc.constantFrom<"low" | "medium">("low", "medium");

/** Accepted-method lists: the postures' lists, all methods, or any subset (even empty). */
export const acceptedMethodsArb: fc.Arbitrary<readonly Method[]> = fc.oneof(
  fc.constantFrom<readonly Method[]>(
    ["totp", "webauthn", "recovery_code"],
    ["webauthn"],
    ["federated"],
    ["totp", "webauthn", "recovery_code", "federated"],
    METHODS,
  ),
  fc.subarray([...METHODS]),
);

/** `arb` or, `absentWeight` times as often, nothing. */
const sometimes = <T>(arb: fc.Arbitrary<T>, absentWeight: number): fc.Arbitrary<T | undefined> =>
  fc.oneof(
    { weight: absentWeight, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: arb },
  );

/** `record` without its `undefined` properties (so that optional properties are absent). */
function compact<T extends object>(record: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], undefined>;
  };
}

/** `record` without the property `key` (absent, not `undefined`). */
export function omit<T extends object, K extends keyof T>(record: T, key: K): Omit<T, K> {
  return Object.fromEntries(Object.entries(record).filter(([k]) => k !== key)) as Omit<T, K>;
}

/**
 * One rule's requirement: sometimes empty, otherwise any combination of constraints. Strength
 * and freshness constraints are common; method and proof-source restrictions, which easily make
 * rules conflict, are rarer so that most generated inputs can still be met.
 */
export const requirementSpecArb: fc.Arbitrary<RequirementSpec> = fc.oneof(
  { weight: 1, arbitrary: fc.constant({}) },
  {
    weight: 4,
    arbitrary: fc
      .record({
        minAal: sometimes(aalArb, 1),
        phishingResistant: sometimes(fc.boolean(), 2),
        userVerification: sometimes(fc.boolean(), 2),
        maxAgeSeconds: sometimes(durationArb, 3),
        reauthIntervalSeconds: sometimes(durationArb, 4),
        idleTimeoutSeconds: sometimes(durationArb, 4),
        acceptedMethods: sometimes(acceptedMethodsArb, 4),
        proofSource: sometimes(fc.constantFrom(...PROOF_SOURCES), 4),
      })
      .map((spec): RequirementSpec => compact(spec)),
  },
);

/** Risk rules for any subset of levels. */
export const riskRulesArb: fc.Arbitrary<RiskRules> = fc
  .record({
    low: sometimes(requirementSpecArb, 2),
    medium: sometimes(requirementSpecArb, 2),
    high: sometimes(requirementSpecArb, 1),
  })
  .map((rules): RiskRules => compact(rules));

/** Every posture, optional parameters, and an enforcement start before or after now. */
export const tenantPolicyArb: fc.Arbitrary<TenantPolicy> = fc.record(
  {
    tenant: fc.constant(TENANT),
    version: fc.integer({ min: 1, max: 50 }),
    posture: fc.constantFrom(...POSTURES),
    require: requirementSpecArb,
    riskRules: riskRulesArb,
    unknownRisk: unknownRiskArb,
    enforcementStartsAt: fc.oneof(pastInstant, fc.constant(at(0)), futureInstant),
  },
  { requiredKeys: ["tenant", "version", "posture"] },
);

/** A tenant policy whose enforcement starts after now (`report_only`). */
export const reportOnlyPolicyArb: fc.Arbitrary<TenantPolicy> = fc
  .tuple(tenantPolicyArb, futureInstant)
  .map(([policy, startsAt]) => ({ ...policy, enforcementStartsAt: startsAt }));

/** Which tenants a mandate binds: all, or a list that may include or omit this tenant. */
export const mandateTenantsArb: fc.Arbitrary<"all" | readonly string[]> = fc.oneof(
  fc.constant("all" as const),
  fc.subarray([TENANT, FOREIGN_TENANT, THIRD_TENANT]),
  fc.constantFrom([TENANT], [FOREIGN_TENANT], [TENANT, FOREIGN_TENANT]),
);

/** An active window before, around or after now, open-ended, or with a bound exactly at now. */
export const activeWindowArb: fc.Arbitrary<{ activeFrom?: string; activeUntil?: string }> =
  fc.oneof(
    fc.constant({}),
    // Around now.
    fc.record({ activeFrom: pastInstant, activeUntil: futureInstant }, { requiredKeys: [] }),
    // Entirely before now (expired uplift).
    fc
      .tuple(fc.integer({ min: -60 * DAY, max: -2 }), fc.integer({ min: 1, max: 30 * DAY }))
      .map(([from, length]) => ({
        activeFrom: at(from),
        activeUntil: at(Math.min(from + length, 0)),
      })),
    // Entirely after now (scheduled uplift).
    fc
      .tuple(fc.integer({ min: 1, max: 30 * DAY }), fc.integer({ min: 1, max: 30 * DAY }))
      .map(([from, length]) => ({ activeFrom: at(from), activeUntil: at(from + length) })),
    // Bounds exactly at now: from now (active), until now (no longer active).
    fc.constantFrom({ activeFrom: at(0) }, { activeUntil: at(0) }),
  );

/** Any platform mandate: scoped to any tenants and populations, active or not, exemptible or not. */
export const platformMandateArb: fc.Arbitrary<PlatformMandate> = fc
  .tuple(
    fc.record(
      {
        id: fc.constantFrom("m-uplift", "m-phishing", "m-fresh", "m-idp", "m-baseline"),
        version: fc.integer({ min: 1, max: 9 }),
        title: fc.constantFrom("Emergency uplift", "Baseline MFA"),
        scope: fc.record(
          { tenants: mandateTenantsArb, populations: fc.subarray([...POPULATIONS]) },
          { requiredKeys: ["tenants"] },
        ),
        require: requirementSpecArb,
        riskRules: riskRulesArb,
        unknownRisk: unknownRiskArb,
        exemptible: fc.boolean(),
      },
      { requiredKeys: ["id", "version", "scope", "require", "exemptible"] },
    ),
    activeWindowArb,
  )
  .map(([mandate, window]) => ({ ...mandate, ...window }));

export const mandatesArb: fc.Arbitrary<readonly PlatformMandate[]> = fc.array(platformMandateArb, {
  maxLength: 3,
});

// ---------------------------------------------------------------------------------------------
// Principals and evidence
// ---------------------------------------------------------------------------------------------

/** An enrolled authenticator of any kind. */
export const enrolledAuthenticatorArb: fc.Arbitrary<EnrolledAuthenticator> = fc.oneof(
  fc.record(
    {
      method: fc.constant("totp" as const),
      id: fc.constantFrom("totp-phone", "totp-token"),
      label: fc.constantFrom("Phone", "Token"),
    },
    { requiredKeys: ["method"] },
  ),
  fc.record(
    {
      method: fc.constant("webauthn" as const),
      id: fc.constantFrom("key-1", "passkey-1"),
      label: fc.constantFrom("YubiKey", "Passkey"),
      userVerifying: fc.boolean(),
      backupEligible: fc.boolean(),
      attested: fc.boolean(),
    },
    { requiredKeys: ["method", "userVerifying", "backupEligible"] },
  ),
  fc.record({
    method: fc.constant("recovery_code" as const),
    remaining: fc.integer({ min: 0, max: 10 }),
  }),
);

/** A principal of {@link TENANT} in any population (or the given ones), with enrolments. */
export const principalArb = (
  population: fc.Arbitrary<Population> = populationArb,
): fc.Arbitrary<EvaluationInput["principal"]> =>
  fc.record(
    {
      id: fc.constant(PRINCIPAL),
      population,
      authenticators: fc.array(enrolledAuthenticatorArb, { maxLength: 3 }),
      sharedLogin: fc.boolean(),
    },
    { requiredKeys: ["id", "population"] },
  );

/** How to generate events: when they happened, and which tenants federated events name. */
export interface EventOptions {
  /** Offsets in seconds from {@link NOW}. */
  readonly offset?: fc.Arbitrary<number>;
  /** Tenants the IdP events come from. */
  readonly federatedTenant?: fc.Arbitrary<string>;
}

const claimsArb = fc.record(
  {
    amr: fc.subarray(["pwd", "mfa", "hwk", "otp"]),
    acr: fc.constantFrom(REFEDS_MFA, "urn:oasis:names:tc:SAML:2.0:ac:classes:Password"),
  },
  { requiredKeys: [] },
);

export const passwordEventArb = (o: EventOptions = {}): fc.Arbitrary<PasswordEvent> =>
  fc.record({
    method: fc.constant("password" as const),
    source: fc.constant("platform" as const),
    at: (o.offset ?? eventOffset).map(at),
  });

export const totpEventArb = (o: EventOptions = {}): fc.Arbitrary<TotpEvent> =>
  fc.record({
    method: fc.constant("totp" as const),
    source: fc.constant("platform" as const),
    at: (o.offset ?? eventOffset).map(at),
  });

export const recoveryCodeEventArb = (o: EventOptions = {}): fc.Arbitrary<RecoveryCodeEvent> =>
  fc.record({
    method: fc.constant("recovery_code" as const),
    source: fc.constant("platform" as const),
    at: (o.offset ?? eventOffset).map(at),
  });

export const webauthnEventArb = (o: EventOptions = {}): fc.Arbitrary<WebAuthnEvent> =>
  fc.record(
    {
      method: fc.constant("webauthn" as const),
      source: fc.constant("platform" as const),
      at: (o.offset ?? eventOffset).map(at),
      userVerified: fc.boolean(),
      backupEligible: fc.boolean(),
      attested: fc.boolean(),
      credentialId: fc.constantFrom("key-1", "passkey-1"),
    },
    { requiredKeys: ["method", "source", "at", "userVerified", "backupEligible"] },
  );

export const federatedEventArb = (o: EventOptions = {}): fc.Arbitrary<FederatedEvent> =>
  fc.record(
    {
      method: fc.constant("federated" as const),
      source: fc.constant("idp" as const),
      at: (o.offset ?? eventOffset).map(at),
      tenant: o.federatedTenant ?? fc.constantFrom(TENANT, TENANT, FOREIGN_TENANT),
      idp: fc.constantFrom("okta", "entra"),
      assurance: fc.record({ aal: aalArb, phishingResistant: fc.boolean() }),
      claims: claimsArb,
    },
    { requiredKeys: ["method", "source", "at", "tenant", "idp", "assurance"] },
  );

/** An authentication event of any method. */
export const authenticationEventArb = (o: EventOptions = {}): fc.Arbitrary<AuthenticationEvent> =>
  fc.oneof(
    passwordEventArb(o),
    totpEventArb(o),
    recoveryCodeEventArb(o),
    webauthnEventArb(o),
    federatedEventArb(o),
  );

/**
 * A valid event that the engine must count: dated in the last quarter hour (never after now) and,
 * for the IdP, from this tenant.
 */
export const validRecentEventArb: fc.Arbitrary<AuthenticationEvent> = authenticationEventArb({
  offset: recentOffset,
  federatedTenant: fc.constant(TENANT),
});

export const actorArb: fc.Arbitrary<Actor> = fc.record(
  { sub: fc.constantFrom("carol@acme", "pam-robot"), iss: fc.constant("https://pam.example") },
  { requiredKeys: ["sub"] },
);

/** The evidence of a sign-in: a few events, sometimes a token grant or an actor. */
export const evidenceArb = (
  events: fc.Arbitrary<readonly AuthenticationEvent[]> = fc.array(authenticationEventArb(), {
    maxLength: 5,
  }),
): fc.Arbitrary<Evidence> =>
  fc.record(
    { events, grant: fc.constantFrom(...TOKEN_GRANTS), act: actorArb },
    { requiredKeys: ["events"] },
  );

// ---------------------------------------------------------------------------------------------
// Exemptions
// ---------------------------------------------------------------------------------------------

const usableCategoryArb = fc.constantFrom<ExemptionCategory>(
  "break_glass",
  "legacy_integration",
  "temporary_access",
);

/** An exemption that applies: approved by someone else, active now, for this principal. */
export const usableExemptionArb: fc.Arbitrary<Exemption> = fc.record(
  {
    id: fc.integer({ min: 1, max: 99_999 }).map((n) => `ex-${n}`),
    tenant: fc.constant(TENANT),
    principal: fc.constant(PRINCIPAL),
    category: usableCategoryArb,
    status: fc.constant("approved" as const),
    startsAt: fc.oneof(fc.constant(at(0)), pastInstant),
    expiresAt: futureInstant,
    requestedBy: fc.constantFrom("ops-1", "ops-2"),
    approvedBy: fc.constantFrom("security-1", "security-2"),
    justification: fc.constantFrom("Lost phone", "Vendor outage"),
  },
  {
    requiredKeys: [
      "id",
      "tenant",
      "principal",
      "category",
      "status",
      "startsAt",
      "expiresAt",
      "requestedBy",
      "approvedBy",
    ],
  },
);

/** Expired: `expiresAt ≤ now` (including exactly now). */
export const expiredExemptionArb: fc.Arbitrary<Exemption> = fc
  .tuple(
    usableExemptionArb,
    fc.integer({ min: -60 * DAY, max: 0 }),
    fc.integer({ min: 1, max: 30 * DAY }),
  )
  .map(([e, until, length]) => ({ ...e, startsAt: at(until - length), expiresAt: at(until) }));

/** Not yet active: `startsAt > now`. */
export const notYetActiveExemptionArb: fc.Arbitrary<Exemption> = fc
  .tuple(
    usableExemptionArb,
    fc.integer({ min: 1, max: 30 * DAY }),
    fc.integer({ min: 1, max: 30 * DAY }),
  )
  .map(([e, from, length]) => ({ ...e, startsAt: at(from), expiresAt: at(from + length) }));

/** For another principal of the same tenant. */
export const otherPrincipalExemptionArb: fc.Arbitrary<Exemption> = usableExemptionArb.map((e) => ({
  ...e,
  principal: OTHER_PRINCIPAL,
}));

/** For the same principal id, in another tenant. */
export const otherTenantExemptionArb: fc.Arbitrary<Exemption> = usableExemptionArb.map((e) => ({
  ...e,
  tenant: FOREIGN_TENANT,
}));

/** Not approved: requested, rejected or revoked; or marked approved without an approver. */
export const unapprovedExemptionArb: fc.Arbitrary<Exemption> = fc.oneof(
  fc
    .tuple(usableExemptionArb, fc.constantFrom("requested", "rejected", "revoked" as const))
    .map(([e, status]) => ({ ...e, status })),
  usableExemptionArb.map((e) => omit(e, "approvedBy")),
  usableExemptionArb.map((e) => ({ ...e, approvedBy: "" })),
);

/** Approved by its own requester. */
export const selfApprovedExemptionArb: fc.Arbitrary<Exemption> = usableExemptionArb.map((e) => ({
  ...e,
  approvedBy: e.requestedBy,
}));

/** A `shared_login` exemption, otherwise valid or not (seed 001: never honoured). */
export const sharedLoginExemptionArb: fc.Arbitrary<Exemption> = fc
  .oneof(
    { weight: 3, arbitrary: usableExemptionArb },
    { weight: 1, arbitrary: expiredExemptionArb },
    { weight: 1, arbitrary: selfApprovedExemptionArb },
  )
  .map((e) => ({ ...e, category: "shared_login" as const }));

/** Exemptions the engine must ignore entirely, whatever their category. */
export const inertExemptionArb: fc.Arbitrary<Exemption> = fc
  .tuple(
    fc.oneof(
      expiredExemptionArb,
      notYetActiveExemptionArb,
      otherPrincipalExemptionArb,
      otherTenantExemptionArb,
      unapprovedExemptionArb,
      selfApprovedExemptionArb,
    ),
    fc.constantFrom(...EXEMPTION_CATEGORIES),
  )
  .map(([e, category]) => ({ ...e, category }));

/** Any exemption: usable, shared-login or inert. */
export const exemptionArb: fc.Arbitrary<Exemption> = fc.oneof(
  { weight: 3, arbitrary: usableExemptionArb },
  { weight: 1, arbitrary: sharedLoginExemptionArb },
  { weight: 3, arbitrary: inertExemptionArb },
);

/** A list of exemptions with distinct ids (ids are unique in the store). */
export const exemptionsArb = (
  item: fc.Arbitrary<Exemption> = exemptionArb,
): fc.Arbitrary<readonly Exemption[]> =>
  fc.uniqueArray(item, { maxLength: 3, selector: (e) => e.id });

// ---------------------------------------------------------------------------------------------
// Whole inputs
// ---------------------------------------------------------------------------------------------

export const idpProfileArb: fc.Arbitrary<IdpProfile> = fc.record(
  {
    id: fc.constantFrom("okta", "entra"),
    mfaRequestValues: fc.constant([REFEDS_MFA]),
    phishingResistantRequestValues: fc.constant(["urn:example:phishing-resistant"]),
  },
  { requiredKeys: ["id"] },
);

/** Which parts of an input to generate differently from the defaults. */
export interface InputOptions {
  readonly policy?: fc.Arbitrary<TenantPolicy>;
  readonly mandates?: fc.Arbitrary<readonly PlatformMandate[]>;
  readonly population?: fc.Arbitrary<Population>;
  readonly events?: fc.Arbitrary<readonly AuthenticationEvent[]>;
  readonly exemptions?: fc.Arbitrary<readonly Exemption[]>;
}

/**
 * A well-formed evaluation input for {@link TENANT}: any policy, mandates, principal, evidence,
 * exemptions, risk level (or none), step-up, last activity and IdP profiles.
 */
export const evaluationInputArb = (o: InputOptions = {}): fc.Arbitrary<EvaluationInput> =>
  fc
    .record(
      {
        policy: o.policy ?? tenantPolicyArb,
        mandates: o.mandates ?? mandatesArb,
        principal: principalArb(o.population),
        evidence: evidenceArb(o.events),
        exemptions: o.exemptions ?? exemptionsArb(),
        risk: riskLevelArb,
        stepUp: requirementSpecArb,
        lastActivityAt: fc.integer({ min: -3 * HOUR, max: 0 }).map(at),
        idps: fc.array(idpProfileArb, { maxLength: 2 }),
      },
      { requiredKeys: ["policy", "principal", "evidence"] },
    )
    .map((rest) => ({ tenant: TENANT, ...rest }));

/**
 * The weakest tenant policy under any mandates: `mfa_optional`, nothing else, same tenant and
 * version. By mandate dominance (DESIGN invariant 2) no policy may decide more leniently.
 */
export const weakestPolicy = (policy: TenantPolicy): TenantPolicy => ({
  tenant: policy.tenant,
  version: policy.version,
  posture: "mfa_optional",
});

// ---------------------------------------------------------------------------------------------
// Garbage, for fail-closed properties
// ---------------------------------------------------------------------------------------------

/** Strings that look like vocabulary but are not in it. */
export const unknownWordArb = (known: readonly string[]): fc.Arbitrary<string> =>
  fc
    .oneof(
      fc.constantFrom("", " ", "none", "admin", "sms", "push", "both", "critical", "any", "*"),
      fc.constantFrom(...known).map((w) => w.toUpperCase()),
      fc.constantFrom(...known).map((w) => w.replace("_", "-")),
      fc.constantFrom(...known).map((w) => ` ${w}`),
      fc.string({ maxLength: 12 }),
    )
    .filter((w) => !known.includes(w));

/** Values of any JSON-ish shape (bounded depth). */
export const garbageArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.anything({ maxDepth: 2, maxKeys: 4 }),
  fc.constantFrom(
    null,
    undefined,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    -1,
    1.5,
    "",
    "not-a-date",
    [],
    {},
  ),
);

/** Garbage that fails `accept` (so it is really invalid at the place it is put). */
export const invalidFor = (accept: (value: unknown) => boolean): fc.Arbitrary<unknown> =>
  garbageArb.filter((v) => !accept(v));

const isRecord = (v: unknown): boolean => typeof v === "object" && v !== null && !Array.isArray(v);
const isNonEmptyString = (v: unknown): boolean => typeof v === "string" && v.length > 0;
const isTime = (v: unknown): boolean => typeof v === "string" && Number.isFinite(Date.parse(v));
const isDuration = (v: unknown): boolean => typeof v === "number" && Number.isFinite(v) && v >= 0;
const optional =
  (accept: (v: unknown) => boolean) =>
  (v: unknown): boolean =>
    v === undefined || accept(v);
const oneOf =
  (list: readonly unknown[]) =>
  (v: unknown): boolean =>
    list.includes(v);
const listOf =
  (accept: (v: unknown) => boolean) =>
  (v: unknown): boolean =>
    Array.isArray(v) && v.every(accept);

/** A path into an evaluation input. */
export type InputPath = readonly (string | number)[];

/** One place of an input and values that are invalid there. */
export interface Corruption {
  readonly path: InputPath;
  readonly value: unknown;
}

/** Values invalid for one field of a requirement spec, keyed by field. */
const invalidSpecFields: readonly [string, fc.Arbitrary<unknown>][] = [
  [
    "minAal",
    fc.oneof(fc.constantFrom(4, -1, 2.5, "2", true), invalidFor(optional(oneOf([0, 1, 2, 3])))),
  ],
  [
    "phishingResistant",
    fc.oneof(fc.constantFrom("true", 1, 0), invalidFor(optional((v) => typeof v === "boolean"))),
  ],
  [
    "userVerification",
    fc.oneof(fc.constantFrom("false", 1), invalidFor(optional((v) => typeof v === "boolean"))),
  ],
  [
    "maxAgeSeconds",
    fc.oneof(
      fc.constantFrom(-1, Number.NaN, Number.POSITIVE_INFINITY, "300"),
      invalidFor(optional(isDuration)),
    ),
  ],
  [
    "reauthIntervalSeconds",
    fc.oneof(fc.constantFrom(-60, Number.NaN, "3600"), invalidFor(optional(isDuration))),
  ],
  [
    "idleTimeoutSeconds",
    fc.oneof(
      fc.constantFrom(-1, Number.NEGATIVE_INFINITY, "900"),
      invalidFor(optional(isDuration)),
    ),
  ],
  [
    "acceptedMethods",
    fc.oneof(
      unknownWordArb(METHODS).map((m) => ["totp", m]),
      fc.constantFrom("totp", "webauthn"),
      invalidFor(optional(listOf(oneOf(METHODS)))),
    ),
  ],
  [
    "proofSource",
    fc.oneof(unknownWordArb(PROOF_SOURCES), invalidFor(optional(oneOf(PROOF_SOURCES)))),
  ],
];

/** Corruptions of a requirement spec found at `at`: the spec itself or one of its fields. */
const specCorruptions = (base: InputPath, required: boolean): fc.Arbitrary<Corruption>[] => [
  invalidFor(required ? isRecord : optional(isRecord)).map((value) => ({ path: base, value })),
  ...invalidSpecFields.map(([field, values]) =>
    values.map((value) => ({ path: [...base, field], value })),
  ),
];

/** Corruptions of risk rules and `unknownRisk` under `base`. */
const riskCorruptions = (base: InputPath): fc.Arbitrary<Corruption>[] => [
  invalidFor(optional(isRecord)).map((value) => ({ path: [...base, "riskRules"], value })),
  unknownWordArb(RISK_LEVELS).map((level) => ({
    path: [...base, "riskRules", level],
    value: {},
  })),
  ...RISK_LEVELS.flatMap((level) => specCorruptions([...base, "riskRules", level], true)),
  fc
    .oneof(
      fc.constant("high"),
      unknownWordArb(["low", "medium"]),
      invalidFor(optional(oneOf(["low", "medium"]))),
    )
    .map((value) => ({ path: [...base, "unknownRisk"], value })),
];

const at0 = (path: InputPath, values: fc.Arbitrary<unknown>): fc.Arbitrary<Corruption> =>
  values.map((value) => ({ path, value }));

/**
 * A corruption that makes an input unreadable: a wrong type, an unknown vocabulary word, or an
 * invalid time at a place the engine must read (input shape, tenant policy, any mandate, step-up).
 * Mandate paths address `mandates[0]`, so the input must have at least one mandate.
 */
export const corruptionArb: fc.Arbitrary<Corruption> = fc.oneof(
  // The input itself and its top-level fields.
  at0([], invalidFor(isRecord)),
  at0(["tenant"], fc.oneof(fc.constant(FOREIGN_TENANT), invalidFor(isNonEmptyString))),
  at0(["principal"], invalidFor(isRecord)),
  at0(["principal", "id"], invalidFor(isNonEmptyString)),
  at0(
    ["principal", "population"],
    fc.oneof(unknownWordArb(POPULATIONS), invalidFor(oneOf(POPULATIONS))),
  ),
  at0(["evidence"], invalidFor(isRecord)),
  at0(["evidence", "events"], invalidFor(Array.isArray)),
  at0(["risk"], fc.oneof(unknownWordArb(RISK_LEVELS), invalidFor(optional(oneOf(RISK_LEVELS))))),
  at0(["lastActivityAt"], invalidFor(optional(isTime))),
  ...specCorruptions(["stepUp"], false),
  at0(["exemptions"], invalidFor(optional(Array.isArray))),
  at0(["mandates"], invalidFor(optional(Array.isArray))),
  at0(["idps"], invalidFor(optional(Array.isArray))),
  // The tenant policy.
  at0(["policy"], invalidFor(isRecord)),
  at0(["policy", "tenant"], fc.oneof(fc.constant(FOREIGN_TENANT), invalidFor(isNonEmptyString))),
  at0(["policy", "version"], invalidFor(Number.isInteger)),
  at0(["policy", "posture"], fc.oneof(unknownWordArb(POSTURES), invalidFor(oneOf(POSTURES)))),
  ...specCorruptions(["policy", "require"], false),
  at0(["policy", "enforcementStartsAt"], invalidFor(optional(isTime))),
  ...riskCorruptions(["policy"]),
  // A platform mandate (whether or not it would apply to this tenant).
  at0(["mandates", 0], invalidFor(isRecord)),
  at0(["mandates", 0, "id"], invalidFor(isNonEmptyString)),
  at0(["mandates", 0, "version"], invalidFor(Number.isInteger)),
  at0(
    ["mandates", 0, "exemptible"],
    fc.oneof(
      fc.constantFrom("false", 0, null),
      invalidFor((v) => typeof v === "boolean"),
    ),
  ),
  at0(["mandates", 0, "scope"], invalidFor(isRecord)),
  at0(
    ["mandates", 0, "scope", "tenants"],
    fc.oneof(
      fc.constantFrom("ALL", TENANT, [TENANT, ""], [TENANT, 7]),
      invalidFor((v) => v === "all" || listOf(isNonEmptyString)(v)),
    ),
  ),
  at0(
    ["mandates", 0, "scope", "populations"],
    fc.oneof(
      unknownWordArb(POPULATIONS).map((p) => ["direct", p]),
      invalidFor(optional(listOf(oneOf(POPULATIONS)))),
    ),
  ),
  at0(["mandates", 0, "activeFrom"], invalidFor(optional(isTime))),
  at0(["mandates", 0, "activeUntil"], invalidFor(optional(isTime))),
  ...specCorruptions(["mandates", 0, "require"], true),
  ...riskCorruptions(["mandates", 0]),
);

/** `root` with `value` put at `path` (copying along the way, creating missing objects). */
export function setPath(root: unknown, path: InputPath, value: unknown): unknown {
  const [head, ...rest] = path;
  if (head === undefined) return value;
  const copy: Record<string | number, unknown> = Array.isArray(root)
    ? ([...(root as unknown[])] as unknown as Record<number, unknown>)
    : typeof root === "object" && root !== null
      ? { ...(root as Record<string, unknown>) }
      : {};
  copy[head] = setPath(copy[head], rest, value);
  return copy;
}

// ---------------------------------------------------------------------------------------------
// Malformed evidence and exemptions, which the engine must ignore one by one
// ---------------------------------------------------------------------------------------------

/**
 * An event the engine must not count: unknown method, wrong source, flags or assurance of the
 * wrong type or out of range, a federated event without tenant or IdP, or no event at all.
 * (Events whose `at` is not a string are generated by {@link nonStringTimeEventArb}.)
 */
export const malformedEventArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, "totp", 42, [], {}),
  fc.tuple(validRecentEventArb, unknownWordArb(METHODS)).map(([e, method]) => ({ ...e, method })),
  fc
    .tuple(validRecentEventArb, fc.constantFrom("idp", "platform", "", "PLATFORM", undefined))
    .filter(([e, source]) => source !== e.source)
    .map(([e, source]) => ({ ...e, source })),
  fc
    .tuple(validRecentEventArb, fc.constantFrom("not-a-date", "", "2026-13-45T00:00:00Z"))
    .map(([e, time]) => ({ ...e, at: time })),
  fc
    .tuple(
      webauthnEventArb({ offset: recentOffset }),
      fc.constantFrom("userVerified", "backupEligible"),
      fc.constantFrom("true", 1, null, undefined, "yes"),
    )
    .map(([e, key, value]) => ({ ...e, [key]: value })),
  fc
    .tuple(
      federatedEventArb({ offset: recentOffset, federatedTenant: fc.constant(TENANT) }),
      fc.oneof(
        fc
          .constantFrom(4, -1, 2.5, "2", null)
          .map((aal) => ({ assurance: { aal, phishingResistant: true } })),
        fc
          .constantFrom("true", 1, null)
          .map((pr) => ({ assurance: { aal: 3, phishingResistant: pr } })),
        fc.constantFrom(null, "aal2", 2, [2, true]).map((assurance) => ({ assurance })),
        fc.constantFrom(null, 7, [TENANT], undefined).map((tenant) => ({ tenant })),
        fc.constantFrom(null, 7, undefined).map((idp) => ({ idp })),
      ),
    )
    .map(([e, patch]) => ({ ...e, ...patch })),
);

/**
 * A valid, recent event whose `at` is not an ISO string but something that JavaScript coerces
 * into one: a Date object, a one-element array, an epoch-milliseconds number.
 */
export const nonStringTimeEventArb: fc.Arbitrary<unknown> = fc
  .tuple(validRecentEventArb, fc.constantFrom("date", "array", "number"))
  .map(([e, kind]) => {
    const time = Date.parse(e.at);
    const value = kind === "date" ? new Date(time) : kind === "array" ? [e.at] : time;
    return { ...e, at: value };
  });

/** An otherwise usable exemption whose category is not one of {@link EXEMPTION_CATEGORIES}. */
export const unknownCategoryExemptionArb: fc.Arbitrary<unknown> = fc
  .tuple(
    usableExemptionArb,
    fc.oneof(
      fc.constantFrom("SHARED_LOGIN", "shared-login", "Shared_Login", " shared_login", "other"),
      unknownWordArb(EXEMPTION_CATEGORIES),
      invalidFor(oneOf(EXEMPTION_CATEGORIES)),
    ),
  )
  .map(([e, category]) => ({ ...e, category }));

/** An otherwise usable exemption whose requester is missing, empty or not a string. */
export const noRequesterExemptionArb: fc.Arbitrary<unknown> = fc
  .tuple(usableExemptionArb, fc.constantFrom(undefined, "", null, 0, ["ops-1"]))
  .map(([e, requestedBy]) =>
    requestedBy === undefined ? omit(e, "requestedBy") : { ...e, requestedBy },
  );

/** An otherwise usable exemption with a wrong type or value in one of its other fields. */
export const malformedExemptionArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, "ex-1", 42, []),
  fc
    .tuple(
      usableExemptionArb,
      fc.oneof(
        fc.constantFrom(7, null, undefined).map((id) => ({ id })),
        fc.constantFrom(null, 7, [TENANT], undefined).map((tenant) => ({ tenant })),
        fc.constantFrom(null, 7, [PRINCIPAL], undefined).map((principal) => ({ principal })),
        fc
          .constantFrom("APPROVED", "approved ", true, null, undefined)
          .map((status) => ({ status })),
        fc.constantFrom("", "never", null, undefined, 0).map((expiresAt) => ({ expiresAt })),
        fc.constantFrom("", "soon", null, undefined).map((startsAt) => ({ startsAt })),
        fc.constantFrom(null, 7, true).map((approvedBy) => ({ approvedBy })),
      ),
    )
    .map(([e, patch]) => ({ ...e, ...patch })),
);
