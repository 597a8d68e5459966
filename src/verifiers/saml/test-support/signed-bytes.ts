import { SignedXml } from "xml-crypto";
import { vi } from "vitest";

/**
 * Makes xml-crypto report, for each signed reference whose canonical XML starts with `root`,
 * bytes rewritten by `edit`. The posted document stays the one the IdP signed, so a verifier that
 * read the posted DOM would see the IdP's values; only one reading the signed bytes sees the edit.
 */
export function rewriteSignedBytes(root: string, edit: (signed: string) => string) {
  // eslint-disable-next-line @typescript-eslint/unbound-method -- called below with its own instance
  const signedReferences = SignedXml.prototype.getSignedReferences;
  return vi.spyOn(SignedXml.prototype, "getSignedReferences").mockImplementation(function (
    this: SignedXml,
  ) {
    return signedReferences
      .call(this)
      .map((signed) => (signed.startsWith(root) ? edit(signed) : signed));
  });
}
