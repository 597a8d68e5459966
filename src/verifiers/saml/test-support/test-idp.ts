import { createPrivateKey } from "node:crypto";
import * as samlify from "samlify";
import type {
  SamlIdpSettings,
  SamlServiceProviderIdentity,
} from "../../../app/federation/protocols.js";
import { generateTestKeyPair, type TestKeyPair } from "./certificate.js";
import { ECDSA_SHA256, resignResponse } from "./sign.js";

export const REFEDS_MFA = "https://refeds.org/profile/mfa";
export const PASSWORD_PROTECTED_TRANSPORT =
  "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport";
export const RSA_SHA1 = "http://www.w3.org/2000/09/xmldsig#rsa-sha1";
const REDIRECT = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";
const EMAIL_FORMAT = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";

// samlify validates every message against an XSD through a pluggable validator. This IdP is the
// peer under test, not our code, so its own schema check may be permissive.
samlify.setSchemaValidator({ validate: () => Promise.resolve("skipped") });

/**
 * samlify's template helpers. Under plain Node (`npm run bench` runs this IdP without Vite),
 * samlify's CommonJS build exposes `SamlLib` on its default export only.
 */
const samlLib: typeof samlify.SamlLib =
  (samlify as unknown as { default?: { SamlLib?: typeof samlify.SamlLib } }).default?.SamlLib ??
  samlify.SamlLib;

/**
 * The login response the IdP signs. Every value is a tag, so a test can make the real IdP sign a
 * response with exactly one thing wrong; a tag left undefined drops its attribute or element.
 */
const LOGIN_RESPONSE_TEMPLATE = [
  '<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"',
  ' ID="{ID}" Version="2.0" IssueInstant="{IssueInstant}" Destination="{Destination}" InResponseTo="{InResponseTo}">',
  "<saml:Issuer>{Issuer}</saml:Issuer>",
  '<samlp:Status><samlp:StatusCode Value="{StatusCode}"/></samlp:Status>',
  '<saml:Assertion ID="{AssertionID}" Version="2.0" IssueInstant="{IssueInstant}">',
  "<saml:Issuer>{AssertionIssuer}</saml:Issuer>",
  '<saml:Subject><saml:NameID Format="{NameIDFormat}" NameQualifier="{NameQualifier}" SPNameQualifier="{SPNameQualifier}">{NameID}</saml:NameID>',
  '<saml:SubjectConfirmation Method="{ConfirmationMethod}"><saml:SubjectConfirmationData',
  ' NotBefore="{SubjectConfirmationDataNotBefore}" NotOnOrAfter="{SubjectConfirmationDataNotOnOrAfter}"',
  ' Recipient="{SubjectRecipient}" InResponseTo="{SubjectInResponseTo}"/></saml:SubjectConfirmation></saml:Subject>',
  '<saml:Conditions NotBefore="{ConditionsNotBefore}" NotOnOrAfter="{ConditionsNotOnOrAfter}">',
  "<saml:AudienceRestriction><saml:Audience>{Audience}</saml:Audience></saml:AudienceRestriction>",
  "{ExtraConditions}</saml:Conditions>",
  "{AuthnStatement}",
  '<saml:AttributeStatement><saml:Attribute Name="mail"><saml:AttributeValue>{Mail}</saml:AttributeValue></saml:Attribute>',
  '<saml:Attribute Name="groups"><saml:AttributeValue>staff</saml:AttributeValue><saml:AttributeValue>admins</saml:AttributeValue></saml:Attribute>',
  "</saml:AttributeStatement></saml:Assertion></samlp:Response>",
].join("");

export type ResponseTag =
  | "ID"
  | "IssueInstant"
  | "Destination"
  | "InResponseTo"
  | "Issuer"
  | "StatusCode"
  | "AssertionID"
  | "AssertionIssuer"
  | "NameIDFormat"
  | "NameQualifier"
  | "SPNameQualifier"
  | "NameID"
  | "ConfirmationMethod"
  | "SubjectConfirmationDataNotBefore"
  | "SubjectConfirmationDataNotOnOrAfter"
  | "SubjectRecipient"
  | "SubjectInResponseTo"
  | "ConditionsNotBefore"
  | "ConditionsNotOnOrAfter"
  | "Audience"
  | "ExtraConditions"
  | "AuthnStatement"
  | "Mail";

export interface LoginOptions {
  /** The instant the IdP issues the response; the windows below are relative to it. */
  readonly issuedAt: Date;
  readonly nameId?: string;
  readonly authnContextClassRef?: string;
  /** Tag values (AuthnStatement and ExtraConditions are raw XML) replacing the defaults; `undefined` drops the attribute or element. */
  readonly tags?: Partial<Record<ResponseTag, string | undefined>>;
  /**
   * Tag values put in as XML, unescaped, replacing `tags` and the defaults: for character
   * references (`&#0;`, `&#xD800;`) that the parser turns into characters no escaping produces.
   */
  readonly rawTags?: Partial<Record<ResponseTag, string>>;
}

export interface TestIdpOptions {
  readonly entityId?: string;
  /** An RSA key pair by default; with an EC one (generateTestEcKeyPair) the IdP signs ECDSA. */
  readonly keyPair?: TestKeyPair;
  /** samlify's rsa-sha256 by default, ecdsa-sha256 for an EC key pair. */
  readonly signatureAlgorithm?: string;
}

export interface ResponseShapeOptions {
  /** Sign the Response element as well as the Assertion. */
  readonly signResponse?: boolean;
  /** Sign only the Response (the SP metadata is rewritten to not want signed assertions). */
  readonly responseOnly?: boolean;
  /** The Reference transforms the IdP signs with. */
  readonly transforms?: readonly string[];
}

/** An AuthnRequest as the IdP received and read it. */
export interface ReceivedAuthnRequest {
  readonly id: string;
  readonly xml: string;
  readonly relayState: string | null;
  /** The request's `NameIDPolicy` attributes; undefined where absent. */
  readonly nameIdPolicy: {
    readonly format?: string | undefined;
    readonly allowCreate?: string | undefined;
  };
  /** The `NameIDFormat`s of the SP metadata the IdP was given. */
  readonly spNameIdFormats: readonly string[];
}

export const FIVE_MINUTES_MS = 5 * 60 * 1000;

/** A samlify IdP that signs real responses with its own key pair. */
export class TestIdp {
  readonly entityId: string;
  readonly ssoUrl: string;
  readonly keyPair: TestKeyPair;
  private readonly idp: samlify.IdentityProviderInstance;
  /**
   * The algorithm an EC key signs with. samlify's xml-crypto knows no ECDSA algorithm (and would
   * sign a DER ECDSA value labelled rsa-sha256), so the response samlify makes has its
   * signatures made again, with xml-crypto and ECDSA, as an ECDSA IdP would have made them.
   */
  private readonly ecdsaAlgorithm: string | undefined;
  private counter = 0;

  constructor(options: TestIdpOptions = {}) {
    this.entityId = options.entityId ?? "https://idp.example.org/saml";
    this.ssoUrl = `${this.entityId}/sso`;
    this.keyPair = options.keyPair ?? generateTestKeyPair("test idp");
    const ec = createPrivateKey(this.keyPair.privateKeyPem).asymmetricKeyType === "ec";
    this.ecdsaAlgorithm = ec ? (options.signatureAlgorithm ?? ECDSA_SHA256) : undefined;
    this.idp = samlify.IdentityProvider({
      entityID: this.entityId,
      signingCert: this.keyPair.certificatePem,
      privateKey: this.keyPair.privateKeyPem,
      singleSignOnService: [{ Binding: REDIRECT, Location: this.ssoUrl }],
      singleLogoutService: [{ Binding: REDIRECT, Location: `${this.entityId}/slo` }],
      nameIDFormat: [EMAIL_FORMAT],
      loginResponseTemplate: { context: LOGIN_RESPONSE_TEMPLATE, attributes: [] },
      ...(options.signatureAlgorithm === undefined || ec
        ? {}
        : { requestSignatureAlgorithm: options.signatureAlgorithm }),
    });
  }

  /** The IdP's own metadata document, as an administrator would upload it. */
  metadataXml(): string {
    return this.idp.getMetadata();
  }

  /** The registration a tenant administrator would make for this IdP. */
  settings(overrides: Partial<SamlIdpSettings> = {}): SamlIdpSettings {
    return {
      entityId: this.entityId,
      ssoUrl: this.ssoUrl,
      signingCertificates: [this.keyPair.certificatePem],
      allowUnsolicited: false,
      ...overrides,
    };
  }

  /**
   * Receives our AuthnRequest over the HTTP-Redirect binding, as a browser would bring it, and
   * returns what samlify parsed from it: its id, its `NameIDPolicy` (Format and AllowCreate, as
   * given), and the NameID Formats the SP's metadata declares.
   */
  async receiveAuthnRequest(
    spMetadataXml: string,
    requestUrl: string,
  ): Promise<ReceivedAuthnRequest> {
    const sp = samlify.ServiceProvider({ metadata: spMetadataXml });
    const url = new URL(requestUrl);
    const query = Object.fromEntries(url.searchParams.entries());
    const parsed = (await this.idp.parseLoginRequest(sp, "redirect", { query })) as {
      extract: {
        request: { id: string };
        nameIDPolicy?: { format?: string; allowCreate?: string } | null;
      };
      samlContent: string;
    };
    const declared = sp.entityMeta.getNameIDFormat() as string | string[] | undefined;
    return {
      id: parsed.extract.request.id,
      xml: parsed.samlContent,
      relayState: url.searchParams.get("RelayState"),
      nameIdPolicy: {
        format: parsed.extract.nameIDPolicy?.format,
        allowCreate: parsed.extract.nameIDPolicy?.allowCreate,
      },
      spNameIdFormats: declared === undefined ? [] : [declared].flat(),
    };
  }

  /** A signed login response for `sp`, answering `requestId` (unsolicited when undefined). */
  async login(
    sp: SamlServiceProviderIdentity,
    spMetadataXml: string,
    requestId: string | undefined,
    login: LoginOptions,
    shape: ResponseShapeOptions = {},
  ): Promise<string> {
    this.counter += 1;
    const issued = login.issuedAt.toISOString();
    const later = new Date(login.issuedAt.getTime() + FIVE_MINUTES_MS).toISOString();
    const values: Record<ResponseTag, string | undefined> = {
      ID: `_response${this.counter}${Date.now()}`,
      IssueInstant: issued,
      Destination: sp.acsUrl,
      InResponseTo: requestId,
      Issuer: this.entityId,
      StatusCode: "urn:oasis:names:tc:SAML:2.0:status:Success",
      AssertionID: `_assertion${this.counter}${Date.now()}`,
      AssertionIssuer: this.entityId,
      NameIDFormat: EMAIL_FORMAT,
      // SAML Core §2.2.2: both optional, and this IdP leaves them out unless a test sets them.
      NameQualifier: undefined,
      SPNameQualifier: undefined,
      NameID: login.nameId ?? "alice@example.org",
      ConfirmationMethod: "urn:oasis:names:tc:SAML:2.0:cm:bearer",
      SubjectConfirmationDataNotBefore: undefined,
      SubjectConfirmationDataNotOnOrAfter: later,
      SubjectRecipient: sp.acsUrl,
      SubjectInResponseTo: requestId,
      ConditionsNotBefore: issued,
      ConditionsNotOnOrAfter: later,
      Audience: sp.entityId,
      ExtraConditions: "",
      AuthnStatement: authnStatement(issued, login.authnContextClassRef ?? REFEDS_MFA),
      Mail: login.nameId ?? "alice@example.org",
      ...login.tags,
    };
    const metadata = shape.responseOnly
      ? spMetadataXml.replace('WantAssertionsSigned="true"', 'WantAssertionsSigned="false"')
      : spMetadataXml;
    const responseSigned = shape.signResponse === true || shape.responseOnly === true;
    const sp2 = samlify.ServiceProvider({
      metadata,
      wantMessageSigned: responseSigned,
      ...(shape.transforms === undefined
        ? {}
        : { transformationAlgorithms: [...shape.transforms] }),
    });
    const response = (await this.idp.createLoginResponse(
      sp2,
      { extract: { request: { id: requestId ?? "" } } },
      "post",
      {},
      {
        customTagReplacement: (template: string) => ({
          id: values.ID ?? "",
          context: replaceTags(template, values, login.rawTags ?? {}),
        }),
      },
    )) as { context: string };
    if (this.ecdsaAlgorithm === undefined) return response.context;
    return resignResponse(
      response.context,
      this.keyPair.privateKeyPem,
      { assertion: shape.responseOnly !== true, response: responseSigned },
      {
        signature: this.ecdsaAlgorithm,
        keyInfoCertificate: this.keyPair.certificatePem,
        ...(shape.transforms === undefined ? {} : { transforms: shape.transforms }),
      },
    );
  }
}

function authnStatement(instant: string, classRef: string): string {
  const escaped = classRef.replace(/&/g, "&amp;").replace(/</g, "&lt;");
  return (
    `<saml:AuthnStatement AuthnInstant="${instant}" SessionIndex="_session1"><saml:AuthnContext>` +
    `<saml:AuthnContextClassRef>${escaped}</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>`
  );
}

function replaceTags(
  template: string,
  values: Record<ResponseTag, string | undefined>,
  raw: Partial<Record<ResponseTag, string>>,
): string {
  // Raw XML tags (a second AudienceRestriction, say) go in as is; samlify escapes the others.
  const { ExtraConditions, AuthnStatement, ...others } = values;
  let withRaw = template;
  for (const [tag, xml] of Object.entries(raw)) {
    withRaw = withRaw.replaceAll(`{${tag}}`, () => xml);
  }
  const escaped = Object.fromEntries(Object.entries(others).filter(([tag]) => !(tag in raw)));
  const filled = samlLib.replaceTagsByValue(withRaw, escaped);
  return filled
    .replace("{ExtraConditions}", ExtraConditions ?? "")
    .replace("{AuthnStatement}", AuthnStatement ?? "");
}
