import type { FederatedAssurance } from "./evidence.js";
import { REFEDS_MFA, type Aal } from "./vocabulary.js";

/**
 * How one IdP's values map to assurance. IdPs disagree on names, so each tenant says, per IdP,
 * which authentication context values (SAML `AuthnContextClassRef`, OIDC `acr`) and which RFC 8176
 * `amr` values prove what. A value in no list proves nothing.
 */
export interface IdpAssuranceMapping {
  /** Context values that prove multi-factor authentication (AAL2). */
  readonly mfaContexts: readonly string[];
  /** Context values that prove phishing-resistant multi-factor authentication. */
  readonly phishingResistantContexts: readonly string[];
  /** Context values that prove one factor only (a password): AAL1, which platform MFA can complete. */
  readonly singleFactorContexts: readonly string[];
  /** `amr` values that claim multi-factor authentication on their own (`mfa`). */
  readonly mfaAmr: readonly string[];
  /** `amr` values that make a multi-factor `amr` phishing-resistant (a hardware-bound key). */
  readonly phishingResistantAmr: readonly string[];
  /**
   * Count a memorized secret plus a possession factor in `amr` (`pwd` + `otp`, say) as MFA.
   * Our reading of RFC 8176, not its text; on by default.
   */
  readonly amrFactorPairs: boolean;
}

/**
 * Defaults that recognise the REFEDS MFA profile (seed 004), the SAML and vendor classes that
 * name two factors, the OpenID EAP phishing-resistant values, and `amr` containing `mfa` (seed 002).
 */
export const DEFAULT_IDP_ASSURANCE_MAPPING: IdpAssuranceMapping = Object.freeze({
  mfaContexts: Object.freeze([
    REFEDS_MFA,
    "urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorContract",
    "urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorUnregistered",
    "http://schemas.microsoft.com/claims/multipleauthn",
  ]),
  phishingResistantContexts: Object.freeze(["phr", "phrh"]),
  singleFactorContexts: Object.freeze([
    "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport",
    "urn:oasis:names:tc:SAML:2.0:ac:classes:Password",
    "pwd",
  ]),
  mfaAmr: Object.freeze(["mfa"]),
  phishingResistantAmr: Object.freeze(["hwk"]),
  amrFactorPairs: true,
});

/** RFC 8176 values that are a memorized secret. */
const KNOWLEDGE_AMR: ReadonlySet<string> = new Set(["pwd", "kba"]);
/** RFC 8176 values that prove possession of something. Biometrics and `pin` only unlock one. */
const POSSESSION_AMR: ReadonlySet<string> = new Set(["otp", "sms", "tel", "hwk", "swk", "sc"]);
/** Every RFC 8176 value, so that a value outside the registry is reported as unmapped. */
const RFC_8176_AMR: ReadonlySet<string> = new Set([
  ...KNOWLEDGE_AMR,
  ...POSSESSION_AMR,
  "face",
  "fpt",
  "geo",
  "iris",
  "mca",
  "mfa",
  "pin",
  "retina",
  "rba",
  "user",
  "vbm",
  "wia",
]);

const SAML_CLASS = "urn:oasis:names:tc:SAML:2.0:ac:classes:";

/**
 * Context values whose published meaning is one factor at most (SAML 2.0 Authentication Context
 * classes, the REFEDS single-factor profile, OpenID Connect's `acr` "0"). No mapping may count
 * them as MFA: whatever an IdP sends under these names proves a password or less.
 */
const SINGLE_FACTOR_CONTEXTS: ReadonlySet<string> = new Set([
  `${SAML_CLASS}Password`,
  `${SAML_CLASS}PasswordProtectedTransport`,
  `${SAML_CLASS}InternetProtocol`,
  `${SAML_CLASS}InternetProtocolPassword`,
  `${SAML_CLASS}Kerberos`,
  `${SAML_CLASS}PreviousSession`,
  `${SAML_CLASS}SecureRemotePassword`,
  `${SAML_CLASS}unspecified`,
  "https://refeds.org/profile/sfa",
  "0",
  "pwd",
]);

/** Context values that name MFA of any kind: none of them promises phishing resistance. */
const NOT_PHISHING_RESISTANT_CONTEXTS: ReadonlySet<string> = new Set([
  REFEDS_MFA,
  `${SAML_CLASS}MobileTwoFactorContract`,
  `${SAML_CLASS}MobileTwoFactorUnregistered`,
  "http://schemas.microsoft.com/claims/multipleauthn",
]);

/**
 * The parts of `mapping` that contradict what a value means by its own specification: a
 * single-factor context or RFC 8176 value listed as proving MFA, or a value that promises no
 * phishing resistance listed as proving it. A mapping is tenant configuration, so such a
 * mistake would let the tenant's sign-ins meet a platform mandate's MFA or phishing-resistance
 * requirement with less (DESIGN invariant 2); it is refused when the IdP is registered.
 * Empty when the mapping is sound.
 */
export function mappingContradictions(mapping: IdpAssuranceMapping): readonly string[] {
  const found: string[] = [];
  const refuse = (list: keyof IdpAssuranceMapping, values: readonly string[], why: string) => {
    for (const value of values) found.push(`mapping.${list} lists "${value}", ${why}.`);
  };
  const singleFactor = (value: string) => SINGLE_FACTOR_CONTEXTS.has(value);
  refuse(
    "mfaContexts",
    mapping.mfaContexts.filter(singleFactor),
    "which proves one factor at most",
  );
  refuse(
    "phishingResistantContexts",
    mapping.phishingResistantContexts.filter(
      (value) => singleFactor(value) || NOT_PHISHING_RESISTANT_CONTEXTS.has(value),
    ),
    "which does not promise phishing resistance",
  );
  // `mfa` is the one RFC 8176 value that claims MFA alone; every other names one method.
  refuse(
    "mfaAmr",
    mapping.mfaAmr.filter((value) => value !== "mfa" && RFC_8176_AMR.has(value)),
    "an RFC 8176 value that names one method, not MFA",
  );
  refuse(
    "phishingResistantAmr",
    mapping.phishingResistantAmr.filter(
      (value) => RFC_8176_AMR.has(value) && !PHISHING_RESISTANT_CAPABLE_AMR.has(value),
    ),
    "an RFC 8176 value that names no phishing-resistant authenticator",
  );
  return found;
}

/** RFC 8176 values that can name a phishing-resistant authenticator (a key bound to the origin). */
const PHISHING_RESISTANT_CAPABLE_AMR: ReadonlySet<string> = new Set(["hwk", "swk", "sc"]);

/** What an IdP's verified claims are worth, and what in them was not understood. */
export interface IdpAssessment {
  readonly assurance: FederatedAssurance;
  /** The values that granted the assurance, for the receipt. */
  readonly recognised: readonly string[];
  /** Context values in no list and `amr` values outside RFC 8176 and the mapping: drift signals. */
  readonly unmapped: readonly string[];
}

/**
 * The assurance that an IdP's verified context values and `amr` prove under `mapping`.
 * Context values rank above `amr` (an IdP-specific hint): when any context value is recognised,
 * it alone decides. An IdP that states nothing recognisable proves `aal: 0` (SP 800-63C-4: the
 * RP SHALL NOT assume any AAL).
 */
export function assessIdpClaims(
  mapping: IdpAssuranceMapping,
  claims: { readonly contexts: readonly string[]; readonly amr?: readonly string[] },
): IdpAssessment {
  const amr = claims.amr ?? [];
  const byContext = withResistantAmr(mapping, fromContexts(mapping, claims.contexts), amr);
  const assessed = byContext ?? fromAmr(mapping, amr);
  const known = (value: string): boolean =>
    SINGLE_FACTOR_CONTEXTS.has(value) ||
    mapping.mfaContexts.includes(value) ||
    mapping.phishingResistantContexts.includes(value) ||
    mapping.singleFactorContexts.includes(value);
  const unmapped = [
    ...claims.contexts.filter((value) => !known(value)),
    ...amr.filter(
      (value) =>
        !RFC_8176_AMR.has(value) &&
        !mapping.mfaAmr.includes(value) &&
        !mapping.phishingResistantAmr.includes(value),
    ),
  ];
  return { ...assessed, unmapped: [...new Set(unmapped)] };
}

type Graded = { assurance: FederatedAssurance; recognised: readonly string[] };

const NOTHING: Graded = { assurance: { aal: 0, phishingResistant: false }, recognised: [] };

function grade(aal: Aal, phishingResistant: boolean, recognised: readonly string[]): Graded {
  return { assurance: { aal, phishingResistant }, recognised };
}

/** The strongest recognised context value decides; `undefined` when none is recognised. */
function fromContexts(mapping: IdpAssuranceMapping, contexts: readonly string[]) {
  const pick = (list: readonly string[]) => contexts.filter((value) => list.includes(value));
  const resistant = pick(mapping.phishingResistantContexts);
  if (resistant.length > 0) return grade(2, true, resistant);
  const mfa = pick(mapping.mfaContexts);
  if (mfa.length > 0) return grade(2, false, mfa);
  // A value whose own specification says one factor at most is recognised as that whatever the
  // mapping lists: it ranks above `amr`, so an `amr` of `mfa` beside it never lifts it.
  const single = contexts.filter(
    (value) => mapping.singleFactorContexts.includes(value) || SINGLE_FACTOR_CONTEXTS.has(value),
  );
  if (single.length > 0) return grade(1, false, single);
  return undefined;
}

/**
 * A context that proves MFA, signed in the same token as an `amr` value the mapping holds
 * phishing-resistant (`hwk`): the MFA was phishing-resistant. The context still decides the
 * level: `amr` never raises a single-factor context (a context ranks above `amr`).
 */
function withResistantAmr(
  mapping: IdpAssuranceMapping,
  graded: Graded | undefined,
  amr: readonly string[],
): Graded | undefined {
  if (graded === undefined || graded.assurance.aal < 2 || graded.assurance.phishingResistant) {
    return graded;
  }
  const resistant = amr.filter((value) => mapping.phishingResistantAmr.includes(value));
  return resistant.length === 0 ? graded : grade(2, true, [...graded.recognised, ...resistant]);
}

function fromAmr(mapping: IdpAssuranceMapping, amr: readonly string[]): Graded {
  const knowledge = amr.filter((value) => KNOWLEDGE_AMR.has(value));
  const possession = amr.filter((value) => POSSESSION_AMR.has(value));
  const claimed = amr.filter((value) => mapping.mfaAmr.includes(value));
  const paired =
    mapping.amrFactorPairs && knowledge.length > 0 && possession.length > 0
      ? [...knowledge, ...possession]
      : [];
  if (claimed.length > 0 || paired.length > 0) {
    const resistant = amr.filter((value) => mapping.phishingResistantAmr.includes(value));
    return grade(2, resistant.length > 0, [...new Set([...claimed, ...paired, ...resistant])]);
  }
  if (knowledge.length > 0 || possession.length > 0) {
    return grade(1, false, [...knowledge, ...possession]);
  }
  return NOTHING;
}
