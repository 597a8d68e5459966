import {
  verifyAuthenticationResponse,
  type AuthenticationResponseJSON,
} from "@simplewebauthn/server";
import { isoBase64URL } from "@simplewebauthn/server/helpers";
import {
  isSignCountRegression,
  type AuthenticationVerification,
  type RelyingParty,
  type StoredCredential,
  type UserVerificationPolicy,
} from "../../app/authenticators/webauthn-protocol.js";
import {
  base64urlField,
  bytesOf,
  checkAuthenticatorData,
  checkClientData,
  credentialParts,
  Refusal,
  refusing,
} from "./ceremony-checks.js";

/**
 * Verifies an assertion (WebAuthn §7.2) made with `credential`. The checks the library leaves
 * to its caller run first, each with its own code (client data, RP id hash, UP, UV when
 * required, BS without BE, BE as registered); then the library verifies the signature over
 * authData ‖ SHA-256(clientDataJSON), and its `verified` flag is checked. The library throws on a
 * counter that did not grow, before it checks the signature; it is given a stored counter of 0
 * so that it never does, and the counter is compared here, after the signature holds, and
 * returned as a clone signal for the tenant's policy to decide.
 */
export function verifyAuthentication(input: {
  readonly response: unknown;
  readonly challenge: string;
  readonly rp: RelyingParty;
  readonly userVerification: UserVerificationPolicy;
  readonly credential: StoredCredential;
}): Promise<AuthenticationVerification> {
  return refusing(async () => {
    const { rp, challenge, userVerification, credential } = input;
    const { id, inner } = credentialParts(input.response);
    if (id !== credential.credentialId) {
      throw new Refusal("webauthn.credential_unknown", "The assertion names another credential.");
    }
    checkClientData(base64urlField(inner, "clientDataJSON"), {
      type: "webauthn.get",
      challenge,
      rp,
    });
    const authData = bytesOf(base64urlField(inner, "authenticatorData"), "authenticatorData");
    base64urlField(inner, "signature");
    const parsed = checkAuthenticatorData(authData, { rp, userVerification });
    // Checklist W5: backup eligibility is fixed when the credential is created.
    if (parsed.flags.be !== credential.backupEligible) {
      throw new Refusal(
        "webauthn.backup_eligibility_changed",
        `Backup eligibility is ${String(parsed.flags.be)}, registered as ${String(credential.backupEligible)}.`,
      );
    }
    const result = await verifyAuthenticationResponse({
      response: input.response as AuthenticationResponseJSON,
      expectedChallenge: challenge,
      expectedOrigin: [...rp.origins],
      expectedRPID: rp.id,
      expectedType: "webauthn.get",
      requireUserVerification: userVerification === "required",
      credential: {
        id: credential.credentialId,
        publicKey: isoBase64URL.toBuffer(credential.publicKey),
        counter: 0,
        transports: [],
      },
    });
    // The library answers `verified: false` rather than throwing (checklist W7).
    if (!result.verified) {
      throw new Refusal("webauthn.bad_signature", "The signature does not verify.");
    }
    const received = result.authenticationInfo.newCounter;
    return {
      ok: true as const,
      credentialId: credential.credentialId,
      userVerified: parsed.flags.uv,
      backupEligible: parsed.flags.be,
      backupState: parsed.flags.bs,
      signCount: received,
      cloneSignal: isSignCountRegression(credential.signCount, received),
    };
  });
}
