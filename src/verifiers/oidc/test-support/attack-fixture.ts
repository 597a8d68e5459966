import type {
  OidcCallbackOptions,
  OidcIdpSettings,
  OidcRejection,
  VerifiedIdToken,
  Verified,
} from "../../../app/federation/protocols.js";
import { createOidcProtocol, type OidcProtocolOptions, type OidcRelyingParty } from "../index.js";
import type { StubIdp } from "./stub-idp.js";

/** The fixed instant of the attack matrix: ID tokens are issued at it, callbacks complete at it. */
export const NOW = new Date("2030-06-01T12:00:00Z");
export const NOW_S = NOW.getTime() / 1000;
export const SKEW = 60;
export const NONCE = "nonce-of-this-sign-in";
export const STATE = "state-of-this-sign-in";
export const CODE_VERIFIER = "v".repeat(43);

/** A relying party on the stub with a clock the test moves. */
export interface AttackBench {
  readonly rp: OidcRelyingParty;
  readonly clock: { now: number };
  /** Serves `idToken` from the stub's token endpoint and completes a callback for it. */
  present(
    idToken: string,
    overrides?: Partial<OidcCallbackOptions>,
    idp?: OidcIdpSettings,
  ): Promise<Verified<VerifiedIdToken, OidcRejection>>;
}

export function createAttackBench(
  stub: StubIdp,
  options: Partial<OidcProtocolOptions> = {},
): AttackBench {
  const clock = { now: NOW.getTime() };
  const rp = createOidcProtocol({ allowHttp: true, clock: () => clock.now, ...options });
  return {
    rp,
    clock,
    present: (idToken, overrides = {}, idp = stub.idp) => {
      stub.nextIdToken = idToken;
      return rp.completeCallback(idp, {
        callbackUrl: `${stub.redirectUri}?code=the-code&state=${STATE}`,
        redirectUri: stub.redirectUri,
        expectedState: STATE,
        expectedNonce: NONCE,
        codeVerifier: CODE_VERIFIER,
        now: NOW,
        clockSkewSeconds: SKEW,
        ...overrides,
      });
    },
  };
}

/** The claims of a well-formed ID token for this sign-in, issued at NOW. */
export function validClaims(stub: StubIdp): Record<string, unknown> {
  return {
    iss: stub.issuer,
    sub: "user-42",
    aud: stub.idp.clientId,
    nonce: NONCE,
    iat: NOW_S,
    exp: NOW_S + 600,
    auth_time: NOW_S - 30,
    amr: ["pwd", "mfa"],
    acr: "https://refeds.org/profile/mfa",
  };
}
