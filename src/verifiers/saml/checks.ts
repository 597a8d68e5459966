import type { Element } from "@xmldom/xmldom";
import type {
  SamlIdpSettings,
  SamlServiceProviderIdentity,
  VerifiedSamlAssertion,
} from "../../app/federation/protocols.js";
import {
  attribute,
  childElements,
  childrenNamed,
  isNamed,
  simpleText,
  spacePreserved,
} from "./dom.js";
import { accept, reject, type SamlResult } from "./rejection.js";
import {
  BEARER_METHOD,
  ENTITY_NAME_FORMAT,
  NAME_ID_FORMAT,
  NS,
  UNSPECIFIED_NAME_ID_FORMAT,
} from "./saml-names.js";
import { hasExpired, isNotYetValid, timeAttribute, type Clock } from "./saml-time.js";

/** What a response is checked against, besides its signature. */
export interface Expectations {
  readonly sp: SamlServiceProviderIdentity;
  readonly idp: SamlIdpSettings;
  readonly expectedRequestId: string | undefined;
  readonly clock: Clock;
}

/**
 * The Response envelope: Issuer, Destination and InResponseTo (checklist S12, S13, S16). Read
 * from the signed Response when it is signed; otherwise they are unsigned (S7) and can only
 * refuse, never grant: identity comes from the signed assertion alone.
 */
export function checkEnvelope(
  response: Element,
  responseSigned: boolean,
  expect: Expectations,
): SamlResult<string | undefined> {
  const addressed = checkAddressing(response, responseSigned, expect);
  if (!addressed.ok) return addressed;
  const inResponseTo = nonEmpty(attribute(response, "InResponseTo"));
  const answered = checkAnswers(inResponseTo, expect, "response");
  return answered.ok ? accept(inResponseTo) : answered;
}

/**
 * The Response's Issuer and Destination (S12, S13), of an answer or an error status alike: the
 * IdP's signed error to another SP (another tenant's ACS at an IdP both use) is no word on a
 * sign-in here.
 */
export function checkAddressing(
  response: Element,
  responseSigned: boolean,
  expect: Expectations,
): SamlResult<true> {
  const issuers = childrenNamed(response, NS.assertion, "Issuer");
  const [issuer] = issuers;
  if (issuers.length > 1) return reject("saml.malformed", "the response has several Issuers");
  if (issuer === undefined) {
    // Profiles §4.1.4.2: a signed Response MUST name its Issuer.
    if (responseSigned)
      return reject("saml.issuer_mismatch", "the signed response names no Issuer");
  } else {
    const checked = checkIssuer(issuer, expect.idp.entityId, "response");
    if (!checked.ok) return checked;
  }
  const destination = attribute(response, "Destination");
  if (destination === undefined) {
    // Bindings §3.5.5.2: Destination is required when the message is signed.
    if (responseSigned) {
      return reject("saml.destination_mismatch", "the signed response names no Destination");
    }
  } else if (destination !== expect.sp.acsUrl) {
    return reject("saml.destination_mismatch", "the response Destination is not this ACS URL");
  }
  return accept(true);
}

/** The signed assertion, checked and read (checklist S12, S14, S15, S17, S19 inputs). */
export function readAssertion(
  assertion: Element,
  inResponseTo: string | undefined,
  expect: Expectations,
): SamlResult<VerifiedSamlAssertion> {
  const assertionId = attribute(assertion, "ID");
  if (
    assertion.getAttribute("Version") !== "2.0" ||
    assertionId === undefined ||
    assertionId === ""
  ) {
    return reject("saml.malformed", "the assertion lacks Version 2.0 or an ID");
  }
  const issuers = childrenNamed(assertion, NS.assertion, "Issuer");
  const [issuer] = issuers;
  if (issuer === undefined || issuers.length > 1) {
    return reject("saml.issuer_mismatch", "the assertion must name exactly one Issuer");
  }
  const issued = checkIssuer(issuer, expect.idp.entityId, "assertion");
  if (!issued.ok) return issued;
  const issueInstant = timeAttribute(assertion, "IssueInstant");
  if (!issueInstant.ok) return issueInstant;
  if (issueInstant.value === undefined)
    return reject("saml.malformed", "the assertion has no IssueInstant");
  if (isNotYetValid(issueInstant.value, expect.clock)) {
    return reject("saml.not_yet_valid", "the assertion was issued in the future");
  }

  const subjects = childrenNamed(assertion, NS.assertion, "Subject");
  const [subject] = subjects;
  if (subject === undefined || subjects.length > 1) {
    return reject("saml.subject_missing", "the assertion must have exactly one Subject");
  }
  const confirmation = checkBearerConfirmation(subject, expect);
  if (!confirmation.ok) return confirmation;

  const conditions = checkConditions(assertion, expect);
  if (!conditions.ok) return conditions;

  const authentication = readAuthnStatements(assertion, expect.clock);
  if (!authentication.ok) return authentication;

  const attributes = readAttributes(assertion);
  if (!attributes.ok) return attributes;

  const nameIds = childrenNamed(subject, NS.assertion, "NameID");
  const [nameId] = nameIds;
  if (nameIds.length > 1) return reject("saml.subject_missing", "the Subject has several NameIDs");
  const nameIdText = nameId === undefined ? undefined : simpleText(nameId);
  if (nameIdText !== undefined && !nameIdText.ok) return nameIdText;
  const nameIdFormat = nameId === undefined ? undefined : attribute(nameId, "Format");
  if (expect.idp.subjectAttribute === undefined) {
    const named = checkNameIdSubject(subject, nameId, nameIdFormat);
    if (!named.ok) return named;
    const asked = checkAskedFormat(expect.idp.nameIdFormat, nameIdFormat);
    if (!asked.ok) return asked;
    const qualified = nameId === undefined ? accept(true) : checkNameIdQualifiers(nameId, expect);
    if (!qualified.ok) return qualified;
  }
  const subjectElement =
    expect.idp.subjectAttribute === undefined
      ? accept(nameId)
      : attributeSubject(assertion, expect.idp.subjectAttribute);
  if (!subjectElement.ok) return subjectElement;
  const subjectText =
    subjectElement.value === undefined ? undefined : simpleText(subjectElement.value);
  if (subjectText !== undefined && !subjectText.ok) return subjectText;
  const subjectValue =
    subjectElement.value === undefined || subjectText === undefined
      ? undefined
      : subjectAsWritten(subjectElement.value, subjectText.value);
  if (subjectValue === undefined || subjectValue === "") {
    return reject("saml.subject_missing", "the assertion does not name the configured subject");
  }

  const sessionIndex = authentication.value.sessionIndex;
  const expiresAt = latest(conditions.value, confirmation.value);
  return accept({
    issuer: expect.idp.entityId,
    assertionId,
    expiresAt,
    ...(inResponseTo === undefined ? {} : { inResponseTo }),
    subject: subjectValue,
    ...(nameIdFormat === undefined ? {} : { nameIdFormat }),
    ...(sessionIndex === undefined ? {} : { sessionIndex }),
    authnInstant: authentication.value.authnInstant,
    authnContextClassRefs: authentication.value.classRefs,
    attributes: attributes.value,
  });
}

/**
 * NameID Formats that name no lasting user, by what SAML Core says of them: refused when the
 * NameID is the subject. Any other Format is accepted, a deployment's own URIs included (Core
 * §8.3 leaves the list open): what such a NameID names is the registration's to know. Keyed in
 * lower case, and a Format is looked up so: a URN's prefix and namespace id compare without case
 * (RFC 8141 §3.1), and no spelling may dodge a refusal; matching the rest without case too
 * refuses only spellings that no IdP sends for a lasting identifier.
 */
const REFUSED_NAME_ID_FORMATS: ReadonlyMap<string, string> = new Map([
  // Core §8.3.8: an opaque value for one session; the IdP may give it to another principal later.
  [`${NAME_ID_FORMAT}transient`.toLowerCase(), "transient (a pseudonym for one session)"],
  // Core §3.4.1.1: a NameIDPolicy value asking for an EncryptedID, never a NameID's Format.
  [
    `${NAME_ID_FORMAT}encrypted`.toLowerCase(),
    "encrypted (a NameIDPolicy value, never a NameID's)",
  ],
  // Core §8.3.6: the identifier of a SAML provider, not of a user.
  [ENTITY_NAME_FORMAT.toLowerCase(), "entity (a SAML provider, not a user)"],
]);

/**
 * When the subject is the NameID: one this SP can read (not an EncryptedID, for which it holds no
 * key, nor a BaseID, Core §2.2.3–2.2.4), of a Format that names the same user at every sign-in.
 * DESIGN invariant 9: who signed in is what the assertion says, and a one-session pseudonym says
 * no one.
 */
function checkNameIdSubject(
  subject: Element,
  nameId: Element | undefined,
  format: string | undefined,
): SamlResult<true> {
  if (nameId === undefined) {
    const unread = childElements(subject).find(
      (child) =>
        isNamed(child, NS.assertion, "EncryptedID") || isNamed(child, NS.assertion, "BaseID"),
    );
    return unread === undefined
      ? accept(true)
      : reject(
          "saml.subject_missing",
          `the Subject's identifier is ${unread.localName === "BaseID" ? "a BaseID" : "an EncryptedID"}, which this SP does not read`,
        );
  }
  // xs:anyURI collapses whitespace: " …:transient " is the transient Format.
  const refused =
    format === undefined ? undefined : REFUSED_NAME_ID_FORMATS.get(xmlTrim(format).toLowerCase());
  return refused === undefined
    ? accept(true)
    : reject(
        "saml.subject_format",
        `the NameID is ${refused}, which names no user from one sign-in to the next; ` +
          "have the IdP send a persistent NameID, or configure a subject attribute",
      );
}

/**
 * When the registration asks for a NameID Format and the NameID is the subject: the answer's
 * NameID has that Format. An IdP that grants a NameIDPolicy returns the Format asked (SAML Core
 * §3.4.1.1), and one that cannot answers InvalidNameIDPolicy; another Format is an identifier the
 * registration did not choose (an email address where a persistent id was asked), whose values
 * need not name the principals the asked one names. A NameID without Format is `unspecified`
 * (§2.2.2), which is not the Format asked. Asking `unspecified` leaves the IdP free to return any
 * Format (§3.4.1.1), so it constrains nothing here: the Formats refused above stay refused.
 */
function checkAskedFormat(asked: string | undefined, format: string | undefined): SamlResult<true> {
  if (asked === undefined || asked === UNSPECIFIED_NAME_ID_FORMAT) return accept(true);
  // xs:anyURI collapses whitespace, as above.
  const answered = xmlTrim(format) ?? UNSPECIFIED_NAME_ID_FORMAT;
  return answered === asked
    ? accept(true)
    : reject(
        "saml.name_id_format_mismatch",
        `the NameID's Format is not the one the registration asks for (${asked}); ` +
          "have the IdP send that Format, or change the registration's nameIdFormat",
      );
}

/**
 * When the subject is the NameID: its qualifiers scope it to this IdP and this SP. A NameID is
 * unique only within its NameQualifier (the IdP by default) and SPNameQualifier (SAML Core
 * §2.2.2; persistent identifiers, §8.3.7), as an OIDC `sub` is within its issuer. A hub IdP (a
 * proxy, a federation gateway) that passes on its upstream IdPs' NameIDs qualifies each by its
 * upstream: read without it, two upstreams' "alice" would be one principal. So a NameQualifier
 * other than the IdP's entity id is refused (such an IdP is registered with a `subjectAttribute`
 * that it scopes itself), and so is an SPNameQualifier other than this SP's entity id (a name
 * meant for another service provider or an affiliation this SP is not). Compared exactly: both
 * are xs:string. Either one absent, or naming the IdP and this SP, qualifies nothing further, so
 * the NameID names the principal it named without them.
 */
function checkNameIdQualifiers(nameId: Element, expect: Expectations): SamlResult<true> {
  const nameQualifier = attribute(nameId, "NameQualifier");
  if (nameQualifier !== undefined && nameQualifier !== expect.idp.entityId) {
    return reject(
      "saml.name_qualifier_mismatch",
      "the NameID is qualified by another name than the IdP's entity id (NameQualifier), " +
        "so it is unique only there; have the IdP send a subject attribute it scopes, and configure it",
    );
  }
  const spNameQualifier = attribute(nameId, "SPNameQualifier");
  if (spNameQualifier !== undefined && spNameQualifier !== expect.sp.entityId) {
    return reject(
      "saml.sp_name_qualifier_mismatch",
      "the NameID is qualified for another service provider than this one (SPNameQualifier)",
    );
  }
  return accept(true);
}

function checkIssuer(issuer: Element, expected: string, where: string): SamlResult<true> {
  const format = attribute(issuer, "Format");
  if (format !== undefined && format !== ENTITY_NAME_FORMAT) {
    return reject("saml.issuer_mismatch", `the ${where} Issuer is not an entity name`);
  }
  const text = simpleText(issuer);
  if (!text.ok) return text;
  // Core §8.3.6: entity ids compare as strings, exactly.
  if (text.value !== expected) {
    return reject("saml.issuer_mismatch", `the ${where} Issuer is not the registered IdP`);
  }
  return accept(true);
}

/**
 * An error answer to a remembered request must answer that request (S16): the InResponseTo of
 * `response` (the signed envelope, when it is signed) is the request's ID. An unsolicited error
 * answer is a refusal already, and is not refused again as unsolicited.
 */
export function checkErrorAnswers(response: Element, expect: Expectations): SamlResult<true> {
  if (expect.expectedRequestId === undefined) return accept(true);
  return checkAnswers(nonEmpty(attribute(response, "InResponseTo")), expect, "response");
}

/** InResponseTo against the remembered request (S16); unsolicited only where allowed. */
function checkAnswers(
  inResponseTo: string | undefined,
  expect: Expectations,
  where: string,
): SamlResult<true> {
  if (expect.expectedRequestId === undefined) {
    if (inResponseTo !== undefined) {
      return reject("saml.unsolicited", `the ${where} answers a request this sign-in did not make`);
    }
    if (!expect.idp.allowUnsolicited) {
      return reject("saml.unsolicited", "this IdP may not send unsolicited responses");
    }
    return accept(true);
  }
  if (inResponseTo !== expect.expectedRequestId) {
    return reject(
      "saml.in_response_to_mismatch",
      `the ${where} InResponseTo is not this sign-in's request`,
    );
  }
  return accept(true);
}

/**
 * Profiles §4.1.4.2–3: at least one bearer SubjectConfirmation whose data names this ACS as
 * Recipient, has a NotOnOrAfter still ahead, no NotBefore, and answers our request. The first
 * bearer confirmation's failure is reported when none passes.
 *
 * Returns the latest NotOnOrAfter of every bearer confirmation addressed to this ACS, not only of
 * one that passed: the assertion's one-time claim must last as long as any of them could pass
 * (another, valid for longer, or one answering a request where this answer is unsolicited), or
 * the answer is accepted again once the claim is purged.
 */
function checkBearerConfirmation(subject: Element, expect: Expectations): SamlResult<Date> {
  const bearers = childrenNamed(subject, NS.assertion, "SubjectConfirmation").filter(
    (confirmation) => attribute(confirmation, "Method") === BEARER_METHOD,
  );
  let passed = false;
  let acceptableUntil: Date | undefined;
  let firstFailure: SamlResult<Date> | undefined;
  for (const bearer of bearers) {
    const outcome = checkBearer(bearer, expect);
    if (outcome.ok) passed = true;
    else firstFailure ??= outcome;
    const addressed = addressedBearer(bearer, expect);
    if (addressed.ok) acceptableUntil = latest(acceptableUntil, addressed.value.notOnOrAfter);
  }
  if (passed && acceptableUntil !== undefined) return accept(acceptableUntil);
  return (
    firstFailure ?? reject("saml.subject_confirmation", "the assertion has no bearer confirmation")
  );
}

function checkBearer(confirmation: Element, expect: Expectations): SamlResult<Date> {
  const addressed = addressedBearer(confirmation, expect);
  if (!addressed.ok) return addressed;
  const { data, notOnOrAfter } = addressed.value;
  if (hasExpired(notOnOrAfter, expect.clock)) {
    return reject("saml.expired", "the bearer confirmation has expired");
  }
  const answered = checkAnswers(
    nonEmpty(attribute(data, "InResponseTo")),
    expect,
    "subject confirmation",
  );
  return answered.ok ? accept(notOnOrAfter) : answered;
}

/**
 * A bearer confirmation's checks that no time or request changes: one data element, no
 * NotBefore, this ACS as Recipient, a NotOnOrAfter. Returns the data and its NotOnOrAfter.
 */
function addressedBearer(
  confirmation: Element,
  expect: Expectations,
): SamlResult<{ readonly data: Element; readonly notOnOrAfter: Date }> {
  const data = childrenNamed(confirmation, NS.assertion, "SubjectConfirmationData");
  const [only] = data;
  if (only === undefined || data.length > 1) {
    return reject(
      "saml.subject_confirmation",
      "the bearer confirmation must carry one data element",
    );
  }
  if (attribute(only, "NotBefore") !== undefined) {
    return reject("saml.subject_confirmation", "bearer confirmation data MUST NOT carry NotBefore");
  }
  if (attribute(only, "Recipient") !== expect.sp.acsUrl) {
    return reject("saml.recipient_mismatch", "the bearer Recipient is not this ACS URL");
  }
  const notOnOrAfter = timeAttribute(only, "NotOnOrAfter");
  if (!notOnOrAfter.ok) return notOnOrAfter;
  if (notOnOrAfter.value === undefined) {
    return reject("saml.subject_confirmation", "the bearer confirmation has no NotOnOrAfter");
  }
  return accept({ data: only, notOnOrAfter: notOnOrAfter.value });
}

/** The conditions of SAML Core §2.5.1 that this SP understands and meets. */
const UNDERSTOOD_CONDITIONS: ReadonlySet<string> = new Set([
  "AudienceRestriction",
  "OneTimeUse",
  "ProxyRestriction",
]);

/** Conditions: the validity window (S17) and every AudienceRestriction naming us (S14). */
function checkConditions(assertion: Element, expect: Expectations): SamlResult<Date | undefined> {
  const all = childrenNamed(assertion, NS.assertion, "Conditions");
  const [conditions] = all;
  if (conditions === undefined || all.length > 1) {
    return reject("saml.audience_mismatch", "the assertion has no single Conditions element");
  }
  const notBefore = timeAttribute(conditions, "NotBefore");
  if (!notBefore.ok) return notBefore;
  if (notBefore.value !== undefined && isNotYetValid(notBefore.value, expect.clock)) {
    return reject("saml.not_yet_valid", "the assertion's NotBefore is ahead");
  }
  const notOnOrAfter = timeAttribute(conditions, "NotOnOrAfter");
  if (!notOnOrAfter.ok) return notOnOrAfter;
  if (notOnOrAfter.value !== undefined && hasExpired(notOnOrAfter.value, expect.clock)) {
    return reject("saml.expired", "the assertion's NotOnOrAfter has passed");
  }
  // Core §2.5.1: a condition the relying party does not understand leaves the assertion
  // Indeterminate, which must not be relied on. OneTimeUse is met by claiming every assertion
  // once, and ProxyRestriction binds only whoever would pass the assertion on; this SP does not.
  const unknown = childElements(conditions).find(
    (condition) =>
      condition.namespaceURI !== NS.assertion ||
      !UNDERSTOOD_CONDITIONS.has(condition.localName ?? ""),
  );
  if (unknown !== undefined) {
    return reject(
      "saml.condition_unknown",
      "the Conditions hold a condition this SP does not know",
    );
  }
  const restrictions = childrenNamed(conditions, NS.assertion, "AudienceRestriction");
  if (restrictions.length === 0) {
    return reject("saml.audience_mismatch", "the assertion has no AudienceRestriction");
  }
  // Core §2.5.1.4: OR within one restriction, AND across restrictions.
  for (const restriction of restrictions) {
    let listed = false;
    for (const audience of childrenNamed(restriction, NS.assertion, "Audience")) {
      const text = simpleText(audience);
      if (!text.ok) return text;
      if (text.value === expect.sp.entityId) listed = true;
    }
    if (!listed) {
      return reject("saml.audience_mismatch", "an AudienceRestriction does not list this SP");
    }
  }
  return accept(notOnOrAfter.value);
}

interface Authentication {
  readonly authnInstant: Date;
  readonly classRefs: readonly string[];
  readonly sessionIndex: string | undefined;
}

/**
 * Every AuthnStatement's class refs, verbatim (R3: the caller checks them, never assumes). With
 * several statements the earliest AuthnInstant is reported: freshness must hold for all of them.
 */
function readAuthnStatements(assertion: Element, clock: Clock): SamlResult<Authentication> {
  const statements = childrenNamed(assertion, NS.assertion, "AuthnStatement");
  let earliest: Date | undefined;
  let sessionIndex: string | undefined;
  const classRefs: string[] = [];
  for (const statement of statements) {
    const instant = timeAttribute(statement, "AuthnInstant");
    if (!instant.ok) return instant;
    if (instant.value === undefined)
      return reject("saml.malformed", "an AuthnStatement has no AuthnInstant");
    if (isNotYetValid(instant.value, clock)) {
      return reject("saml.not_yet_valid", "the AuthnInstant is in the future");
    }
    const sessionEnd = timeAttribute(statement, "SessionNotOnOrAfter");
    if (!sessionEnd.ok) return sessionEnd;
    if (sessionEnd.value !== undefined && hasExpired(sessionEnd.value, clock)) {
      return reject("saml.expired", "the IdP session has ended (SessionNotOnOrAfter)");
    }
    if (earliest === undefined || instant.value < earliest) earliest = instant.value;
    sessionIndex ??= attribute(statement, "SessionIndex");
    for (const context of childrenNamed(statement, NS.assertion, "AuthnContext")) {
      for (const ref of childrenNamed(context, NS.assertion, "AuthnContextClassRef")) {
        const text = simpleText(ref);
        if (!text.ok) return text;
        classRefs.push(xmlTrim(text.value));
      }
    }
  }
  if (earliest === undefined) {
    return reject("saml.authn_statement_missing", "the assertion has no AuthnStatement");
  }
  return accept({ authnInstant: earliest, classRefs, sessionIndex });
}

/** Attribute values by Name; values with element content are not text and are left out. */
function readAttributes(assertion: Element): SamlResult<Record<string, string[]>> {
  // No prototype: an attribute named "__proto__" must stay an attribute.
  const attributes = Object.create(null) as Record<string, string[]>;
  for (const statement of childrenNamed(assertion, NS.assertion, "AttributeStatement")) {
    for (const attr of childrenNamed(statement, NS.assertion, "Attribute")) {
      const name = attribute(attr, "Name");
      if (name === undefined || name === "")
        return reject("saml.malformed", "an Attribute has no Name");
      const values = (attributes[name] ??= []);
      for (const value of childrenNamed(attr, NS.assertion, "AttributeValue")) {
        if (childElements(value).length > 0) continue;
        const text = simpleText(value);
        if (!text.ok) return text;
        values.push(text.value);
      }
    }
  }
  return accept(attributes);
}

/**
 * The one value of the configured subject attribute, undefined when it is not released. Several
 * values, in one Attribute or in several of that Name, with element content or not, name no one
 * person: "the first" would be whichever the IdP lists first, and a user who may add a value of
 * his own (a second mail address) could come first. As OIDC's subject claim must be one string.
 */
function attributeSubject(assertion: Element, name: string): SamlResult<Element | undefined> {
  const values = childrenNamed(assertion, NS.assertion, "AttributeStatement")
    .flatMap((statement) => childrenNamed(statement, NS.assertion, "Attribute"))
    .filter((attr) => attribute(attr, "Name") === name)
    .flatMap((attr) => childrenNamed(attr, NS.assertion, "AttributeValue"));
  const [value] = values;
  if (value === undefined) return accept(undefined);
  if (values.length > 1) {
    return reject("saml.subject_missing", "the configured subject attribute has several values");
  }
  return childElements(value).length > 0
    ? reject("saml.subject_missing", "the configured subject attribute is not text")
    : accept(value);
}

/**
 * The subject `text` of `element` as the IdP wrote it: without the XML white space around it,
 * which an indenting IdP adds, unless the IdP said with `xml:space="preserve"` that its white
 * space counts (XML 1.0 §2.10). Then `alice@example.org` and a space is the IdP's other account,
 * not alice's, and is handed on so (the subject rules refuse white space at an end).
 */
function subjectAsWritten(element: Element, text: string): string {
  return spacePreserved(element) ? text : xmlTrim(text);
}

function latest(first: Date | undefined, second: Date): Date {
  return first !== undefined && first > second ? first : second;
}

/**
 * `value` without the XML white space (space, tab, CR, LF: XML 1.0 §2.3 `S`) around it, which an
 * IdP indenting its XML may add, and which is all that xs:anyURI's whitespace facet collapses
 * (a Format, an AuthnContextClassRef). Nothing else: a NameID or attribute value is an
 * xs:string, all of whose characters count, and `String.prototype.trim` would also drop a
 * no-break space, a byte order mark or an ideographic space, making an account the IdP keeps
 * apart (`alice@example.org` and a U+00A0 after it) the same subject here (DESIGN invariant 9),
 * or a class ref the IdP did not state (REFEDS MFA and a U+00A0 after it) the one it maps.
 */
function xmlTrim<Value extends string | undefined>(value: Value): Value {
  if (value === undefined) return value;
  // Index by index: the regular expression `[ \t\r\n]+$` backtracks from each white-space
  // character to the end of its run, quadratic in a long run inside a value.
  let start = 0;
  let end = value.length;
  while (start < end && XML_WHITESPACE.has(value.charAt(start))) start += 1;
  while (end > start && XML_WHITESPACE.has(value.charAt(end - 1))) end -= 1;
  return value.slice(start, end) as Value;
}

/** XML 1.0 §2.3 `S`. */
const XML_WHITESPACE: ReadonlySet<string> = new Set([" ", "\t", "\r", "\n"]);

function nonEmpty(value: string | undefined): string | undefined {
  return value === "" ? undefined : value;
}
