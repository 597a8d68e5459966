import {
  createHash,
  generateKeyPairSync,
  randomBytes,
  randomUUID,
  sign,
  type KeyObject,
} from "node:crypto";
import { isoCBOR } from "@simplewebauthn/server/helpers";
import type { AttestationSigner } from "./attestation-ca.js";

/**
 * A software authenticator for tests: it does what a FIDO2 authenticator and its browser do
 * (WebAuthn §6.1, §6.3.2, §6.3.3, §5.8.1): real key pairs from node:crypto, authenticator data
 * with flags and a signature counter, the credential public key in COSE, the attestation object
 * in CBOR (`none`, or `packed` self-attestation), client data JSON, and a signature over
 * authData ‖ SHA-256(clientDataJSON). Every step has a knob, so that attack tests can make it
 * lie exactly where an attacker, a cloned key or a broken client would.
 */

/** COSE algorithms it can make keys for: -35 (ES384) is one the server never requests. */
export type SoftAlgorithm = -7 | -8 | -35 | -257;

/** One credential the authenticator holds. */
export interface SoftCredential {
  readonly id: string;
  readonly rpId: string;
  readonly algorithm: SoftAlgorithm;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly userHandle: string;
  signCount: number;
  backupEligible: boolean;
  backupState: boolean;
}

/** What a ceremony may be made to do differently from an honest authenticator and browser. */
export interface Knobs {
  readonly origin?: string;
  readonly type?: string;
  readonly challenge?: string;
  readonly crossOrigin?: boolean;
  readonly topOrigin?: string;
  /** The RP id whose hash goes into the authenticator data (default: the options' RP id). */
  readonly rpId?: string;
  readonly up?: boolean;
  readonly uv?: boolean;
  readonly be?: boolean;
  readonly bs?: boolean;
  /** The counter to report instead of the next one (a clone, or a reset). */
  readonly signCount?: number;
  /**
   * Authentication: use this credential whatever `allowCredentials` says. Registration: give the
   * new credential this id (a credential id registered elsewhere already).
   */
  readonly credentialId?: string;
  /** Edits the client data JSON after it was signed over. */
  readonly tamperClientData?: (json: string) => string;
  /** Edits the authenticator data after it was signed over. */
  readonly tamperAuthData?: (bytes: Buffer) => void;
  /** Sends a signature by another key. */
  readonly bogusSignature?: boolean;
}

/** Options as the server's options JSON carries them (only the fields used). */
interface CreationOptions {
  readonly challenge: string;
  readonly rp: { readonly id?: string; readonly name: string };
  readonly user: { readonly id: string };
  readonly pubKeyCredParams?: readonly { alg: number }[];
  readonly attestation?: string;
}

interface RequestOptions {
  readonly challenge: string;
  readonly rpId?: string;
  readonly allowCredentials?: readonly { id: string }[];
}

/** The authenticator's settings. */
export interface SoftAuthenticatorOptions {
  readonly origin: string;
  readonly algorithm?: SoftAlgorithm;
  readonly aaguid?: string;
  readonly backupEligible?: boolean;
  readonly backupState?: boolean;
  /** Counter to start new credentials at; 0 (no counter, like most passkeys) by default. */
  readonly initialSignCount?: number;
  /** How much the counter grows per assertion; 0 keeps it at 0/0. */
  readonly counterStep?: number;
  /**
   * `none`; `packed-self` (signed by the credential's own key, proving no model); or a vendor's
   * batch key and certificates (`AttestationVendor.batch`): packed full attestation with `x5c`.
   */
  readonly attestation?:
    | "none"
    | "packed-self"
    | AttestationSigner
    | { readonly format: string; readonly signer: AttestationSigner };
  readonly transports?: readonly string[];
}

const b64url = (bytes: Uint8Array | string) => Buffer.from(bytes).toString("base64url");

export class SoftAuthenticator {
  readonly credentials = new Map<string, SoftCredential>();
  readonly aaguid: string;
  readonly #options: SoftAuthenticatorOptions;

  constructor(options: SoftAuthenticatorOptions) {
    this.#options = options;
    this.aaguid = options.aaguid ?? "00000000-0000-0000-0000-000000000000";
  }

  /** A new random AAGUID, for tests of model allow-lists. */
  static randomAaguid(): string {
    return randomUUID();
  }

  /** `navigator.credentials.create()`: a new credential and its registration response JSON. */
  register(options: unknown, knobs: Knobs = {}): Record<string, unknown> {
    const o = options as CreationOptions;
    const rpId = o.rp.id ?? new URL(this.#options.origin).hostname;
    const algorithm = this.#options.algorithm ?? -7;
    const { privateKey, publicKey } = keyPair(algorithm);
    const credential: SoftCredential = {
      id: knobs.credentialId ?? b64url(randomBytes(32)),
      rpId,
      algorithm,
      privateKey,
      publicKey,
      userHandle: o.user.id,
      signCount: this.#options.initialSignCount ?? 0,
      backupEligible: this.#options.backupEligible ?? false,
      backupState: this.#options.backupState ?? false,
    };
    this.credentials.set(credential.id, credential);
    const clientDataJSON = this.#clientData("webauthn.create", o.challenge, knobs);
    const idBytes = Buffer.from(credential.id, "base64url");
    const attested = Buffer.concat([
      Buffer.from(this.aaguid.replace(/-/g, ""), "hex"),
      Buffer.from([idBytes.length >> 8, idBytes.length & 0xff]),
      idBytes,
      coseKey(algorithm, publicKey),
    ]);
    const authData = this.#authData(credential, knobs, credential.signCount, attested);
    let attStmt = new Map<string, Uint8Array | number>();
    let fmt = "none";
    const attestation = this.#options.attestation;
    if (attestation !== undefined && attestation !== "none") {
      const clientHash = createHash("sha256").update(clientDataJSON).digest();
      const signed = Buffer.concat([authData, clientHash]);
      if (attestation === "packed-self") {
        fmt = "packed";
        attStmt = new Map<string, Uint8Array | number>([
          ["alg", algorithm],
          ["sig", signWith(credential, signed)],
        ]);
      } else {
        // A packed full attestation, or another format's name on the same statement.
        const signer = "format" in attestation ? attestation.signer : attestation;
        fmt = "format" in attestation ? attestation.format : "packed";
        attStmt = new Map<string, Uint8Array | number | Uint8Array[]>([
          ["alg", -7],
          ["sig", signWith({ algorithm: -7, privateKey: signer.privateKey }, signed)],
          ["x5c", [...signer.x5c]],
        ]) as Map<string, Uint8Array | number>;
      }
    }
    knobs.tamperAuthData?.(authData);
    const attestationObject = isoCBOR.encode(
      new Map<string, string | Uint8Array | Map<string, Uint8Array | number>>([
        ["fmt", fmt],
        ["attStmt", attStmt],
        ["authData", authData],
      ]),
    );
    return {
      id: credential.id,
      rawId: credential.id,
      type: "public-key",
      response: {
        clientDataJSON: b64url(knobs.tamperClientData?.(clientDataJSON) ?? clientDataJSON),
        attestationObject: b64url(attestationObject),
        transports: [...(this.#options.transports ?? ["internal"])],
        publicKeyAlgorithm: algorithm,
      },
      clientExtensionResults: {},
      authenticatorAttachment: "platform",
    };
  }

  /** `navigator.credentials.get()`: an assertion by an allowed credential (or the one named). */
  authenticate(options: unknown, knobs: Knobs = {}): Record<string, unknown> {
    const o = options as RequestOptions;
    const allowed = (o.allowCredentials ?? []).map((c) => c.id);
    const id =
      knobs.credentialId ??
      [...this.credentials.keys()].find((c) => allowed.length === 0 || allowed.includes(c));
    const credential = id === undefined ? undefined : this.credentials.get(id);
    if (credential === undefined) throw new Error("NotAllowedError: no credential for this RP");
    const step = this.#options.counterStep ?? (credential.signCount > 0 ? 1 : 0);
    const next = knobs.signCount ?? credential.signCount + step;
    credential.signCount = Math.max(credential.signCount, next);
    const clientDataJSON = this.#clientData("webauthn.get", o.challenge, knobs);
    const authData = this.#authData(credential, knobs, next);
    const clientHash = createHash("sha256").update(clientDataJSON).digest();
    const signed = Buffer.concat([authData, clientHash]);
    const signature = knobs.bogusSignature
      ? signWith({ ...credential, ...keyPair(credential.algorithm) }, signed)
      : signWith(credential, signed);
    knobs.tamperAuthData?.(authData);
    return {
      id: credential.id,
      rawId: credential.id,
      type: "public-key",
      response: {
        clientDataJSON: b64url(knobs.tamperClientData?.(clientDataJSON) ?? clientDataJSON),
        authenticatorData: b64url(authData),
        signature: b64url(signature),
        userHandle: credential.userHandle,
      },
      clientExtensionResults: {},
      authenticatorAttachment: "platform",
    };
  }

  #clientData(type: string, challenge: string, knobs: Knobs): string {
    // Key order as browsers write it (WebAuthn §5.8.1.2).
    return JSON.stringify({
      type: knobs.type ?? type,
      challenge: knobs.challenge ?? challenge,
      origin: knobs.origin ?? this.#options.origin,
      crossOrigin: knobs.crossOrigin ?? false,
      ...(knobs.topOrigin === undefined ? {} : { topOrigin: knobs.topOrigin }),
    });
  }

  #authData(
    credential: SoftCredential,
    knobs: Knobs,
    signCount: number,
    attested?: Buffer,
  ): Buffer {
    const rpIdHash = createHash("sha256")
      .update(knobs.rpId ?? credential.rpId)
      .digest();
    const flags =
      ((knobs.up ?? true) ? 0x01 : 0) |
      ((knobs.uv ?? true) ? 0x04 : 0) |
      ((knobs.be ?? credential.backupEligible) ? 0x08 : 0) |
      ((knobs.bs ?? credential.backupState) ? 0x10 : 0) |
      (attested === undefined ? 0 : 0x40);
    const counter = Buffer.alloc(4);
    counter.writeUInt32BE(signCount);
    return Buffer.concat([rpIdHash, Buffer.from([flags]), counter, attested ?? Buffer.alloc(0)]);
  }
}

function keyPair(algorithm: SoftAlgorithm): { privateKey: KeyObject; publicKey: KeyObject } {
  switch (algorithm) {
    case -7:
      return generateKeyPairSync("ec", { namedCurve: "P-256" });
    case -35:
      return generateKeyPairSync("ec", { namedCurve: "P-384" });
    case -8:
      return generateKeyPairSync("ed25519");
    case -257:
      return generateKeyPairSync("rsa", { modulusLength: 2048 });
  }
}

/** The public key as a COSE_Key (RFC 9052 §7, RFC 9053): what WebAuthn stores in authData. */
function coseKey(algorithm: SoftAlgorithm, publicKey: KeyObject): Uint8Array {
  const jwk = publicKey.export({ format: "jwk" });
  const bytes = (value: string | undefined) => Buffer.from(value ?? "", "base64url");
  const key = new Map<number, number | Uint8Array>([[3, algorithm]]);
  if (algorithm === -7 || algorithm === -35) {
    key.set(1, 2);
    key.set(-1, algorithm === -7 ? 1 : 2);
    key.set(-2, bytes(jwk.x));
    key.set(-3, bytes(jwk.y));
  } else if (algorithm === -8) {
    key.set(1, 1);
    key.set(-1, 6);
    key.set(-2, bytes(jwk.x));
  } else {
    key.set(1, 3);
    key.set(-1, bytes(jwk.n));
    key.set(-2, bytes(jwk.e));
  }
  return isoCBOR.encode(key);
}

function signWith(credential: Pick<SoftCredential, "algorithm" | "privateKey">, data: Buffer) {
  switch (credential.algorithm) {
    case -8:
      return sign(null, data, credential.privateKey);
    case -35:
      return sign("sha384", data, credential.privateKey);
    default:
      // ECDSA signatures in ASN.1 DER, as WebAuthn §6.5.6 asks; RSA PKCS#1 v1.5.
      return sign("sha256", data, credential.privateKey);
  }
}
