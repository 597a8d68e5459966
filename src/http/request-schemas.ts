import { isIP } from "node:net";
import { z } from "zod";
import { MAX_SAML_SIGNING_CERTIFICATES } from "../app/idps/idps.js";
import { ROLES } from "../app/records.js";
import { NUL_FREE, isWellFormedText } from "../app/storable-text.js";
import { PRINTABLE_PRINCIPAL_ID, hasWhiteSpaceAtAnEnd } from "../core/principal-id.js";
import { parseTime } from "../core/time.js";
import {
  EXEMPTION_CATEGORIES,
  METHODS,
  POPULATIONS,
  POSTURES,
  PROOF_SOURCES,
  RISK_LEVELS,
  TOKEN_GRANTS,
} from "../core/vocabulary.js";

/**
 * The shapes of every request body, path and query, as strict zod schemas: an unknown field is
 * an error, never silently dropped. They check shape and type; the use cases check the rules.
 */

/** An ISO 8601 date-time with an offset, the only time format of the API. */
export const time = z.iso
  .datetime({ offset: true, error: "expected an ISO 8601 date-time such as 2026-01-31T12:00:00Z" })
  .refine((value) => parseTime(value) !== undefined, {
    error: "expected an ISO 8601 date-time such as 2026-01-31T12:00:00Z",
  });

/**
 * A string every store holds as given, the base of every string of the API: without U+0000,
 * which PostgreSQL text cannot hold (SQLite can), and without a lone UTF-16 surrogate, which both
 * stores replace with U+FFFD, so that two values sent could come back as one. Either is bad
 * input on every store alike (DESIGN invariant 8), refused here rather than sent to the store to
 * fail there as an outage, or to be altered (src/app/storable-text.ts).
 */
export const storableString = () =>
  z
    .string()
    .regex(NUL_FREE, { error: "must not contain U+0000 (NUL)" })
    .refine(isWellFormedText, { error: "must not contain a lone UTF-16 surrogate" });
/** The largest value of an `integer` column (PostgreSQL's int4): a larger number is bad input. */
export const MAX_INTEGER = 2_147_483_647;

const text = (max: number) =>
  storableString().trim().min(1, { error: "must not be empty" }).max(max);
const identifier = text(200);
/** What a principal id may hold: any printable text ({@link PRINTABLE_PRINCIPAL_ID}). */
const printableId = <T extends z.ZodString>(schema: T) =>
  schema.regex(PRINTABLE_PRINCIPAL_ID, {
    error: "must not contain control or invisible formatting characters",
  });
/**
 * A principal id as a body or a query names it, exactly as a path does (see `principalId`):
 * printable, never trimmed, and without white space at either end. Trimmed here and not there,
 * "alice " registered by its path would be decided, when a body names it, as "alice", with her
 * exemptions and without its own shared-login mark.
 */
const exactPrincipalId = <T extends z.ZodString>(schema: T) =>
  printableId(schema).refine((value) => !hasWhiteSpaceAtAnEnd(value), {
    error: "must not begin or end with white space",
  });
export const principalReference = exactPrincipalId(
  storableString().min(1, { error: "must not be empty" }).max(200),
);
/** An id that appears in URLs: letters, digits, `.`, `_`, `-`, `@`, `:`. */
const urlSafeId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._@:-]{0,127}$/, {
  error: "expected 1–128 letters, digits or . _ @ : - (starting with a letter or digit)",
});
const rationale = text(2000).describe("Why the change is made; kept in the audit trail.");
/** A duration in whole seconds: a maximum age becomes OIDC's `max_age`, which has no fraction. */
const seconds = z
  .int()
  .min(0)
  .max(10 * 365 * 24 * 3600);

/** What a rule requires; every field optional (see `RequirementSpec`). */
export const requirementSpec = z.strictObject({
  minAal: z.literal([0, 1, 2, 3]).optional(),
  phishingResistant: z.boolean().optional(),
  userVerification: z.boolean().optional(),
  maxAgeSeconds: seconds.optional(),
  reauthIntervalSeconds: seconds.optional(),
  idleTimeoutSeconds: seconds.optional(),
  acceptedMethods: z.array(z.enum(METHODS)).max(METHODS.length).optional(),
  proofSource: z.enum(PROOF_SOURCES).optional(),
});

const riskRules = z.strictObject({
  low: requirementSpec.optional(),
  medium: requirementSpec.optional(),
  high: requirementSpec.optional(),
});

const unknownRisk = z.enum(["low", "medium"]);

/** A tenant policy as an administrator writes it. */
export const policyInput = z.strictObject({
  posture: z.enum(POSTURES),
  require: requirementSpec.optional(),
  riskRules: riskRules.optional(),
  unknownRisk: unknownRisk.optional(),
  enforcementStartsAt: time.optional(),
});

/** A platform mandate as an administrator writes it. */
export const mandateInput = z.strictObject({
  title: text(200).optional(),
  scope: z.strictObject({
    tenants: z.union([z.literal("all"), z.array(identifier).min(1).max(10_000)]),
    populations: z.array(z.enum(POPULATIONS)).min(1).max(POPULATIONS.length).optional(),
  }),
  require: requirementSpec,
  riskRules: riskRules.optional(),
  unknownRisk: unknownRisk.optional(),
  activeFrom: time.optional(),
  activeUntil: time.optional(),
  exemptible: z.boolean(),
});

export const createMandateBody = z.strictObject({
  id: urlSafeId,
  mandate: mandateInput,
  rationale,
});
export const updateMandateBody = z.strictObject({ mandate: mandateInput, rationale });
export const rationaleBody = z.strictObject({ rationale });
export const reasonBody = z.strictObject({ reason: text(2000) });

export const createApiKeyBody = z.strictObject({
  name: text(200),
  roles: z.array(z.enum(ROLES)).min(1).max(ROLES.length),
  tenants: z.union([z.literal("all"), z.array(identifier).min(1).max(1000)]),
  expiresAt: time.optional(),
  holder: text(200)
    .optional()
    .describe(
      "The person or system accountable for the key. Keys with one holder are one party: it never approves its own exemption request, whichever of its keys asked. Default: the key itself.",
    ),
  audiences: z
    .array(text(200))
    .min(1)
    .max(50)
    .optional()
    .describe(
      "platform_service keys only: the assurance-token audiences its flows may name (`flow.audience_not_allowed` otherwise). Default: any.",
    ),
});

/** Absolute URLs that sign-in flows may return to; the use case checks scheme and form. */
const returnUrls = z
  .array(storableString().min(1).max(2048))
  .max(20)
  .describe("Absolute URLs sign-in flows may return to: https, or http on loopback.");

export const createTenantBody = z.strictObject({
  id: urlSafeId,
  name: text(200),
  returnUrls: returnUrls.optional(),
});

export const returnUrlsBody = z.strictObject({ returnUrls });

export const idpParams = z.strictObject({ tenant: urlSafeId, idp: urlSafeId });

const values = z.array(storableString().min(1).max(1024)).max(50);

/** An IdP registration (see `IdpRegistration`): SAML or OIDC, what to ask, how to map. */
export const idpRegistrationBody = z.strictObject({
  displayName: text(200).optional(),
  protocol: z.enum(["saml", "oidc"]),
  saml: z
    .strictObject({
      metadataXml: storableString()
        .min(1)
        .max(256 * 1024)
        .optional(),
      entityId: storableString().min(1).max(1024).optional(),
      ssoUrl: storableString().min(1).max(2048).optional(),
      signingCertificates: z
        .array(
          storableString()
            .min(1)
            .max(16 * 1024),
        )
        .max(MAX_SAML_SIGNING_CERTIFICATES)
        .optional(),
      allowUnsolicited: z.boolean().optional(),
      subjectAttribute: storableString().min(1).max(1024).optional(),
      nameIdFormat: storableString()
        .min(1)
        .max(1024)
        .optional()
        .describe(
          "The NameID Format to ask the IdP for (the AuthnRequest's NameIDPolicy and the SP metadata's NameIDFormat): `persistent`, `emailAddress`, `unspecified`, or a full URI; stored as the full URI. Absent: none is asked. When the NameID is the subject, an answer of another Format is refused (`saml.name_id_format_mismatch`), unless `unspecified` was asked.",
        ),
    })
    .optional(),
  oidc: z
    .strictObject({
      issuer: storableString().min(1).max(2048),
      clientId: storableString().min(1).max(1024),
      clientSecret: storableString().min(1).max(4096).optional(),
      scopes: z
        .array(z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/))
        .max(20)
        .optional(),
      idTokenAlgorithms: z.array(storableString().min(1).max(20)).max(10).optional(),
      subjectClaim: storableString().min(1).max(200).optional(),
    })
    .optional(),
  request: z
    .strictObject({ mfa: values.optional(), phishingResistant: values.optional() })
    .optional(),
  mapping: z
    .strictObject({
      mfaContexts: values.optional(),
      phishingResistantContexts: values.optional(),
      singleFactorContexts: values.optional(),
      mfaAmr: values.optional(),
      phishingResistantAmr: values.optional(),
      amrFactorPairs: z.boolean().optional(),
    })
    .optional(),
  clockSkewSeconds: z.int().min(0).max(600).optional(),
  maxAuthenticationAgeSeconds: z
    .int()
    .min(60)
    .max(30 * 24 * 3600)
    .optional(),
});

/** The query of `GET /t/:tenant/idps/:idp/start`. */
export const federationStartQuery = z.strictObject({
  return_to: storableString().min(1).max(2048),
  principal: storableString().min(1).max(512).optional(),
  force: z.enum(["true", "false"]).optional(),
});

/** The form an IdP posts to the SAML ACS (HTTP-POST binding). */
export const samlAcsBody = z.strictObject({
  SAMLResponse: storableString()
    .min(1)
    .max(1024 * 1024),
  RelayState: storableString().max(2048).optional(),
});

/** Where the ACS sent the browser: the one-time id of the answer it holds for that browser. */
export const samlCompletionQuery = z.strictObject({
  answer: storableString().min(1).max(200),
});

/** The query of the OIDC redirect URI: whatever the IdP sends, checked by the verifier. */
export const oidcCallbackQuery = z.record(z.string(), z.unknown());

export const replacePolicyBody = z.strictObject({ policy: policyInput, rationale });
export const rollbackPolicyBody = z.strictObject({
  toVersion: z.int().min(1).max(MAX_INTEGER),
  rationale,
});

export const upsertPrincipalBody = z.strictObject({
  externalId: text(500).optional(),
  population: z.enum(POPULATIONS),
  displayName: text(500).optional(),
  sharedLogin: z
    .boolean()
    .optional()
    .describe(
      "A login several people share (seed 001): no exemption excuses it. Absent keeps the mark; only a platform administrator lifts it.",
    ),
  idp: text(100)
    .nullable()
    .optional()
    .describe(
      "The one IdP of the tenant whose answers may sign the principal in (an OIDC `sub` or SAML NameID is unique only at its IdP), bound at its issuer or entity id as registered now; null unbinds; absent, or naming the IdP the principal is bound to already, keeps the binding as made.",
    ),
  rebind: z
    .boolean()
    .optional()
    .describe(
      "With `idp` naming the IdP the principal is bound to already: true binds it again at the issuer or entity id registered now (after that IdP was pointed at another one). Only with `idp`.",
    ),
});

/**
 * An exemption request. `expiresAt` is mandatory: it is optional here only so that its absence
 * gets its own problem code (`exemption.expiry_required`). `startsAt` defaults to now.
 */
export const exemptionRequestBody = z.strictObject({
  principal: principalReference,
  category: z.enum(EXEMPTION_CATEGORIES),
  justification: text(2000),
  owner: identifier,
  startsAt: time.optional(),
  expiresAt: time.optional(),
  reviewAt: time,
  renewalOf: identifier.optional(),
});

const claims = z.record(z.string(), z.unknown());
const platformEvent = <M extends "password" | "totp" | "recovery_code">(method: M) =>
  z.strictObject({
    method: z.literal(method),
    source: z.literal("platform"),
    at: time,
    claims: claims.optional(),
  });
const verification = identifier
  .optional()
  .describe(
    "The id tenant-mfa's verification returned with the event: the event is checked against that record (`evidence.unverified` when it does not match; `evidence.withdrawn` when an authenticator of the principal was removed or locked by a clone signal, or its recovery codes revoked or replaced, since).",
  );

const authenticationEvent = z.discriminatedUnion("method", [
  platformEvent("password"),
  platformEvent("totp").extend({ verification }),
  platformEvent("recovery_code").extend({ verification }),
  z.strictObject({
    method: z.literal("webauthn"),
    source: z.literal("platform"),
    at: time,
    claims: claims.optional(),
    userVerified: z.boolean(),
    backupEligible: z.boolean(),
    attested: z
      .boolean()
      .optional()
      .describe(
        "The credential's attestation chained to a trusted root at registration (hardware); needed, with BE=0, for AAL3. Absent: false. With `verification`, it must be what the verification recorded, and counts only while the operator still trusts the credential's root (else as false).",
      ),
    credentialId: storableString().max(1024).optional(),
    verification,
  }),
  z
    .strictObject({
      method: z.literal("federated"),
      source: z.literal("idp"),
      at: time,
      claims: claims.optional(),
      tenant: identifier,
      idp: identifier,
      assurance: z.strictObject({
        aal: z.literal([0, 1, 2, 3]),
        phishingResistant: z.boolean(),
      }),
    })
    .describe(
      "Refused in a decision request (`request.invalid`), whatever `decisions.requireVerifiedEvidence` says: an IdP's proof counts only from tenant-mfa's own federation endpoints and hosted flows, which verify the signed answer.",
    ),
]);

// RFC 8693 `act` nests; three levels are plenty and keep the OpenAPI schema free of cycles.
const actorLeaf = z.strictObject({ sub: identifier, iss: identifier.optional() });
const actorMiddle = actorLeaf.extend({ act: actorLeaf.optional() });
const actor = actorLeaf.extend({ act: actorMiddle.optional() });

const enrolledAuthenticator = z.discriminatedUnion("method", [
  z.strictObject({
    method: z.literal("totp"),
    id: identifier.optional(),
    label: text(200).optional(),
  }),
  z.strictObject({
    method: z.literal("webauthn"),
    id: identifier.optional(),
    label: text(200).optional(),
    userVerifying: z.boolean(),
    backupEligible: z.boolean(),
    attested: z.boolean().optional(),
  }),
  z.strictObject({ method: z.literal("recovery_code"), remaining: z.int().min(0) }),
]);

/** What the platform's backend sends to have a sign-in decided. */
export const decisionRequestBody = z.strictObject({
  principal: z.strictObject({
    id: principalReference,
    population: z.enum(POPULATIONS).optional(),
    authenticators: z.array(enrolledAuthenticator).max(100).optional(),
  }),
  evidence: z.strictObject({
    events: z.array(authenticationEvent).max(20),
    grant: z.enum(TOKEN_GRANTS).optional(),
    act: actor.optional(),
  }),
  risk: z.enum(RISK_LEVELS).optional(),
  stepUp: requirementSpec.optional(),
  lastActivityAt: time.optional(),
  idps: z
    .array(
      z.strictObject({
        id: identifier,
        mfaRequestValues: z.array(text(500)).max(20).optional(),
        phishingResistantRequestValues: z.array(text(500)).max(20).optional(),
      }),
    )
    .max(20)
    .optional(),
});

const limit = storableString()
  .regex(/^\d{1,4}$/, { error: "expected a whole number between 1 and 500" })
  .transform(Number)
  .pipe(z.int().min(1).max(500, { error: "expected a whole number between 1 and 500" }));

/** Cursor paging: `after` is the `next` of the previous page. */
export const pageQuery = z.strictObject({
  after: storableString().min(1).max(500).optional(),
  limit: limit.optional(),
});

/**
 * Paging by a position kept in an `integer` column (an audit seq, a policy version): the cursor
 * is that number, at most {@link MAX_INTEGER}.
 */
export const positionPageQuery = pageQuery.extend({
  after: storableString()
    .regex(/^\d{1,10}$/, { error: "expected the next of a previous page" })
    .refine((value) => Number(value) <= MAX_INTEGER, {
      error: "expected the next of a previous page",
    })
    .optional(),
});

export const exemptionListQuery = pageQuery.extend({
  principal: principalReference.optional(),
  status: z.enum(["requested", "approved", "rejected", "revoked"]).optional(),
  category: z.enum(EXEMPTION_CATEGORIES).optional(),
  // Only `true`: `false` read as "no filter" would answer active exemptions to a caller asking
  // for inactive ones.
  active: z
    .literal("true", { error: "only `true` (those active now) is supported: omit it for all" })
    .optional()
    .describe("`true`: only those active now."),
  activeAt: time.optional().describe("Only those active at this instant."),
});

export const auditListQuery = positionPageQuery.extend({
  type: text(200).optional(),
  from: time
    .optional()
    .describe("Only events at or after this instant (within years 0000–9999 in UTC)."),
  to: time.optional().describe("Only events before this instant (within years 0000–9999 in UTC)."),
  format: z.enum(["json", "jsonl"]).optional().describe("`jsonl` exports JSON Lines."),
});

export const complianceReportQuery = z.strictObject({
  from: time
    .optional()
    .describe("Count decisions at or after this instant (default: 30 days before `to`)."),
  to: time.optional().describe("Count decisions before this instant (default: now)."),
  dueWithinDays: storableString()
    .regex(/^\d{1,2}$/, { error: "expected a whole number of days from 1 to 90" })
    .transform(Number)
    .pipe(z.int().min(1).max(90, { error: "expected a whole number of days from 1 to 90" }))
    .optional()
    .describe("Flag exemptions expiring within this many days (default 14)."),
});

export const auditVerifyQuery = z.strictObject({
  tenant: identifier.optional(),
  checkpoint: storableString()
    .min(1)
    .max(4096)
    .optional()
    .describe(
      "A checkpoint from /v1/audit/checkpoint: the event it names must still hold its hash (`checkpoint_mismatch` otherwise).",
    ),
});
export const auditCheckpointQuery = z.strictObject({ tenant: identifier.optional() });

const segment = storableString().min(1).max(200);
/** A principal id in a path, as registered: never trimmed, and refused with white space at an end. */
const principalId = exactPrincipalId(segment);
export const idParams = z.strictObject({ id: segment });
export const tenantParams = z.strictObject({ tenant: segment });
export const tenantIdParams = z.strictObject({ tenant: segment, id: segment });
export const principalParams = z.strictObject({ tenant: segment, principal: principalId });

export const authenticatorParams = z.strictObject({
  tenant: segment,
  principal: principalId,
  id: segment,
});

/** A TOTP enrolment: SHA-1, 6 digits and 30 s unless asked otherwise. */
export const totpEnrolmentBody = z.strictObject({
  name: text(64).optional().describe("The principal's name for it, e.g. `phone`."),
  algorithm: z.enum(["SHA1", "SHA256", "SHA512"]).optional(),
  digits: z.literal([6, 8]).optional(),
});

/**
 * The end user's IP address as the platform saw it (IPv4 or IPv6, as `node:net` `isIP` accepts):
 * failed verifications are limited per address as well as per principal.
 */
export const clientAddress = storableString()
  .max(64)
  .refine((value) => isIP(value) !== 0, { error: "expected an IPv4 or IPv6 address" })
  .describe(
    "The end user's IP address as the platform saw it (IPv4 or IPv6). Failed verifications are " +
      "limited per principal and, when this is sent, per client address too (IPv6 by /64), " +
      "with exponential backoff: a throttled attempt answers 429 `authenticator.throttled` with " +
      "`Retry-After`. Without it only the principal's limit applies.",
  );

/** A TOTP code as typed: its digits are checked by the verifier, which counts failures. */
export const totpCodeBody = z.strictObject({
  code: storableString().max(16).describe("The code the authenticator app shows."),
  clientAddress: clientAddress.optional(),
});

/** An administrator's unlock of a principal's verification. */
export const unlockBody = z.strictObject({
  reason: text(500).optional().describe("Why the principal is unlocked; kept in the audit trail."),
});

/** A tenant's WebAuthn relying party, as an administrator sets it. */
export const webauthnSettingsBody = z.strictObject({
  rpId: storableString()
    .min(1)
    .max(253)
    .describe("The RP id: a registrable suffix of every origin's host."),
  rpName: text(64).optional().describe("Shown by authenticators; the tenant's name by default."),
  origins: z
    .array(storableString().max(300))
    .min(1)
    .max(20)
    .describe("Exact origins; https, or http only for localhost and *.localhost."),
  userVerification: z
    .enum(["required", "preferred"])
    .optional()
    .describe("`required` (default) refuses UV=0; `preferred` accepts it as one factor."),
  attestation: z
    .enum(["none", "direct"])
    .optional()
    .describe("`none` by default; `direct` whenever `aaguids` is set."),
  aaguids: z
    .array(storableString().max(36))
    .max(100)
    .optional()
    .describe("Authenticator models allowed (AAGUIDs); empty or absent: any."),
  signCountPolicy: z
    .enum(["reject", "lock", "warn"])
    .optional()
    .describe(
      "A signature counter that went backwards (a clone signal): `reject` (default) refuses the assertion; `lock` refuses it and locks the credential until an administrator unlocks the principal; `warn` allows it with a warning, that verification counting as not attested hardware (`attested: false`, AAL2 at most).",
    ),
});

/** A WebAuthn response as @simplewebauthn/browser returns it; the verifier checks the rest. */
export const webauthnResponse = z
  .looseObject({
    id: storableString().min(1).max(1400),
    rawId: storableString().min(1).max(1400),
    type: storableString().max(32),
    response: z.looseObject({}),
  })
  .describe(
    "The JSON of `startRegistration()` / `startAuthentication()` (@simplewebauthn/browser).",
  );

export const webauthnRegistrationBody = z.strictObject({
  response: webauthnResponse,
  name: text(64).optional().describe("The principal's name for it, e.g. `YubiKey`."),
});

export const webauthnAuthenticationBody = z.strictObject({
  response: webauthnResponse,
  clientAddress: clientAddress.optional(),
});

/** Beginning a ceremony takes nothing: an empty object, or no body at all. */
export const webauthnBeginBody = z.strictObject({}).optional();

/** Beginning a registration may ask for the authenticator's attestation (for AAL3). */
export const webauthnRegistrationBeginBody = z
  .strictObject({
    attestation: z
      .literal("direct")
      .optional()
      .describe(
        "Ask for the authenticator's attestation even where the tenant's settings do not: only a verified attestation lets a key reach AAL3. Never asks for less than the settings.",
      ),
  })
  .optional();

export const webauthnRegistrationParams = z.strictObject({
  tenant: segment,
  principal: principalId,
  registration: segment,
});

export const webauthnAuthenticationParams = z.strictObject({
  tenant: segment,
  principal: principalId,
  authentication: segment,
});
