import { verifyRegistrationResponse, type RegistrationResponseJSON } from "@simplewebauthn/server";
import {
  cose,
  decodeAttestationObject,
  decodeCredentialPublicKey,
  getCertificateInfo,
  isoBase64URL,
  isoCBOR,
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

/** WebAuthn L3 §7.1 (registration): the longest credential id a relying party accepts. */
const MAX_CREDENTIAL_ID_BYTES = 1023;

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
 * The attestation formats whose statement is verified and can make a credential attested: those
 * whose statement is signed by the leaf of `x5c` (WebAuthn §8.2, §8.3, §8.6) and for which the
 * library fetches nothing. The others are read as `none` before the library sees them:
 * - `android-key` proves only that some app's keystore key signed, with flags and an AAGUID that
 *   app chose, and the library fetches the CRLs its certificates name (from an x5c the client
 *   sends) before it checks that they lead to Google;
 * - `android-safetynet` carries its certificates in a JWS, not in `x5c`, and is withdrawn;
 * - `apple` is the anonymous attestation of synced passkeys (BE=1: never AAL3), checked against
 *   Apple's root with CRL fetches to Apple.
 * Reading them as `none` is what WebAuthn §7.1 step 21 lets a relying party do with an
 * attestation it does not use: the credential registers, unattested.
 */
const VERIFIED_FORMATS: ReadonlySet<string> = new Set(["packed", "tpm", "fido-u2f"]);

/** FIDO's id-fido-gen-ce-aaguid: the model a batch certificate is for (WebAuthn §8.2.1). */
const AAGUID_EXTENSION = "1.3.6.1.4.1.45724.1.1.4";

/** The certificates of a verified statement whose leaf signed it, or none. */
function attestationChain(fmt: string, statement: unknown): Uint8Array[] {
  if (!VERIFIED_FORMATS.has(fmt) || !(statement instanceof Map)) return [];
  const x5c: unknown = statement.get("x5c");
  return Array.isArray(x5c) && x5c.every((c) => c instanceof Uint8Array) ? x5c : [];
}

/**
 * Whether the leaf certificate names its model (the AAGUID extension, which the format's check
 * already matched against the authenticator data when present). Without it a root vouches for
 * hardware of its vendor, not for the model the authenticator reports.
 */
function certifiesModel(leaf: Uint8Array | undefined): boolean {
  if (leaf === undefined) return false;
  try {
    const certificate = getCertificateInfo(new Uint8Array(leaf)).parsedCertificate;
    const extensions: readonly { extnID: string }[] = certificate.tbsCertificate.extensions ?? [];
    return extensions.some((extension) => extension.extnID === AAGUID_EXTENSION);
  } catch {
    return false;
  }
}

/**
 * The response with its attestation read as `none` when its format is not one whose statement
 * counts here ({@link VERIFIED_FORMATS}): same authenticator data, no statement.
 */
function withUsableAttestation(
  response: unknown,
  inner: Record<string, unknown>,
  fmt: unknown,
  authData: Uint8Array,
): unknown {
  if (fmt === "none" || (typeof fmt === "string" && VERIFIED_FORMATS.has(fmt))) return response;
  const none = isoCBOR.encode(
    new Map<string, unknown>([
      ["fmt", "none"],
      ["attStmt", new Map<string, never>()],
      ["authData", authData],
    ]) as Parameters<typeof isoCBOR.encode>[0],
  );
  return {
    ...(response as Record<string, unknown>),
    response: { ...inner, attestationObject: isoBase64URL.fromBuffer(none) },
  };
}

/**
 * Verifies a registration response (WebAuthn §7.1). The checks the library leaves to its caller
 * run first, each with its own code: client data (exact origin, no cross-origin frame), RP id
 * hash, UP, UV when required, backup flags, the algorithm among those requested, then the
 * library's own verification (attestation statement), whose `verified` flag is checked. Then
 * the attestation's certificate chain against the operator's `attestationRoots` at `at`: a
 * credential is `attested` only when a root vouches for the key that signed the statement, in a
 * format whose statement counts ({@link VERIFIED_FORMATS}; the others are read as `none`). The
 * library validates a chain only when roots are set in its process-wide settings (and then
 * fetches the certificates' CRLs); this check is the instance's own, with the injected time.
 * Last, the authenticator model against the tenant's allow-list: the AAGUID is what the
 * authenticator says, proven only by an attestation whose certificate names it, so an allow-list
 * admits such credentials alone (checklist W8).
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
    // WebAuthn L3 §7.1: the ceremony fails when credentialId is longer than 1023 bytes (the
    // authenticator data can carry 65 535). Such an id fits no assertion request and no index.
    if (parsed.credentialID.length > MAX_CREDENTIAL_ID_BYTES) {
      throw new Refusal(
        "webauthn.malformed_response",
        `The credential id is longer than ${String(MAX_CREDENTIAL_ID_BYTES)} bytes.`,
      );
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
    const fmt: unknown = attestation.get("fmt");
    const result = await verifyRegistrationResponse({
      response: withUsableAttestation(
        input.response,
        inner,
        fmt,
        authData,
      ) as RegistrationResponseJSON,
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
    const format = typeof fmt === "string" ? fmt : info.fmt;
    const chain = attestationChain(info.fmt, attestation.get("attStmt"));
    const root = attestationRootOf(chain, input.attestationRoots ?? [], input.at);
    if (input.aaguids.length > 0 && root === undefined) {
      throw new Refusal(
        "webauthn.attestation_untrusted",
        `The authenticator's attestation (${format}) does not chain to a trusted root, so its model is not proven.`,
      );
    }
    if (input.aaguids.length > 0 && !certifiesModel(chain[0])) {
      throw new Refusal(
        "webauthn.attestation_untrusted",
        "The authenticator's attestation certificate does not name its model (no AAGUID extension), so its model is not proven.",
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
        attestationFormat: format,
        ...(root === undefined
          ? {}
          : {
              attestationRoot: {
                subject: root.subject.replace(/\n/g, ", "),
                fingerprint: root.fingerprint256,
              },
            }),
      },
    };
  });
}
