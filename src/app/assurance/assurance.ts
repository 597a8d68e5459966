import { authorize } from "../access/permissions.js";
import type { Application } from "../application.js";
import { AppError } from "../errors.js";
import type { SigningKeys } from "./signing-keys.js";

/**
 * The assurance-token use cases the API exposes: the public keys, and rotation by a platform
 * administrator. Without sealing keys and a signer the server issues no tokens and says so.
 */
export function assuranceUseCases(keys: SigningKeys | undefined): Application["assurance"] {
  const need = (): SigningKeys => {
    if (keys === undefined) throw new AppError("assurance.not_configured");
    return keys;
  };
  return {
    jwks: () => need().jwks(),
    publishedSigningKeys(caller) {
      authorize(caller, "signing_key.rotate");
      return need().published();
    },
    async rotateSigningKey(caller, { compromised, confirmed }) {
      authorize(caller, "signing_key.rotate");
      const kid = await need().rotate(caller.id, {
        compromised: compromised === true,
        ...(confirmed === undefined ? {} : { confirmed }),
      });
      return { kid };
    },
  };
}
