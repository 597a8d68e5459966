import type {
  SamlServiceProviderIdentity,
  SamlVerificationOptions,
} from "../../../app/federation/protocols.js";
import { expect } from "vitest";
import { createSamlProtocol } from "../index.js";
import { TestIdp, type LoginOptions, type ResponseShapeOptions } from "./test-idp.js";

/** A fixed clock: the tests never read the wall clock for verification. */
export const NOW = new Date("2026-03-02T10:00:00.000Z");
export const SKEW_SECONDS = 120;
export const REQUEST_ID = "_req7f3a9c";

export const SP: SamlServiceProviderIdentity = {
  entityId: "https://mfa.example.com/t/acme/idps/corp/saml/metadata",
  acsUrl: "https://mfa.example.com/t/acme/idps/corp/saml/acs",
};

export const protocol = createSamlProtocol();

let sharedIdp: TestIdp | undefined;
/** One IdP (one RSA key generation) shared by the suites in a file. */
export function testIdp(): TestIdp {
  sharedIdp ??= new TestIdp();
  return sharedIdp;
}

/** A response from the real IdP, answering REQUEST_ID at NOW unless told otherwise; null: unsolicited. */
export function idpResponse(
  login: Partial<LoginOptions> = {},
  shape: ResponseShapeOptions = {},
  idp: TestIdp = testIdp(),
  requestId: string | null = REQUEST_ID,
): Promise<string> {
  return idp.login(
    SP,
    protocol.metadata(SP, idp.settings()),
    requestId ?? undefined,
    { issuedAt: NOW, ...login },
    shape,
  );
}

/** Overrides of the expectations; `expectedRequestId: undefined` means no request remembered. */
export interface VerificationOverrides {
  readonly expectedRequestId?: string | undefined;
  readonly now?: Date;
  readonly clockSkewSeconds?: number;
}

export function verification(
  samlResponse: string,
  overrides: VerificationOverrides = {},
): SamlVerificationOptions {
  const expectedRequestId =
    "expectedRequestId" in overrides ? overrides.expectedRequestId : REQUEST_ID;
  return {
    samlResponse,
    now: overrides.now ?? NOW,
    clockSkewSeconds: overrides.clockSkewSeconds ?? SKEW_SECONDS,
    ...(expectedRequestId === undefined ? {} : { expectedRequestId }),
  };
}

/** Verifies against the shared IdP's registration and returns the rejection code, or "ok". */
export async function outcomeOf(
  samlResponse: string,
  overrides: VerificationOverrides = {},
  idp: TestIdp = testIdp(),
): Promise<string> {
  const result = await protocol.verifyResponse(
    SP,
    idp.settings(),
    verification(samlResponse, overrides),
  );
  if (result.ok) return "ok";
  // A rejection names what was wrong, never what was sent (invariant 6: nothing of it is logged).
  const reported = JSON.stringify(result.rejection);
  for (const leaked of ["alice@example.org", "attacker@evil.example"]) {
    expect(reported).not.toContain(leaked);
  }
  // No base64 run: neither a signature or digest value nor the posted response itself.
  expect(reported).not.toMatch(/[A-Za-z0-9+/]{40,}/);
  return result.rejection.code;
}

/**
 * The subject that the shared IdP's registration (reading `subjectAttribute`, when given) takes
 * from `samlResponse`, or the code of its refusal.
 */
export async function subjectOf(samlResponse: string, subjectAttribute?: string): Promise<string> {
  const result = await protocol.verifyResponse(
    SP,
    testIdp().settings(subjectAttribute === undefined ? {} : { subjectAttribute }),
    verification(samlResponse),
  );
  return result.ok ? result.value.subject : result.rejection.code;
}
