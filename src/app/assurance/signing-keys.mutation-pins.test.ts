/**
 * The assurance-token signing keys' checks, pinned where a mutation survey of src/app/assurance
 * found them unpinned: a rotation for a compromise withdrew only the keys still signing or about
 * to, as far as any test could tell; a key retired by an earlier rotation, still published for
 * the tokens it signed, could have stayed in the JWKS.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createJoseTokenSigner } from "../../tokens/jose-token-signer.js";
import { openHarness, type Harness } from "../test-support/harness.js";
import { signingKeys, type SigningKeys } from "./signing-keys.js";

describe("a rotation for a compromise", () => {
  let h: Harness;
  let keys: SigningKeys;

  beforeEach(async () => {
    h = await openHarness();
    keys = signingKeys(h.context, { signer: createJoseTokenSigner(), secrets: h.sealer });
  });
  afterEach(() => h.close());

  const published = async () => (await keys.jwks()).keys.map((key) => key.kid);

  it("withdraws from the JWKS a key already retired but still published for its tokens", async () => {
    const first = (await keys.active()).kid;
    const second = await keys.rotate("key_admin");
    h.clock.advance(60);
    // The first key signs no more, and stays published for the tokens it signed.
    expect((await published()).sort()).toEqual([first, second].sort());
    const third = await keys.rotate("key_admin", { compromised: true });
    expect(await published()).toEqual([third]);
  });
});
