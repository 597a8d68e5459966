import { z } from "zod";
import { VERIFIED_TABLES } from "../app/damaged-records.js";
import { ROLES } from "../app/records.js";
import { EXEMPTION_CATEGORIES, OUTCOMES, POPULATIONS, POSTURES } from "../core/vocabulary.js";
import { mandateInput, policyInput, time } from "./request-schemas.js";

/**
 * The shapes of responses, for the OpenAPI document only: responses are serialised as they are,
 * never filtered through these.
 */

export const problemSchema = z
  .object({
    type: z.string().describe("A URI naming the problem type, one per `code`."),
    title: z.string(),
    status: z.int(),
    detail: z.string(),
    code: z.string().describe("The stable error code."),
    instance: z.string().optional(),
    errors: z
      .array(z.object({ pointer: z.string(), detail: z.string() }))
      .optional()
      .describe("Every invalid part of the request, as JSON pointers."),
    details: z.record(z.string(), z.unknown()).optional(),
    retryAfter: z
      .int()
      .optional()
      .describe("Seconds to wait before retrying, as the `Retry-After` header says too."),
  })
  .describe("RFC 9457 problem details");

const page = <T extends z.ZodType>(item: T) =>
  z.object({
    items: z.array(item),
    next: z.string().nullable().describe("Pass as `after` for the next page; null at the end."),
  });

export const tenantRecord = z.object({
  id: z.string(),
  name: z.string(),
  createdAt: time,
  returnUrls: z.array(z.string()),
  logoUrl: z.string().optional().describe("Shown on the tenant's hosted pages."),
});

const mapping = z.object({
  mfaContexts: z.array(z.string()),
  phishingResistantContexts: z.array(z.string()),
  singleFactorContexts: z.array(z.string()),
  mfaAmr: z.array(z.string()),
  phishingResistantAmr: z.array(z.string()),
  amrFactorPairs: z.boolean(),
});

/** An IdP registration as shown: never a secret, not even sealed. */
export const idpView = z.object({
  tenant: z.string(),
  id: z.string(),
  displayName: z.string().optional(),
  protocol: z.enum(["saml", "oidc"]),
  saml: z
    .object({
      entityId: z.string(),
      ssoUrl: z.string(),
      signingCertificates: z.array(z.string()),
      allowUnsolicited: z.boolean(),
      subjectAttribute: z.string().optional(),
      nameIdFormat: z
        .string()
        .optional()
        .describe("The NameID Format asked of the IdP (a full URI); absent: none is asked."),
      metadataValidUntil: time
        .optional()
        .describe(
          "The `validUntil` of the metadata registered: from then on sign-ins at this IdP are refused until current metadata is registered.",
        ),
    })
    .optional(),
  oidc: z
    .object({
      issuer: z.string(),
      clientId: z.string(),
      clientSecretSet: z.literal(true),
      scopes: z.array(z.string()),
      idTokenAlgorithms: z.array(z.string()),
      subjectClaim: z.string(),
    })
    .optional(),
  request: z.object({ mfa: z.array(z.string()), phishingResistant: z.array(z.string()) }),
  mapping,
  clockSkewSeconds: z.int(),
  maxAuthenticationAgeSeconds: z.int(),
  version: z.int(),
  createdAt: time,
  updatedAt: time,
  updatedBy: z.string(),
  endpoints: z.object({
    start: z.string(),
    samlMetadata: z.string().optional(),
    samlAcs: z.string().optional(),
    oidcRedirectUri: z.string().optional(),
  }),
});

export const policyRecord = z.object({
  tenant: z.string(),
  version: z.int(),
  policy: policyInput.extend({ tenant: z.string(), version: z.int() }),
  rationale: z.string(),
  actor: z.string(),
  createdAt: time,
  rollbackOf: z.int().optional(),
});

export const policyResponse = policyRecord.extend({
  warnings: z
    .array(z.object({ part: z.string(), mandate: z.string(), message: z.string() }))
    .describe("Parts of the policy that a platform mandate overrides."),
});

export const policyHistoryEntry = policyRecord.extend({
  diff: z.array(
    z.object({ path: z.string(), before: z.unknown().optional(), after: z.unknown().optional() }),
  ),
});

export const mandateRecord = z.object({
  id: z.string(),
  version: z.int(),
  mandate: mandateInput.extend({ id: z.string(), version: z.int() }),
  status: z.enum(["active", "retired"]),
  rationale: z.string(),
  actor: z.string(),
  createdAt: time,
});

export const principalRecord = z.object({
  tenant: z.string(),
  id: z.string(),
  externalId: z.string().optional(),
  population: z.enum(POPULATIONS),
  displayName: z.string().optional(),
  sharedLogin: z.literal(true).optional().describe("A shared login: no exemption excuses it."),
  idp: z
    .string()
    .optional()
    .describe("The one IdP whose answers may sign the principal in; absent: any of the tenant's."),
  idpIssuer: z
    .string()
    .optional()
    .describe(
      "The issuer (OIDC) or entity id (SAML) `idp` was registered with when the principal was bound to it: the binding counts only while `idp` is registered with this one (`federation.idp_rebound` otherwise). Naming `idp` again in a PUT binds the principal at the issuer registered now.",
    ),
  createdAt: time,
  updatedAt: time,
  proofsWithdrawnAt: time
    .optional()
    .describe(
      "When an authenticator of the principal was last removed or locked by a clone signal (or its recovery codes revoked or replaced), by the clock of the instance that did it: no verification made before counts in a decision.",
    ),
  proofsWithdrawnSeq: z
    .number()
    .int()
    .optional()
    .describe(
      "The position (`seq`) in the tenant's audit chain of that withdrawal's event: a verification recorded below it counts in no decision. Absent with `proofsWithdrawnAt` present: withdrawn before positions were kept, compared by time.",
    ),
});

export const exemptionRecord = z.object({
  id: z.string(),
  tenant: z.string(),
  principal: z.string(),
  category: z.enum(EXEMPTION_CATEGORIES),
  status: z.enum(["approved", "requested", "rejected", "revoked"]),
  startsAt: time,
  expiresAt: time,
  reviewAt: time,
  requestedBy: z.string(),
  approvedBy: z.string().optional(),
  justification: z.string(),
  owner: z.string(),
  renewalOf: z.string().optional(),
  createdAt: time,
  decidedBy: z.string().optional(),
  decidedAt: time.optional(),
});

const principalList = (what: string) =>
  z
    .object({
      count: z.int(),
      principals: z.array(z.string()).describe("The first 100 ids, in id order."),
      truncated: z.boolean(),
    })
    .describe(what);

const populationCoverage = z.object({
  registered: z.int(),
  withTotp: z.int(),
  withWebAuthn: z.int(),
  withRecoveryCodes: z.int(),
  withoutPlatformMfa: z.int().describe("With neither TOTP nor WebAuthn."),
});

const outcomeCounts = z.object(
  Object.fromEntries(OUTCOMES.map((o) => [o, z.int()])) as Record<
    (typeof OUTCOMES)[number],
    z.ZodInt
  >,
);

export const complianceReport = z.object({
  tenant: z.string(),
  generatedAt: time,
  period: z
    .object({ from: time, to: time })
    .describe("The decisions counted: from `from` (included) to `to` (excluded)."),
  chainHead: z
    .object({ chain: z.string(), seq: z.int(), hash: z.string() })
    .optional()
    .describe(
      "The tenant's audit chain when the report was begun: the decisions counted are its events up to `seq`; a verified checkpoint at or after it proves them unaltered.",
    ),
  policy: z.object({
    version: z.int(),
    posture: z.enum(POSTURES),
    mode: z.enum(["enforce", "report_only"]),
    enforcementStartsAt: time.optional(),
  }),
  mandates: z
    .array(
      z.object({
        id: z.string(),
        version: z.int(),
        title: z.string().optional(),
        exemptible: z.boolean(),
        populations: z.array(z.enum(POPULATIONS)).optional(),
        activeFrom: time.optional(),
        activeUntil: time.optional(),
      }),
    )
    .describe("The platform mandates that bind the tenant now."),
  principals: z.object({
    registered: z.int(),
    sharedLogins: z.int(),
    byPopulation: z.object(
      Object.fromEntries(POPULATIONS.map((p) => [p, populationCoverage])) as Record<
        (typeof POPULATIONS)[number],
        typeof populationCoverage
      >,
    ),
    directWithoutPlatformMfa: principalList(
      "`direct` and `api_human` principals with neither TOTP nor WebAuthn.",
    ),
  }),
  exemptions: z.object({
    dueWithinDays: z.int(),
    inForce: z.int(),
    upcoming: z.int(),
    awaitingApproval: z.int(),
    sharedLoginRefused: z
      .int()
      .describe(
        "Of principals marked as shared logins since: the engine applies none of them (seed 001).",
      ),
    inForceLimitedByMandates: z
      .int()
      .describe(
        "In force, but a mandate that no exemption excuses binds the principal (`notExemptibleMandates` not empty).",
      ),
    reviewOverdue: z.int(),
    expiringSoon: z.int(),
    items: z
      .array(
        z.object({
          id: z.string(),
          principal: z.string(),
          category: z.enum(EXEMPTION_CATEGORIES),
          owner: z.string(),
          justification: z.string(),
          requestedBy: z.string(),
          approvedBy: z.string().optional(),
          startsAt: time,
          expiresAt: time,
          reviewAt: time,
          state: z.enum(["in_force", "upcoming", "awaiting_approval", "shared_login_refused"]),
          notExemptibleMandates: z
            .array(z.string())
            .describe(
              "The ids of the mandates binding the principal now that no exemption excuses: this one lifts none of their requirement.",
            ),
          reviewOverdue: z.boolean(),
          expiringSoon: z.boolean().describe("Expires within `dueWithinDays`."),
        }),
      )
      .describe("Every exemption approved or awaiting approval that has not expired (first 500)."),
    truncated: z.boolean(),
  }),
  decisions: z.object({
    total: z.int(),
    byOutcome: outcomeCounts,
    reportOnly: z.int().describe("Decided while the tenant policy was report-only."),
    reportOnlyWouldBe: outcomeCounts.describe(
      "Of those, what the tenant policy would have decided once enforced.",
    ),
    byReason: z.record(z.string(), z.int()).describe("Reason code → decisions that gave it."),
    exemptionUses: z.int(),
    breakGlassUses: z.int(),
    interactiveIntegrations: principalList(
      "Integrations that signed in with a password or without a token grant.",
    ),
  }),
});

export const apiKeyView = z
  .object({
    id: z.string(),
    name: z.string(),
    roles: z.array(z.enum(ROLES)),
    tenants: z.union([z.literal("all"), z.array(z.string())]),
    createdAt: time,
    createdBy: z.string(),
    expiresAt: time.optional(),
    revokedAt: time.optional(),
    holder: z.string().optional(),
    audiences: z.array(z.string()).optional(),
  })
  .describe("An API key; its secret is shown once, at creation, and its hash never.");

export const createdApiKey = z.object({
  key: apiKeyView,
  secret: z.string().describe("The bearer secret. Shown once: store it now."),
});

const requirementPart = z.object({ value: z.unknown(), from: z.array(z.unknown()) });

export const decision = z
  .looseObject({
    id: z.string().nullable(),
    tenant: z.string(),
    principal: z.looseObject({ id: z.string(), population: z.enum(POPULATIONS) }),
    outcome: z.enum(OUTCOMES),
    mode: z.enum(["enforce", "report_only"]),
    requirement: z.record(z.string(), requirementPart).nullable(),
    satisfiedBy: z.looseObject({}).nullable(),
    exemption: z.looseObject({ id: z.string(), breakGlass: z.boolean() }).nullable(),
    reasons: z.array(z.looseObject({ code: z.string(), message: z.string() })),
    challenge: z.array(z.looseObject({ kind: z.string() })),
    versions: z.object({
      tenantPolicy: z.int().nullable(),
      mandates: z.array(z.object({ id: z.string(), version: z.int() })),
    }),
    risk: z.string(),
    evaluatedAt: time,
  })
  .describe("A decision: outcome, requirement with provenance, reasons, challenge options.");

export const receiptRecord = z.object({
  id: z.string(),
  tenant: z.string(),
  principal: z.string(),
  outcome: z.enum(OUTCOMES),
  createdAt: time,
  decision,
  inputSummary: z.record(z.string(), z.unknown()),
  recordedBy: z
    .string()
    .nullable()
    .describe(
      "The `decision.recorded` audit event that binds this receipt to the tenant's chain; null when none records it (a receipt stored before receipts were bound, or one whose event is gone), which `audit verify` reports.",
    ),
});

export const auditEvent = z.object({
  chain: z.string(),
  seq: z.int(),
  id: z.string(),
  tenant: z.string().nullable(),
  type: z.string(),
  actor: z.string(),
  at: time,
  payload: z.record(z.string(), z.unknown()),
  prevHash: z.string(),
  hash: z.string(),
});

/** The tables whose damaged rows `audit verify` names. */
const damagedTable = z.enum(VERIFIED_TABLES);

export const auditVerification = z.object({
  ok: z.boolean(),
  chains: z.int(),
  events: z.int(),
  broken: z
    .object({
      chain: z.string(),
      seq: z.int(),
      problem: z.enum([
        "hash_mismatch",
        "prev_hash_mismatch",
        "gap",
        "reordered",
        "truncated",
        "missing",
        "unexpected_first_event",
        "checkpoint_mismatch",
        "receipt_missing",
        "receipt_mismatch",
        "receipt_unrecorded",
        "tenant_missing",
      ]),
    })
    .optional(),
  checkpoint: z
    .object({
      chain: z.string(),
      seq: z.int(),
      issuer: z.string().describe("The issuer (iss) the checkpoint was signed with."),
    })
    .optional()
    .describe("The checkpoint verified against, when one was sent and its event matched."),
  damaged: z
    .array(
      z.object({
        table: damagedTable,
        id: z
          .string()
          .describe(
            "The row's id: a policy version's or WebAuthn settings' is its tenant's, an IdP observation's its IdP's.",
          ),
        tenant: z
          .string()
          .optional()
          .describe("The tenant of an IdP, IdP observation or WebAuthn credential."),
        version: z.int().optional().describe("A mandate or policy version's number."),
      }),
    )
    .optional()
    .describe(
      "Rows of the other tables verification reads whose stored text is not JSON (altered outside the service), in table and id order, the first 100 of each table: `ok` is false. The chains are verified all the same.",
    ),
  damagedUnlisted: z
    .partialRecord(damagedTable, z.int())
    .optional()
    .describe("By table, how many more damaged rows were found than `damaged` names."),
});

export const auditCheckpoint = z
  .object({
    chain: z.string(),
    seq: z.int(),
    hash: z.string(),
    at: time,
    checkpoint: z
      .string()
      .describe(
        "The signed statement (compact JWS, typ tenant-mfa-audit-checkpoint+jwt): keep it where the operator cannot change it, and send it to /v1/audit/verify later.",
      ),
    key: z
      .record(z.string(), z.string())
      .describe("The public JWK that verifies it: keep it beside the checkpoint."),
  })
  .describe("A signed statement that the chain's event `seq` has the hash `hash`.");

export const pages = {
  tenants: page(tenantRecord),
  policyHistory: page(policyHistoryEntry),
  mandates: page(mandateRecord),
  principals: page(principalRecord),
  exemptions: page(exemptionRecord),
  apiKeys: page(apiKeyView),
  audit: page(auditEvent),
};

/** An authenticator as shown: never its secret, not even sealed. */
export const authenticatorView = z.object({
  tenant: z.string(),
  principal: z.string(),
  id: z.string(),
  kind: z.literal("totp"),
  name: z.string(),
  status: z.enum(["pending", "active"]),
  totp: z.object({
    algorithm: z.enum(["SHA1", "SHA256", "SHA512"]),
    digits: z.literal([6, 8]),
    period: z.int(),
  }),
  failedAttempts: z.int(),
  lockedAt: time.optional(),
  createdAt: time,
  confirmedAt: time.optional(),
  lastUsedAt: time.optional(),
  expiresAt: time
    .optional()
    .describe(
      "A pending authenticator's: until when it may be confirmed; later the confirmation answers 409 `authenticator.enrolment_expired` and it is removed (and no longer listed).",
    ),
});

/** A TOTP enrolment just begun: the only time the secret is shown. */
export const totpEnrolment = z.object({
  authenticator: authenticatorView,
  secret: z.string().describe("The secret, base32, for manual entry; shown this once."),
  uri: z.string().describe("The `otpauth://totp/…` key URI."),
  qrSvg: z.string().describe("The key URI as a QR code, an SVG document."),
});

/** A verified TOTP code: the event to send as evidence in the decision request. */
export const totpVerification = z.object({
  event: z.object({
    method: z.literal("totp"),
    source: z.literal("platform"),
    at: time,
    verification: z
      .string()
      .describe(
        "The audit event that recorded this verification: send the event as it is, and the decision API checks it against that record.",
      ),
  }),
  authenticator: authenticatorView,
});

/** What an administrator's unlock lifted. */
export const unlockResult = z.object({
  principal: z.string(),
  wasLocked: z.boolean().describe("The principal was locked by too many failures in a row."),
  failedAttempts: z.int().describe("The principal's failures in a row before the unlock."),
  authenticators: z
    .array(z.string())
    .describe("The authenticators (TOTP and WebAuthn) whose failure lock or count was lifted."),
  recoveryCodes: z
    .object({
      set: z.string(),
      wasLocked: z.boolean(),
      failedAttempts: z.int().describe("The set's failures in a row before the unlock."),
    })
    .optional()
    .describe("Present when the recovery codes' lock or failure count was lifted."),
});

/** A WebAuthn credential as shown: never its public key. */
export const webauthnAuthenticatorView = z.object({
  tenant: z.string(),
  principal: z.string(),
  id: z.string().describe("The authenticator id, for the DELETE route."),
  kind: z.literal("webauthn"),
  name: z.string(),
  status: z.literal("active"),
  credentialId: z.string().describe("The WebAuthn credential id, base64url."),
  algorithm: z.int().describe("COSE algorithm: -8, -7 or -257."),
  signCount: z.int(),
  transports: z.array(z.string()),
  aaguid: z
    .string()
    .describe("The model as the authenticator reported it: proven only when `attested`."),
  backupEligible: z.boolean().describe("BE at registration: a synced passkey, capped at AAL2."),
  attested: z
    .boolean()
    .describe(
      "Its attestation chained at registration to a root the operator still trusts: hardware of the model its AAGUID names. AAL3 needs it (and BE=0), and no clone signal standing (`countsAsAttested`).",
    ),
  cloneSuspectedAt: time
    .nullable()
    .describe(
      "When the key last gave a clone signal (a signature counter that did not grow, audited as `webauthn.clone_detected`), accepted under the `warn` policy or refused: it stands until the key's next verification whose counter grows. Null when none stands.",
    ),
  countsAsAttested: z
    .boolean()
    .describe(
      "Whether the key counts as attested hardware in decisions now: `attested` and no clone signal standing. Otherwise what it proves, now or in a verification made before, counts as a passkey that is not attested (AAL2 at most).",
    ),
  backupState: z.boolean().describe("BS as last seen."),
  deviceType: z.enum(["single_device", "multi_device"]),
  userVerified: z.boolean().describe("Whether the user was verified at registration."),
  failedAttempts: z.int(),
  lockedAt: time.optional(),
  createdAt: time,
  lastUsedAt: time.optional(),
});

/** Any authenticator of the list: `kind` tells TOTP from WebAuthn. */
export const listedAuthenticator = z.discriminatedUnion("kind", [
  authenticatorView,
  webauthnAuthenticatorView,
]);

/** The WebAuthn settings in force for a tenant. */
export const webauthnSettingsView = z.object({
  tenant: z.string(),
  source: z.enum(["tenant", "default"]).describe("`default`: derived from the public URL."),
  rpId: z.string(),
  rpName: z.string(),
  origins: z.array(z.string()),
  userVerification: z.enum(["required", "preferred"]),
  attestation: z.enum(["none", "direct"]),
  aaguids: z.array(z.string()),
  signCountPolicy: z.enum(["reject", "lock", "warn"]),
  updatedAt: time.optional(),
  updatedBy: z.string().optional(),
});

const ceremonyOptions = (what: string) =>
  z.record(z.string(), z.unknown()).describe(`${what}: pass to @simplewebauthn/browser.`);

export const webauthnRegistrationStart = z.object({
  registration: z.string().describe("The ceremony id, for finishing it."),
  options: ceremonyOptions("PublicKeyCredentialCreationOptionsJSON"),
  expiresAt: time,
});

export const webauthnAuthenticationStart = z.object({
  authentication: z.string().describe("The ceremony id, for finishing it."),
  options: ceremonyOptions("PublicKeyCredentialRequestOptionsJSON"),
  expiresAt: time,
});

/** A verified assertion: the event to send as evidence in the decision request. */
export const webauthnVerification = z.object({
  event: z.object({
    method: z.literal("webauthn"),
    source: z.literal("platform"),
    at: time,
    userVerified: z.boolean(),
    backupEligible: z.boolean(),
    attested: z.boolean(),
    credentialId: z.string(),
    verification: z
      .string()
      .describe(
        "The audit event that recorded this verification: send the event as it is, and the decision API checks it against that record.",
      ),
  }),
  authenticator: webauthnAuthenticatorView,
  warnings: z
    .array(z.object({ code: z.literal("webauthn.clone_suspected"), message: z.string() }))
    .optional()
    .describe("Present when the tenant's policy let a suspicious assertion through."),
});
