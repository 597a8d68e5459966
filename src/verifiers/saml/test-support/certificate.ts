import {
  generateKeyPairSync,
  randomBytes,
  sign,
  X509Certificate,
  type KeyObject,
} from "node:crypto";

/** A signing identity for a test peer: a key pair and a self-signed certificate for it. */
export interface TestKeyPair {
  readonly privateKeyPem: string;
  readonly certificatePem: string;
  /** The certificate as bare base64 DER, the form metadata and KeyInfo carry. */
  readonly certificateBase64: string;
}

/** The EC curves a test peer's key can be on: node's names, P-256, P-384, P-521 and one more. */
export type TestCurve = "prime256v1" | "secp384r1" | "secp521r1" | "secp256k1";

/**
 * Generates an RSA key pair and a self-signed X.509 v3 certificate with node:crypto alone:
 * node can sign but not build certificates, and no X.509 builder is a dependency, so the few
 * DER structures RFC 5280 §4.1 needs are written here.
 */
export function generateTestKeyPair(commonName: string, modulusLength = 2048): TestKeyPair {
  const pair = generateKeyPairSync("rsa", { modulusLength });
  // sha256WithRSAEncryption, its parameters NULL (RFC 4055 §5).
  const algorithm = sequence(oid("1.2.840.113549.1.1.11"), Buffer.from([0x05, 0x00]));
  return selfSigned(commonName, pair.privateKey, pair.publicKey, algorithm);
}

/** As {@link generateTestKeyPair}, an EC key pair on `namedCurve` (P-256 by default). */
export function generateTestEcKeyPair(
  commonName: string,
  namedCurve: TestCurve = "prime256v1",
): TestKeyPair {
  const pair = generateKeyPairSync("ec", { namedCurve });
  // ecdsa-with-SHA256, no parameters (RFC 5758 §3.2); the signature DER, as node makes it.
  const algorithm = sequence(oid("1.2.840.10045.4.3.2"));
  return selfSigned(commonName, pair.privateKey, pair.publicKey, algorithm);
}

function selfSigned(
  commonName: string,
  privateKey: KeyObject,
  publicKey: KeyObject,
  signatureAlgorithm: Buffer,
): TestKeyPair {
  const name = sequence(set(sequence(oid("2.5.4.3"), tlv(0x0c, Buffer.from(commonName, "utf8")))));
  const serial = randomBytes(8);
  // DER INTEGER: positive (top bit clear) and minimal (no leading zero byte). A first byte of 0
  // made one certificate in about 256 unreadable, and the tests using it fail at random.
  serial[0] = ((serial[0] ?? 0) & 0x3f) | 0x40;
  const tbs = sequence(
    tlv(0xa0, integer(Buffer.from([2]))),
    integer(serial),
    signatureAlgorithm,
    name,
    sequence(time("2020-01-01T00:00:00Z"), time("2099-12-31T23:59:59Z")),
    name,
    publicKey.export({ type: "spki", format: "der" }),
  );
  const signature = sign("sha256", tbs, privateKey);
  const der = sequence(
    tbs,
    signatureAlgorithm,
    tlv(0x03, Buffer.concat([Buffer.from([0]), signature])),
  );
  const certificateBase64 = der.toString("base64");
  const certificatePem = new X509Certificate(der).toString();
  return {
    privateKeyPem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    certificatePem,
    certificateBase64,
  };
}

function tlv(tag: number, body: Buffer): Buffer {
  const length = body.length;
  let header: number[];
  if (length < 0x80) header = [tag, length];
  else if (length < 0x100) header = [tag, 0x81, length];
  else header = [tag, 0x82, length >> 8, length & 0xff];
  return Buffer.concat([Buffer.from(header), body]);
}

function sequence(...parts: Buffer[]): Buffer {
  return tlv(0x30, Buffer.concat(parts));
}

function set(...parts: Buffer[]): Buffer {
  return tlv(0x31, Buffer.concat(parts));
}

function integer(value: Buffer): Buffer {
  return tlv(0x02, value);
}

function oid(dotted: string): Buffer {
  const [first = 0, second = 0, ...rest] = dotted.split(".").map(Number);
  const bytes = [first * 40 + second];
  for (const arc of rest) {
    const chunk = [arc & 0x7f];
    for (let v = arc >> 7; v > 0; v >>= 7) chunk.unshift((v & 0x7f) | 0x80);
    bytes.push(...chunk);
  }
  return tlv(0x06, Buffer.from(bytes));
}

/** GeneralizedTime (YYYYMMDDHHMMSSZ), valid for any year. */
function time(iso: string): Buffer {
  return tlv(0x18, Buffer.from(iso.replace(/[-:T]/g, "").replace(/\.\d+/, ""), "ascii"));
}
