import { verifyRegistrationResponse, type RegistrationResponseJSON } from "@simplewebauthn/server";
import {
  cose,
  decodeAttestationObject,
  decodeCredentialPublicKey,
  isoBase64URL,
} from "@simplewebauthn/server/helpers";
import {
  WEBAUTHN_ALGORITHMS,
  type RegistrationVerification,
  type RelyingParty,
  type UserVerificationPolicy,
} from "../../app/authenticators/webauthn-protocol.js";
import { attestationRootOf, type AttestationRoot } from "./attestation-trust.js";
import {
  base64urlField,
  bytesOf,
  checkAuthenticatorData,
  checkClientData,
  credentialParts,
  Refusal,
  refusing,
} from "./ceremony-checks.js";

const REQUESTED: number[] = [...WEBAUTHN_ALGORITHMS];

/** WebAuthn §5.8.4 AuthenticatorTransport (and `cable`, `hybrid`'s older name). */
const TRANSPORTS: ReadonlySet<unknown> = new Set([
  "usb",
  "nfc",
  "ble",
  "smart-card",
  "hybrid",
  "internal",
  "cable",
]);

/**
 * The transports a registration reports, as hints for later ceremonies: the client says what it
 * likes there, outside anything signed, and it is stored and sent back to browsers. Only
 * AuthenticatorTransport values are kept, once each; anything else (not a list, a number, an
 * unknown or huge string) is dropped, as clients drop unknown values (§5.8.4).
 */
function knownTransports(reported: unknown): string[] {
  if (!Array.isArray(reported)) return [];
  return [...new Set(reported.filter((t): t is string => TRANSPORTS.has(t)))];
}

/**
 * The certificates of an attestation statement whose leaf signed it, as the format's verification
 * checked: `x5c` of `packed` (full attestation), `tpm`, `android-key`, `fido-u2f` and `apple`.
 * `none` and self attestation carry none, and prove no model.
 */
function attestationChain(fmt: string, statement: unknown): Uint8Array[] {
  if (fmt === "none" || !(statement instanceof Map)) return [];
  const x5c: unknown = statement.get("x5c");
  return Array.isArray(x5c) && x5c.every((c) => c instanceof Uint8Array) ? x5c : [];
}

/**
 * Verifies a registration response (WebAuthn §7.1). The checks the library leaves to its caller
 * run first, each with its own code: client data (exact origin, no cross-origin frame), RP id
 * hash, UP, UV when required, backup flags, the algorithm among those requested, then the
 * library's own verification (attestation statement), whose `verified` flag is checked. Then
 * the attestation's certificate chain against the operator's `attestationRoots` at `at`: a
 * credential is `attested` only when a root vouches for the key that signed the statement. The
 * library validates a chain only when roots are set in its process-wide settings (and then
 * fetches the certificates' CRLs); this check is the instance's own, with the injected time.
 * Last, the authenticator model against the tenant's allow-list: the AAGUID is what the
 * authenticator says, proven only by an attestation, so an allow-list admits attested
 * credentials alone (checklist W8).
 */
export function verifyRegistration(input: {
  readonly response: unknown;
  readonly challenge: string;
  readonly rp: RelyingParty;
  readonly userVerification: UserVerificationPolicy;
  readonly aaguids: readonly string[];
  readonly at: Date;
  readonly attestationRoots?: readonly AttestationRoot[];
}): Promise<RegistrationVerification> {
  return refusing(async () => {
    const { rp, challenge, userVerification } = input;
    const { inner } = credentialParts(input.response);
    checkClientData(base64urlField(inner, "clientDataJSON"), {
      type: "webauthn.create",
      challenge,
      rp,
    });
    const attestation = decodeAttestationObject(
      bytesOf(base64urlField(inner, "attestationObject"), "attestationObject"),
    );
    const authData = attestation.get("authData");
    if (!(authData instanceof Uint8Array)) {
      throw new Refusal("webauthn.malformed_response", "The attestation has no authData.");
    }
    const parsed = checkAuthenticatorData(authData, { rp, userVerification });
    if (parsed.credentialPublicKey === undefined || parsed.credentialID === undefined) {
      throw new Refusal("webauthn.malformed_response", "No attested credential data (AT=0).");
    }
    const algorithm = decodeCredentialPublicKey(parsed.credentialPublicKey).get(cose.COSEKEYS.alg);
    if (typeof algorithm !== "number" || !REQUESTED.includes(algorithm)) {
      throw new Refusal(
        "webauthn.algorithm_not_allowed",
        `The key's algorithm ${String(algorithm)} was not requested.`,
      );
    }
    // Everything the library reads but the attestation statement was checked above: what it
    // throws now is the statement refused (a signature by another key than its certificate's,
    // a batch certificate for another model…). Its messages may quote the challenge.
    const result = await verifyRegistrationResponse({
      response: input.response as RegistrationResponseJSON,
      expectedChallenge: challenge,
      expectedOrigin: [...rp.origins],
      expectedRPID: rp.id,
      expectedType: "webauthn.create",
      requireUserPresence: true,
      requireUserVerification: userVerification === "required",
      supportedAlgorithmIDs: REQUESTED,
    }).catch(() => {
      throw new Refusal("webauthn.attestation_rejected", "The attestation did not verify.");
    });
    // The library answers `verified: false` rather than throwing (checklist W7).
    if (!result.verified) {
      throw new Refusal("webauthn.attestation_rejected", "The attestation did not verify.");
    }
    const info = result.registrationInfo;
    const aaguid = info.aaguid.toLowerCase();
    const root = attestationRootOf(
      attestationChain(info.fmt, attestation.get("attStmt")),
      input.attestationRoots ?? [],
      input.at,
    );
    if (input.aaguids.length > 0 && root === undefined) {
      throw new Refusal(
        "webauthn.attestation_untrusted",
        `The authenticator's attestation (${info.fmt}) does not chain to a trusted root, so its model is not proven.`,
      );
    }
    if (input.aaguids.length > 0 && !input.aaguids.includes(aaguid)) {
      throw new Refusal(
        "webauthn.aaguid_not_allowed",
        `The authenticator model ${aaguid} is not allowed in this tenant.`,
      );
    }
    return {
      ok: true as const,
      credential: {
        credentialId: info.credential.id,
        publicKey: isoBase64URL.fromBuffer(info.credential.publicKey),
        algorithm,
        signCount: info.credential.counter,
        transports: knownTransports(info.credential.transports),
        aaguid,
        backupEligible: parsed.flags.be,
        backupState: parsed.flags.bs,
        userVerified: info.userVerified,
        attestationFormat: info.fmt,
        attested: root !== undefined,
        ...(root === undefined ? {} : { attestationRoot: root.subject.replace(/\n/g, ", ") }),
      },
    };
  });
}
