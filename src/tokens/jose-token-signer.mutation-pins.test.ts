/**
 * The jose signer's own checks, pinned where a mutation survey of src/tokens found them
 * unpinned (the area had no tests of its own; assurance tokens and audit checkpoints reached it
 * only through their services). Each test fails with its mutant applied: the header's typ
 * required (without it an assurance token came back as claims when a checkpoint was asked for;
 * only the checkpoint's own claim checks then refused it), the key chosen by the header's kid (the first key of the list verified any token), the key's algorithm required of
 * the header, a payload that is not an object refused, and the imported-key cache found by the
 * whole key, not its kid.
 */
import { CompactSign, exportJWK, generateKeyPair } from "jose";
import { describe, expect, it } from "vitest";
import type { PublicSigningKey, SigningAlgorithm } from "../app/assurance/token-signer.js";
import { createJoseTokenSigner } from "./jose-token-signer.js";

const TYPE = "tenant-mfa-assurance+jwt";
const claims = { iss: "https://mfa.test", sub: "alice" };

const keyOf = async (kid: string, alg: SigningAlgorithm = "ES256") => {
  const generated = await createJoseTokenSigner().generateKey(alg);
  const signing = { kid, alg, privateJwk: generated.privateJwk };
  const published: PublicSigningKey = { kid, alg, publicJwk: generated.publicJwk };
  return { signing, published };
};

describe("the jose signer verifies with the key the header names, as that key says", () => {
  it("verifies a token of the second key listed, and refuses one naming no listed key though the first signed it", async () => {
    const signer = createJoseTokenSigner();
    const first = await keyOf("key_1");
    const second = await keyOf("key_2");
    const keys = [first.published, second.published];
    const bySecond = await signer.sign(claims, second.signing, TYPE);
    expect(await signer.verify(bySecond, keys, TYPE)).toEqual(claims);
    const unlisted = await signer.sign(claims, { ...first.signing, kid: "key_9" }, TYPE);
    expect(await signer.verify(unlisted, keys, TYPE)).toBeUndefined();
    expect(await signer.verify(unlisted, [{ ...first.published, kid: "key_9" }], TYPE)).toEqual(
      claims,
    );
  });

  it("refuses a header naming another algorithm than the key's, even one the key could verify (Ed25519 for an EdDSA key)", async () => {
    const signer = createJoseTokenSigner();
    const { publicKey, privateKey } = await generateKeyPair("Ed25519", { extractable: true });
    const published: PublicSigningKey = {
      kid: "key_ed",
      alg: "EdDSA",
      publicJwk: (await exportJWK(publicKey)) as PublicSigningKey["publicJwk"],
    };
    const sign = (alg: string) =>
      new CompactSign(new TextEncoder().encode(JSON.stringify(claims)))
        .setProtectedHeader({ alg, kid: "key_ed", typ: TYPE })
        .sign(privateKey);
    expect(await signer.verify(await sign("EdDSA"), [published], TYPE)).toEqual(claims);
    expect(await signer.verify(await sign("Ed25519"), [published], TYPE)).toBeUndefined();
  });

  it("refuses a token of another typ, though the key named signed it", async () => {
    const signer = createJoseTokenSigner();
    const key = await keyOf("key_1");
    const token = await signer.sign(claims, key.signing, "tenant-mfa-audit-checkpoint+jwt");
    expect(await signer.verify(token, [key.published], TYPE)).toBeUndefined();
    expect(await signer.verify(token, [key.published], "tenant-mfa-audit-checkpoint+jwt")).toEqual(
      claims,
    );
  });

  it("refuses a signed payload that is not a JSON object", async () => {
    const signer = createJoseTokenSigner();
    const key = await keyOf("key_1");
    const { importJWK } = await import("jose");
    const privateKey = await importJWK(JSON.parse(key.signing.privateJwk) as object, "ES256");
    for (const payload of ["[1,2]", "7", '"text"', "null"]) {
      const token = await new CompactSign(new TextEncoder().encode(payload))
        .setProtectedHeader({ alg: "ES256", kid: "key_1", typ: TYPE })
        .sign(privateKey);
      expect(await signer.verify(token, [key.published], TYPE)).toBeUndefined();
    }
  });
});

describe("the jose signer signs with the key it is handed", () => {
  it("signs with a second key of the same kid (another store's) with that key, not the first one imported", async () => {
    const signer = createJoseTokenSigner();
    const a = await keyOf("key_1");
    const b = await keyOf("key_1");
    await signer.sign(claims, a.signing, TYPE);
    const byB = await signer.sign(claims, b.signing, TYPE);
    expect(await signer.verify(byB, [b.published], TYPE)).toEqual(claims);
    expect(await signer.verify(byB, [a.published], TYPE)).toBeUndefined();
  });
});
