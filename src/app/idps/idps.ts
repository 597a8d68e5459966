import { X509Certificate } from "node:crypto";
import {
  DEFAULT_IDP_ASSURANCE_MAPPING,
  mappingContradictions,
  type IdpAssuranceMapping,
} from "../../core/idp-assurance.js";
import { REFEDS_MFA } from "../../core/vocabulary.js";
import { authorize } from "../access/permissions.js";
import type { Application, IdpRegistration, IdpView } from "../application.js";
import { recordAudit, transact, type Context } from "../context.js";
import { AppError } from "../errors.js";
import {
  clientSecretContext,
  idpEndpoints,
  type FederationParts,
} from "../federation/endpoints.js";
import type { SamlIdpSettings } from "../federation/protocols.js";
import { returnUrlProblem } from "../federation/return-urls.js";
import type { Repositories } from "../ports.js";
import type { IdpRecord, StoredOidcSettings } from "../records.js";
import { requireTenant } from "../tenants/tenants.js";

/** The curves of an IdP's ECDSA signing key (node's names of NIST P-256, P-384, P-521). */
const SAML_EC_CURVES: ReadonlySet<string> = new Set(["prime256v1", "secp384r1", "secp521r1"]);
const IDP_ID = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
/** Asymmetric JWS algorithms only: a shared-secret MAC would let anyone with the secret sign. */
const ID_TOKEN_ALGORITHMS = [
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
  "EdDSA",
] as const;
const DEFAULT_ID_TOKEN_ALGORITHMS = ["RS256", "PS256", "ES256", "EdDSA"];
const DEFAULT_SKEW_SECONDS = 120;
const DEFAULT_MAX_AUTHENTICATION_AGE_SECONDS = 24 * 3600;
/**
 * The most signing certificates a SAML registration holds, given or read from metadata: a
 * response none of them signs is tried with each, and each try parses and digests the whole
 * response again. An IdP publishes one, two during a rollover.
 */
export const MAX_SAML_SIGNING_CERTIFICATES = 5;
/** The largest clock difference with an IdP a registration may accept. */
export const MAX_CLOCK_SKEW_SECONDS = 600;

const invalid = (message: string): AppError => new AppError("idp.invalid", message);

const SAML_2_FORMAT = "urn:oasis:names:tc:SAML:2.0:nameid-format:";
/** SAML Core §8.3: the NameID Formats a registration may name by their short names. */
const NAME_ID_FORMATS: ReadonlyMap<string, string> = new Map([
  ["persistent", `${SAML_2_FORMAT}persistent`],
  ["emailAddress", "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"],
  ["unspecified", "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"],
]);
/** RFC 3986 §3.1: a scheme, a colon, then anything but whitespace (XML-carried: see below). */
const ABSOLUTE_URI = /^[A-Za-z][A-Za-z0-9+.-]*:\S+$/u;

/**
 * IdP registration. A tenant administrator registers its SAML or OIDC provider, what to ask it
 * for, and how its values map to assurance. Every change is audited without secrets; the client
 * secret is sealed before it reaches the store and never shown again.
 */
export function idpUseCases(
  context: Context,
  federation: FederationParts | undefined,
): Application["idps"] {
  const parts = (): FederationParts => {
    if (federation === undefined) throw new AppError("federation.not_configured");
    return federation;
  };
  const view = (record: IdpRecord): IdpView => toView(record, parts().publicUrl);

  return {
    async put(caller, tenant, id, { registration, ifMatch }) {
      authorize(caller, "idp.write", tenant);
      if (!IDP_ID.test(id)) {
        throw invalid("An IdP id is 1–63 lowercase letters, digits or hyphens.");
      }
      const f = parts();
      const now = context.clock.now().toISOString();
      const { record, created } = await transact(context, async (r) => {
        await requireTenant(r, tenant);
        const current = await r.idps.get(tenant, id);
        if (current !== undefined && ifMatch === undefined) {
          throw new AppError("idp.precondition_required");
        }
        // An absent IdP is version 0 to `If-Match`, even when a removed registration had others.
        if (ifMatch !== undefined && ifMatch !== (current?.version ?? 0)) {
          throw new AppError("idp.version_conflict", undefined, {
            currentVersion: current?.version ?? 0,
          });
        }
        // Versions continue after a removal: else the new registration's version 1 would also
        // name the removed one's, which an `If-Match: 1` kept from it would then replace unseen.
        const removedVersion =
          current === undefined ? await r.idps.removedVersion(tenant, id) : undefined;
        const next = build(f, tenant, id, registration, current, {
          now,
          actor: caller.id,
          previousVersion: current?.version ?? removedVersion ?? 0,
        });
        const stored =
          removedVersion === undefined ? await r.idps.put(next) : await r.idps.reregister(next);
        if (!stored) {
          // Replaced (or registered) by another instance since the read above (READ COMMITTED):
          // the caller's `If-Match` named what stood then; name what stands now, as above.
          const standing = await r.idps.get(tenant, id);
          throw new AppError("idp.version_conflict", undefined, {
            currentVersion: standing?.version ?? 0,
          });
        }
        // Evidence remembered in a browser was checked against the registration it replaces
        // (issuer, keys, mapping): a later flow does not reuse it. A new id inherits none either.
        const sessionsEnded = await r.browserSessions.removeIdp(tenant, id);
        await recordAudit(context, r, {
          tenant,
          type: current === undefined ? "idp.registered" : "idp.updated",
          actor: caller.id,
          payload: { ...auditSummary(next, registration), sessionsEnded },
        });
        return { record: next, created: current === undefined };
      });
      await context.store.notify({ kind: "idp", tenant });
      return { idp: view(record), created };
    },

    async get(caller, tenant, id) {
      authorize(caller, "idp.read", tenant);
      const record = await transact(context, (r) => r.idps.get(tenant, id));
      if (record === undefined) throw new AppError("not_found");
      return view(record);
    },

    async list(caller, tenant) {
      authorize(caller, "idp.read", tenant);
      const records = await transact(context, async (r) => {
        await requireTenant(r, tenant);
        return r.idps.list(tenant);
      });
      return records.map(view);
    },

    async remove(caller, tenant, id, { ifMatch } = {}) {
      authorize(caller, "idp.write", tenant);
      await transact(context, async (r) => {
        const record = await removeAsRead(r, tenant, id, ifMatch);
        // What a browser proved at this IdP earns no later flow anything (its keys may have leaked).
        const sessionsEnded = await r.browserSessions.removeIdp(tenant, id);
        await recordAudit(context, r, {
          tenant,
          type: "idp.removed",
          actor: caller.id,
          payload: { idp: id, protocol: record.protocol, version: record.version, sessionsEnded },
        });
      });
      await context.store.notify({ kind: "idp", tenant });
    },
  };
}

/** How often a removal reads again an IdP replaced between its read and its removal. */
const REMOVAL_ATTEMPTS = 3;

/**
 * Removes the IdP `id` as read here and answers the registration removed, for its audit event:
 * the one read is the one removed (compare-and-set on its version). One replaced between the
 * read and the removal (another instance's commit, READ COMMITTED) is read again: an `ifMatch`
 * naming the version read then no longer holds, and is refused naming the version that stands;
 * without one, the removal asked for no version, and removes the IdP as it now stands.
 */
async function removeAsRead(
  r: Repositories,
  tenant: string,
  id: string,
  ifMatch: number | undefined,
): Promise<IdpRecord> {
  for (let attempt = 0; attempt < REMOVAL_ATTEMPTS; attempt++) {
    const record = await r.idps.get(tenant, id);
    if (record === undefined) throw new AppError("not_found");
    // A removal decided on a registration replaced since must not remove the new one unseen.
    if (ifMatch !== undefined && ifMatch !== record.version) {
      throw new AppError("idp.version_conflict", undefined, { currentVersion: record.version });
    }
    if (await r.idps.remove(tenant, id, record.version)) return record;
  }
  throw new AppError("store.unavailable", "The IdP kept changing under this request.");
}

/**
 * The record a registration makes, checked, at the version after `at.previousVersion`; `current`
 * supplies a kept client secret, only for the same issuer and client id it was given for.
 */
function build(
  parts: FederationParts,
  tenant: string,
  id: string,
  input: IdpRegistration,
  current: IdpRecord | undefined,
  at: { now: string; actor: string; previousVersion: number },
): IdpRecord {
  const base = {
    tenant,
    id,
    ...(input.displayName === undefined ? {} : { displayName: input.displayName }),
    request: {
      mfa: checkValues(input.request?.mfa ?? [REFEDS_MFA], "request.mfa"),
      phishingResistant: checkValues(
        input.request?.phishingResistant ?? [],
        "request.phishingResistant",
      ),
    },
    mapping: mappingFrom(input.mapping),
    clockSkewSeconds: bounded(
      input.clockSkewSeconds ?? DEFAULT_SKEW_SECONDS,
      0,
      MAX_CLOCK_SKEW_SECONDS,
      "clockSkewSeconds",
    ),
    maxAuthenticationAgeSeconds: bounded(
      input.maxAuthenticationAgeSeconds ?? DEFAULT_MAX_AUTHENTICATION_AGE_SECONDS,
      60,
      30 * 24 * 3600,
      "maxAuthenticationAgeSeconds",
    ),
    version: at.previousVersion + 1,
    createdAt: current?.createdAt ?? at.now,
    updatedAt: at.now,
    updatedBy: at.actor,
  };
  if (input.protocol === "saml") {
    if (input.oidc !== undefined) throw invalid("A SAML IdP takes `saml` settings, not `oidc`.");
    return { ...base, protocol: "saml", saml: samlSettings(parts, input.saml, at.now) };
  }
  if (input.saml !== undefined) throw invalid("An OIDC IdP takes `oidc` settings, not `saml`.");
  const kept = current?.protocol === "oidc" ? current.oidc : undefined;
  if (
    kept !== undefined &&
    input.oidc !== undefined &&
    input.oidc.clientSecret === undefined &&
    (input.oidc.issuer !== kept.issuer || input.oidc.clientId !== kept.clientId)
  ) {
    // Else the secret would be presented to whatever issuer the replacement names.
    throw invalid("The client secret must be sent again when the issuer or client id changes.");
  }
  return {
    ...base,
    protocol: "oidc",
    oidc: oidcSettings(parts, tenant, id, input.oidc, kept?.sealedClientSecret),
  };
}

/** The SAML settings, from metadata (current at `now`) and the values given beside it. */
function samlSettings(
  parts: FederationParts,
  input: IdpRegistration["saml"],
  now: string,
): SamlIdpSettings {
  if (input === undefined) throw invalid("A SAML IdP needs `saml` settings.");
  let fromMetadata: Partial<SamlIdpSettings> = {};
  if (input.metadataXml !== undefined) {
    const parsed = parts.saml.parseIdpMetadata(input.metadataXml);
    if (!parsed.ok) throw invalid(`The IdP metadata could not be read: ${parsed.rejection.detail}`);
    const { validUntil, ...values } = parsed.value;
    // SAML Metadata §2.3.1, §2.3.2: `validUntil` is the metadata's expiration. Past it, its keys
    // and endpoints are no longer vouched for (a retired signing key, say), whatever else the
    // registration gives beside it.
    if (validUntil !== undefined && Date.parse(validUntil) <= Date.parse(now)) {
      throw new AppError(
        "idp.metadata_expired",
        `The IdP metadata expired at ${validUntil} (its validUntil): get current metadata from the IdP.`,
        { validUntil },
      );
    }
    fromMetadata = {
      ...values,
      ...(validUntil === undefined ? {} : { metadataValidUntil: validUntil }),
    };
  }
  const entityId = input.entityId ?? fromMetadata.entityId;
  const ssoUrl = input.ssoUrl ?? fromMetadata.ssoUrl;
  const certificates = input.signingCertificates ?? fromMetadata.signingCertificates ?? [];
  if (entityId === undefined || entityId.length === 0) {
    throw invalid("A SAML IdP needs its entity id (from `metadataXml` or `entityId`).");
  }
  if (ssoUrl === undefined || ssoUrlProblem(ssoUrl) !== undefined) {
    throw invalid(
      "A SAML IdP needs an https single sign-on URL (`metadataXml` or `ssoUrl`), without a fragment, spaces or control characters.",
    );
  }
  if (certificates.length === 0) {
    throw invalid("A SAML IdP needs at least one signing certificate.");
  }
  const signingCertificates = [...new Set(certificates.map(toPem))];
  if (signingCertificates.length > MAX_SAML_SIGNING_CERTIFICATES) {
    throw invalid(
      `A SAML IdP takes at most ${String(MAX_SAML_SIGNING_CERTIFICATES)} signing certificates, from \`metadataXml\` or \`signingCertificates\`; give those the IdP signs with now.`,
    );
  }
  return {
    entityId,
    ssoUrl,
    signingCertificates,
    allowUnsolicited: input.allowUnsolicited ?? false,
    ...(input.subjectAttribute === undefined ? {} : { subjectAttribute: input.subjectAttribute }),
    ...nameIdFormatOf(input.nameIdFormat, input.subjectAttribute),
    // It binds the registration even where values given beside the metadata win, as it does above.
    ...(fromMetadata.metadataValidUntil === undefined
      ? {}
      : { metadataValidUntil: fromMetadata.metadataValidUntil }),
  };
}

/**
 * The NameID Format a SAML registration asks for, as the full URI, or none. Refused: a Format
 * whose every answer the verifier would refuse as the subject, or that this SP cannot receive.
 */
function nameIdFormatOf(
  given: string | undefined,
  subjectAttribute: string | undefined,
): { nameIdFormat?: string } {
  if (given === undefined) return {};
  const format = NAME_ID_FORMATS.get(given) ?? given;
  if (format.length > 1024 || !ABSOLUTE_URI.test(format) || !isXmlText(format)) {
    throw invalid(
      "saml.nameIdFormat is `persistent`, `emailAddress`, `unspecified` or a full URI (SAML Core §8.3) of at most 1024 characters, without whitespace.",
    );
  }
  // Core §3.4.1.1: asking `encrypted` gets an EncryptedID, which this SP holds no key to read.
  if (format === `${SAML_2_FORMAT}encrypted`) {
    throw invalid(
      "saml.nameIdFormat `encrypted` asks for an EncryptedID, which this service cannot decrypt.",
    );
  }
  // Core §8.3.6: the identifier of a SAML provider, never of a user.
  if (format === `${SAML_2_FORMAT}entity`) {
    throw invalid("saml.nameIdFormat `entity` names a SAML provider, not a user.");
  }
  // The errata define `unspecified` under SAML 1.1 only; a 2.0 URI of it names nothing an IdP knows.
  if (format === `${SAML_2_FORMAT}unspecified`) {
    throw invalid(
      "saml.nameIdFormat: SAML defines `unspecified` as urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified; give `unspecified`.",
    );
  }
  // Core §8.3.8: a one-session pseudonym, refused as the subject (saml.subject_format) at every
  // sign-in; asked for privacy, it is fine when the subject is read from an attribute.
  if (format === `${SAML_2_FORMAT}transient` && subjectAttribute === undefined) {
    throw invalid(
      "saml.nameIdFormat `transient` names no lasting user: ask for it only with a subjectAttribute naming the user.",
    );
  }
  return { nameIdFormat: format };
}

function oidcSettings(
  parts: FederationParts,
  tenant: string,
  id: string,
  input: IdpRegistration["oidc"],
  keptSecret: string | undefined,
): StoredOidcSettings {
  if (input === undefined) throw invalid("An OIDC IdP needs `oidc` settings.");
  if (issuerProblem(input.issuer) !== undefined) {
    throw invalid(
      "The issuer must be an https URL (http only on loopback), without query or fragment, whitespace or control characters.",
    );
  }
  if (input.clientId.length === 0) throw invalid("The client id must not be empty.");
  const algorithms = input.idTokenAlgorithms ?? DEFAULT_ID_TOKEN_ALGORITHMS;
  const refused = algorithms.filter((a) => !(ID_TOKEN_ALGORITHMS as readonly string[]).includes(a));
  if (algorithms.length === 0 || refused.length > 0) {
    throw invalid(`ID token algorithms must be among ${ID_TOKEN_ALGORITHMS.join(", ")}.`);
  }
  let sealedClientSecret = keptSecret;
  if (input.clientSecret !== undefined) {
    if (input.clientSecret.length === 0) throw invalid("The client secret must not be empty.");
    sealedClientSecret = parts.secrets.seal(input.clientSecret, clientSecretContext(tenant, id));
  }
  if (sealedClientSecret === undefined) throw invalid("An OIDC IdP needs its client secret.");
  const scopes = [...new Set(["openid", ...(input.scopes ?? [])])];
  return {
    issuer: input.issuer,
    clientId: input.clientId,
    scopes: checkValues(scopes, "scopes"),
    idTokenAlgorithms: algorithms,
    subjectClaim: input.subjectClaim ?? "sub",
    sealedClientSecret,
  };
}

function mappingFrom(input: Partial<IdpAssuranceMapping> | undefined): IdpAssuranceMapping {
  const d = DEFAULT_IDP_ASSURANCE_MAPPING;
  const mapping: IdpAssuranceMapping = {
    mfaContexts: checkValues(input?.mfaContexts ?? d.mfaContexts, "mapping.mfaContexts"),
    phishingResistantContexts: checkValues(
      input?.phishingResistantContexts ?? d.phishingResistantContexts,
      "mapping.phishingResistantContexts",
    ),
    singleFactorContexts: checkValues(
      input?.singleFactorContexts ?? d.singleFactorContexts,
      "mapping.singleFactorContexts",
    ),
    mfaAmr: checkValues(input?.mfaAmr ?? d.mfaAmr, "mapping.mfaAmr"),
    phishingResistantAmr: checkValues(
      input?.phishingResistantAmr ?? d.phishingResistantAmr,
      "mapping.phishingResistantAmr",
    ),
    amrFactorPairs: input?.amrFactorPairs ?? d.amrFactorPairs,
  };
  const contradictions = mappingContradictions(mapping);
  if (contradictions.length > 0) throw invalid(contradictions.join(" "));
  return mapping;
}

function checkValues(values: readonly string[], where: string): readonly string[] {
  if (values.length > 50 || values.some((v) => v.length === 0 || v.length > 1024)) {
    throw invalid(`${where}: at most 50 non-empty values of at most 1024 characters.`);
  }
  // A SAML request carries these values, and an answer is matched against them: one XML cannot
  // carry would make every AuthnRequest fail, and match nothing an IdP can sign.
  if (values.some((v) => !isXmlText(v))) {
    throw invalid(
      `${where}: a value holds characters XML cannot carry (controls, U+FFFE, U+FFFF).`,
    );
  }
  return [...new Set(values)];
}

/**
 * Whether XML 1.0 can carry `value` (§2.2 Char: tab, line feed, carriage return, and no other C0
 * control, no lone surrogate, neither U+FFFE nor U+FFFF), even as a character reference.
 */
function isXmlText(value: string): boolean {
  // eslint-disable-next-line no-control-regex
  return !/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF\p{Cs}]/u.test(value);
}

/**
 * What is wrong with a SAML single sign-on URL, if anything. The AuthnRequest names it whole as
 * its Destination, and the redirect goes to it with the request added to its query: so all of
 * it, query included, must be text that XML carries and that every reader parses alike (no
 * whitespace or controls, no fragment); before the query it is an https URL like a return URL.
 */
function ssoUrlProblem(value: string): string | undefined {
  // eslint-disable-next-line no-control-regex
  if (/[\s\u0000-\u001F\u007F\uFFFE\uFFFF\p{Cs}]/u.test(value)) {
    return "must not hold whitespace or control characters";
  }
  if (value.includes("#")) return "must not carry a fragment";
  return returnUrlProblem(value.split("?")[0] ?? "");
}

/**
 * What is wrong with an OIDC issuer, if anything. It is compared exactly with the one its
 * discovery document names (OIDC Discovery §4.3), and the verifier refuses one with a query or a
 * fragment (§3), even an empty `?` or `#`. URL parsing trims surrounding spaces and drops tabs and
 * line feeds, so the document fetched for such an issuer is another's, or none: the registration
 * could never complete a sign-in, and is refused here rather than at each one.
 */
function issuerProblem(value: string): string | undefined {
  // eslint-disable-next-line no-control-regex
  if (/[\s\u0000-\u001F\u007F]/u.test(value))
    return "must not hold whitespace or control characters";
  if (value.includes("#") || value.includes("?")) return "must not carry a query or fragment";
  return returnUrlProblem(value);
}

function bounded(value: number, min: number, max: number, where: string): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw invalid(`${where} must be a whole number between ${String(min)} and ${String(max)}.`);
  }
  return value;
}

/** A certificate as PEM, whether given as PEM or bare base64 DER; refuses anything else. */
function toPem(certificate: string): string {
  const body = certificate.replace(/-----(BEGIN|END) CERTIFICATE-----/g, "").replace(/\s+/g, "");
  const pem = `-----BEGIN CERTIFICATE-----\n${body.replace(/(.{64})/g, "$1\n").replace(/\n$/, "")}\n-----END CERTIFICATE-----\n`;
  let parsed: X509Certificate;
  try {
    parsed = new X509Certificate(pem);
  } catch {
    throw invalid("A signing certificate is not a valid X.509 certificate.");
  }
  // What the signature allow-list verifies with (rsa-sha256, -sha384 and -sha512 with an RSA key,
  // ecdsa-sha256, -sha384 and -sha512 with an EC key), at a strength SP 800-131A and SP 800-186
  // still accept: a weaker key would make every assertion it signs forgeable. Any other key is
  // refused here rather than accepted and then never verified, which would lock out every
  // sign-in at the IdP with nothing said at its registration.
  const { asymmetricKeyType: type, asymmetricKeyDetails: details } = parsed.publicKey;
  if (type === "ec") {
    if (!SAML_EC_CURVES.has(details?.namedCurve ?? "")) {
      throw invalid(
        "A signing certificate's EC key must be on P-256, P-384 or P-521: SAML signatures " +
          "are verified with ECDSA on these curves only.",
      );
    }
  } else if (type !== "rsa" || (details?.modulusLength ?? 0) < 2048) {
    throw invalid(
      "A signing certificate's key must be RSA of at least 2048 bits or EC on P-256, P-384 " +
        "or P-521: SAML signatures are verified with RSA (rsa-sha256, rsa-sha384, rsa-sha512) or " +
        "ECDSA (ecdsa-sha256, ecdsa-sha384, ecdsa-sha512) only.",
    );
  }
  return pem;
}

/** What the audit log keeps of a registration: settings and fingerprints, never a secret. */
function auditSummary(record: IdpRecord, input: IdpRegistration): Record<string, unknown> {
  const common = {
    idp: record.id,
    version: record.version,
    protocol: record.protocol,
    request: record.request,
    mapping: record.mapping,
    clockSkewSeconds: record.clockSkewSeconds,
    maxAuthenticationAgeSeconds: record.maxAuthenticationAgeSeconds,
  };
  if (record.protocol === "saml") {
    return {
      ...common,
      entityId: record.saml.entityId,
      ssoUrl: record.saml.ssoUrl,
      allowUnsolicited: record.saml.allowUnsolicited,
      // Who signed in: the NameID (null) or this attribute's one value (invariant 9).
      subjectAttribute: record.saml.subjectAttribute ?? null,
      // What the IdP is asked to name the user by (null: its own choice), with the subject above.
      nameIdFormat: record.saml.nameIdFormat ?? null,
      ...(record.saml.metadataValidUntil === undefined
        ? {}
        : { metadataValidUntil: record.saml.metadataValidUntil }),
      certificateFingerprints: record.saml.signingCertificates.map(
        (pem) => new X509Certificate(pem).fingerprint256,
      ),
    };
  }
  return {
    ...common,
    issuer: record.oidc.issuer,
    clientId: record.oidc.clientId,
    scopes: record.oidc.scopes,
    idTokenAlgorithms: record.oidc.idTokenAlgorithms,
    // Who signed in (invariant 9): moved from `sub` to a claim the user may set, the change is
    // what an auditor must see.
    subjectClaim: record.oidc.subjectClaim,
    clientSecretChanged: input.oidc?.clientSecret !== undefined,
  };
}

function toView(record: IdpRecord, publicUrl: string): IdpView {
  const all = idpEndpoints(publicUrl, record.tenant, record.id);
  if (record.protocol === "saml") {
    return {
      ...record,
      endpoints: { start: all.start, samlMetadata: all.samlMetadata, samlAcs: all.samlAcs },
    };
  }
  const { sealedClientSecret: _sealed, ...oidc } = record.oidc;
  return {
    ...record,
    oidc: { ...oidc, clientSecretSet: true },
    endpoints: { start: all.start, oidcRedirectUri: all.oidcRedirectUri },
  };
}
