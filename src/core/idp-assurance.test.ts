import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  assessIdpClaims,
  DEFAULT_IDP_ASSURANCE_MAPPING as DEFAULTS,
  mappingContradictions,
  type IdpAssuranceMapping,
} from "./idp-assurance.js";
import { REFEDS_MFA } from "./vocabulary.js";

const PPT = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport";
const MOBILE_2F = "urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorContract";

describe("assessIdpClaims with the default mapping", () => {
  const cases: [string, { contexts: string[]; amr?: string[] }, number, boolean][] = [
    ["REFEDS MFA context proves AAL2", { contexts: [REFEDS_MFA] }, 2, false],
    ["a vendor two-factor class proves AAL2", { contexts: [MOBILE_2F] }, 2, false],
    ["PasswordProtectedTransport proves one factor", { contexts: [PPT] }, 1, false],
    ["the OpenID EAP phr value proves phishing-resistant MFA", { contexts: ["phr"] }, 2, true],
    ["nothing stated proves nothing", { contexts: [] }, 0, false],
    ["an unknown context proves nothing", { contexts: ["urn:acme:gold"] }, 0, false],
    ["amr mfa proves AAL2 (seed 002)", { contexts: [], amr: ["pwd", "mfa"] }, 2, false],
    ["amr pwd alone is one factor", { contexts: [], amr: ["pwd"] }, 1, false],
    ["amr pwd + otp is two factors", { contexts: [], amr: ["pwd", "otp"] }, 2, false],
    ["amr pwd + hwk is phishing-resistant MFA", { contexts: [], amr: ["pwd", "hwk"] }, 2, true],
    [
      "an MFA context with amr hwk is phishing-resistant MFA",
      { contexts: [REFEDS_MFA], amr: ["pwd", "hwk", "mfa"] },
      2,
      true,
    ],
    ["amr hwk never raises a single-factor context", { contexts: [PPT], amr: ["hwk"] }, 1, false],
    ["amr sms alone is one factor", { contexts: [], amr: ["sms"] }, 1, false],
    ["amr mca is multi-channel, not multi-factor", { contexts: [], amr: ["mca"] }, 0, false],
    ["a biometric alone proves nothing", { contexts: [], amr: ["fpt", "face"] }, 0, false],
    ["pin unlocks, it is not a factor", { contexts: [], amr: ["pin"] }, 0, false],
    [
      "the context ranks above amr: PPT with amr mfa stays one factor",
      { contexts: [PPT], amr: ["mfa"] },
      1,
      false,
    ],
    [
      "an unknown context leaves amr to decide",
      { contexts: ["urn:acme:gold"], amr: ["mfa"] },
      2,
      false,
    ],
  ];
  it.each(cases)("%s", (_name, claims, aal, phishingResistant) => {
    const { assurance } = assessIdpClaims(DEFAULTS, claims);
    expect(assurance).toEqual({ aal, phishingResistant });
  });

  it("reports the values that granted the assurance", () => {
    expect(assessIdpClaims(DEFAULTS, { contexts: [REFEDS_MFA, PPT] }).recognised).toEqual([
      REFEDS_MFA,
    ]);
    expect(assessIdpClaims(DEFAULTS, { contexts: [], amr: ["pwd", "otp"] }).recognised).toEqual([
      "pwd",
      "otp",
    ]);
  });

  it("reports unmapped context values and amr values outside RFC 8176 as drift signals", () => {
    const { unmapped } = assessIdpClaims(DEFAULTS, {
      contexts: ["urn:acme:gold", REFEDS_MFA, "urn:acme:gold"],
      amr: ["pwd", "acme-push"],
    });
    expect(unmapped).toEqual(["urn:acme:gold", "acme-push"]);
  });
});

describe("assessIdpClaims with a tenant's own vocabulary", () => {
  const keycloak: IdpAssuranceMapping = {
    ...DEFAULTS,
    mfaContexts: ["2"],
    singleFactorContexts: ["1"],
    phishingResistantContexts: ["3"],
    amrFactorPairs: false,
  };
  it("maps the IdP's own values", () => {
    expect(assessIdpClaims(keycloak, { contexts: ["2"] }).assurance.aal).toBe(2);
    expect(assessIdpClaims(keycloak, { contexts: ["3"] }).assurance.phishingResistant).toBe(true);
    expect(assessIdpClaims(keycloak, { contexts: ["1"] }).assurance.aal).toBe(1);
  });
  it("does not recognise REFEDS MFA once the tenant's list leaves it out", () => {
    expect(assessIdpClaims(keycloak, { contexts: [REFEDS_MFA] }).assurance.aal).toBe(0);
  });
  it("does not pair amr factors when pairs are switched off", () => {
    expect(assessIdpClaims(keycloak, { contexts: [], amr: ["pwd", "otp"] }).assurance.aal).toBe(1);
  });
});

describe("assessIdpClaims properties", () => {
  const known = [REFEDS_MFA, PPT, MOBILE_2F, "phr", "pwd", "otp", "hwk", "mfa", "sms", "fpt"];
  const value = fc.oneof(fc.constantFrom(...known), fc.string({ maxLength: 12 }));
  const claims = fc.record({
    contexts: fc.array(value, { maxLength: 4 }),
    amr: fc.array(value, { maxLength: 4 }),
  });

  it("values the mapping does not name never change the assurance", () => {
    const foreign = fc.string({ maxLength: 12 }).map((v) => `urn:unmapped:${v}`);
    fc.assert(
      fc.property(claims, fc.array(foreign, { maxLength: 3 }), (c, extra) => {
        const base = assessIdpClaims(DEFAULTS, c).assurance;
        const more = assessIdpClaims(DEFAULTS, {
          contexts: [...c.contexts, ...extra],
          amr: [...c.amr, ...extra],
        });
        expect(more.assurance).toEqual(base);
        for (const v of extra) expect(more.unmapped).toContain(v);
      }),
    );
  });

  it("an empty mapping proves nothing from contexts and at most one factor from amr pairs off", () => {
    const empty: IdpAssuranceMapping = {
      mfaContexts: [],
      phishingResistantContexts: [],
      singleFactorContexts: [],
      mfaAmr: [],
      phishingResistantAmr: [],
      amrFactorPairs: false,
    };
    fc.assert(
      fc.property(claims, (c) => {
        expect(assessIdpClaims(empty, c).assurance.aal).toBeLessThanOrEqual(1);
        expect(assessIdpClaims(empty, c).assurance.phishingResistant).toBe(false);
      }),
    );
  });

  it("phishing resistance is only ever granted together with MFA", () => {
    fc.assert(
      fc.property(claims, (c) => {
        const { assurance } = assessIdpClaims(DEFAULTS, c);
        if (assurance.phishingResistant) expect(assurance.aal).toBeGreaterThanOrEqual(2);
      }),
    );
  });
});

describe("mappingContradictions", () => {
  const mapping = (parts: Partial<IdpAssuranceMapping>): IdpAssuranceMapping => ({
    ...DEFAULTS,
    ...parts,
  });

  it("finds none in the defaults, nor in a vendor's own values", () => {
    expect(mappingContradictions(DEFAULTS)).toEqual([]);
    expect(
      mappingContradictions(
        mapping({
          mfaContexts: ["urn:example:idp:mfa", MOBILE_2F],
          phishingResistantContexts: ["urn:example:idp:fido2"],
          mfaAmr: ["mfa", "vendor-2fa"],
          phishingResistantAmr: ["hwk", "swk", "sc", "vendor-fido"],
        }),
      ),
    ).toEqual([]);
  });

  it.each<[string, Partial<IdpAssuranceMapping>]>([
    ["a password class as MFA", { mfaContexts: [PPT] }],
    ["REFEDS single-factor as MFA", { mfaContexts: ["https://refeds.org/profile/sfa"] }],
    ["OIDC acr 0 as MFA", { mfaContexts: ["0"] }],
    [
      "a previous session as MFA",
      { mfaContexts: ["urn:oasis:names:tc:SAML:2.0:ac:classes:PreviousSession"] },
    ],
    ["REFEDS MFA as phishing-resistant", { phishingResistantContexts: [REFEDS_MFA] }],
    ["a mobile two-factor class as phishing-resistant", { phishingResistantContexts: [MOBILE_2F] }],
    ["a password class as phishing-resistant", { phishingResistantContexts: [PPT] }],
    ["one RFC 8176 method as MFA", { mfaAmr: ["otp"] }],
    ["a biometric as MFA", { mfaAmr: ["fpt"] }],
    ["mfa itself as phishing-resistant", { phishingResistantAmr: ["mfa"] }],
    ["an SMS as phishing-resistant", { phishingResistantAmr: ["sms"] }],
  ])("names %s", (_name, parts) => {
    const [list, values] = Object.entries(parts)[0] as [string, readonly string[]];
    expect(mappingContradictions(mapping(parts))).toEqual([
      expect.stringContaining(`mapping.${list} lists "${values[0] ?? ""}"`),
    ]);
  });
});

// A context value whose own specification says one factor at most ranks above `amr`, whatever
// the mapping lists (checklist O10): an `amr` of `mfa` beside it never makes it MFA.
const SINGLE_FACTOR_ACRS = [
  "https://refeds.org/profile/sfa",
  "0",
  "urn:oasis:names:tc:SAML:2.0:ac:classes:PreviousSession",
  "urn:oasis:names:tc:SAML:2.0:ac:classes:unspecified",
];

describe("a context that states single-factor caps what amr may add", () => {
  it.each(SINGLE_FACTOR_ACRS)("acr %s with amr [pwd, mfa] is not MFA", (acr) => {
    const { assurance } = assessIdpClaims(DEFAULTS, {
      contexts: [acr],
      amr: ["pwd", "mfa"],
    });
    expect(assurance.aal).toBeLessThan(2);
  });

  it.each(SINGLE_FACTOR_ACRS)("acr %s with amr [pwd, otp] is not MFA", (acr) => {
    const { assurance } = assessIdpClaims(DEFAULTS, {
      contexts: [acr],
      amr: ["pwd", "otp"],
    });
    expect(assurance.aal).toBeLessThan(2);
  });
});
