import type { Random } from "../../../src/app/ports.js";
import { cryptoRandom } from "../../../src/main.js";

/**
 * The production `Random` (`cryptoRandom`), except that secrets of the scripted sizes come from
 * lists prepared in advance: the federation use case draws the OIDC nonce as `secret(24)` and
 * the SAML AuthnRequest id as `_` + `secret(20)` (the PKCE verifier is `secret(32)`), so the
 * bench knows them before the sign-ins start and the IdP's answers can be signed untimed.
 */
export class ScriptedRandom implements Random {
  readonly #scripted = new Map<number, { values: readonly string[]; next: number }>();

  /** From now on, `secret(bytes)` hands out `values` in order, and throws once they run out. */
  script(bytes: number, values: readonly string[]): void {
    this.#scripted.set(bytes, { values, next: 0 });
  }

  id(prefix: string): string {
    return cryptoRandom.id(prefix);
  }

  secret(bytes: number): string {
    const list = this.#scripted.get(bytes);
    if (list === undefined) return cryptoRandom.secret(bytes);
    const value = list.values[list.next];
    if (value === undefined) {
      throw new Error(
        `the bench prepared ${String(list.values.length)} secrets of ${String(bytes)} bytes, and a sign-in asked for one more`,
      );
    }
    list.next++;
    return value;
  }
}
