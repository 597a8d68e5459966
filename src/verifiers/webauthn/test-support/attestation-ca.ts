import "reflect-metadata";
import { KeyObject, webcrypto } from "node:crypto";
import * as x509 from "@peculiar/x509";

/**
 * A test authenticator vendor: an attestation root, optionally an intermediate, and batch
 * certificates for authenticator models, as a real vendor's PKI hands them out (WebAuthn §8.2.1
 * packed attestation certificate requirements). Real X.509 made with `@peculiar/x509` over
 * WebCrypto, so that the verifier's chain checks run on real certificates.
 *
 * @module
 */

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

const EC = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;

/** FIDO's id-fido-gen-ce-aaguid: the model a batch certificate is for. */
const AAGUID_OID = "1.3.6.1.4.1.45724.1.1.4";

/** Validity wide enough for every fixed clock the tests use and for the library's wall clock. */
const WIDE = {
  notBefore: new Date("2000-01-01T00:00:00Z"),
  notAfter: new Date("2099-12-31T00:00:00Z"),
};

/** The key and certificates an attestation is signed with: the leaf first, as in `x5c`. */
export interface AttestationSigner {
  readonly privateKey: KeyObject;
  readonly x5c: readonly Uint8Array[];
}

export interface Validity {
  readonly notBefore: Date;
  readonly notAfter: Date;
}

export interface BatchOptions {
  readonly aaguid: string;
  /** Leave out the AAGUID extension (it is optional in WebAuthn §8.2.1). */
  readonly withoutAaguidExtension?: boolean;
  readonly validity?: Validity;
  /** Issue through an intermediate CA (its validity given here, or wide). */
  readonly intermediate?: Validity | true;
  /** The intermediate, if any, without the CA flag (a leaf pretending to be a CA). */
  readonly intermediateNotCa?: boolean;
  /** A CRL distribution point named in every certificate issued (where a verifier may fetch). */
  readonly crlUrl?: string;
}

const generateKeys = () =>
  webcrypto.subtle.generateKey(EC, true, ["sign", "verify"]) as Promise<CryptoKeyPair>;

const der = (cert: x509.X509Certificate) => new Uint8Array(cert.rawData);

function aaguidExtension(aaguid: string): x509.Extension {
  // An OCTET STRING (0x04, length 16) holding the AAGUID's bytes, inside the extension's own.
  const value = Buffer.concat([
    Buffer.from([0x04, 0x10]),
    Buffer.from(aaguid.replace(/-/g, ""), "hex"),
  ]);
  return new x509.Extension(AAGUID_OID, false, value);
}

function crlExtension(url: string | undefined, which: string): x509.Extension[] {
  return url === undefined
    ? []
    : [new x509.CRLDistributionPointsExtension([`${url}/${which}.crl`])];
}

/** A vendor whose root certificate (PEM) an operator would list in `webauthn.attestationRoots`. */
export class AttestationVendor {
  readonly name: string;
  readonly rootPem: string;
  readonly #root: x509.X509Certificate;
  readonly #keys: CryptoKeyPair;

  private constructor(name: string, root: x509.X509Certificate, keys: CryptoKeyPair) {
    this.name = name;
    this.#root = root;
    this.#keys = keys;
    this.rootPem = root.toString("pem");
  }

  /** A new vendor with a self-signed root CA, valid from `validity` (wide by default). */
  static async create(name = "Test Vendor", validity: Validity = WIDE): Promise<AttestationVendor> {
    const keys = await generateKeys();
    const root = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: "01",
      name: `C=US, O=${name}, CN=${name} Attestation Root`,
      ...validity,
      keys,
      signingAlgorithm: EC,
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true),
      ],
    });
    return new AttestationVendor(name, root, keys);
  }

  /** A batch certificate for a model and its key, chained to this vendor's root. */
  async batch(options: BatchOptions): Promise<AttestationSigner> {
    let issuer = this.#root;
    let issuerKey = this.#keys.privateKey;
    const chain: x509.X509Certificate[] = [];
    if (options.intermediate !== undefined) {
      const keys = await generateKeys();
      const validity = options.intermediate === true ? WIDE : options.intermediate;
      const intermediate = await x509.X509CertificateGenerator.create({
        serialNumber: "02",
        subject: `C=US, O=${this.name}, CN=${this.name} Attestation CA 1`,
        issuer: issuer.subject,
        ...validity,
        publicKey: keys.publicKey,
        signingKey: issuerKey,
        signingAlgorithm: EC,
        extensions: [
          new x509.BasicConstraintsExtension(options.intermediateNotCa !== true, undefined, true),
          ...crlExtension(options.crlUrl, "intermediate"),
        ],
      });
      chain.push(intermediate);
      issuer = intermediate;
      issuerKey = keys.privateKey;
    }
    const keys = await generateKeys();
    const leaf = await x509.X509CertificateGenerator.create({
      serialNumber: "03",
      subject: `C=US, O=${this.name}, OU=Authenticator Attestation, CN=${this.name} Batch`,
      issuer: issuer.subject,
      ...(options.validity ?? WIDE),
      publicKey: keys.publicKey,
      signingKey: issuerKey,
      signingAlgorithm: EC,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        ...(options.withoutAaguidExtension === true ? [] : [aaguidExtension(options.aaguid)]),
        ...crlExtension(options.crlUrl, "leaf"),
      ],
    });
    return {
      privateKey: KeyObject.from(keys.privateKey),
      x5c: [der(leaf), ...chain.reverse().map(der)],
    };
  }
}
