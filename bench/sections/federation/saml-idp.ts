import { randomBytes } from "node:crypto";
import { inflateRawSync } from "node:zlib";
import type { SamlServiceProviderIdentity } from "../../../src/app/federation/protocols.js";
import { REFEDS_MFA, TestIdp } from "../../../src/verifiers/saml/test-support/test-idp.js";

export const SAML_IDP_ENTITY_ID = "https://idp.bench.example/saml";
export const SAML_SUBJECT = "alice@example.org";

/**
 * The tests' real samlify IdP (`TestIdp`: an RSA-2048 key and a self-signed certificate, signing
 * the Assertion with rsa-sha256), with its answers signed in advance for AuthnRequest ids known
 * beforehand, and the browser's hop from the AuthnRequest redirect to the form the IdP posts.
 */
export class PresignedSamlIdp {
  readonly idp = new TestIdp({ entityId: SAML_IDP_ENTITY_ID });
  readonly #responses = new Map<string, string>();

  /** Secrets as the application draws the request id: `_` + `secret(20)`, base64url. */
  static requestSecrets(count: number): string[] {
    return Array.from({ length: count }, () => randomBytes(20).toString("base64url"));
  }

  /**
   * Signs one response per request id (`_` + secret), issued now, for `alice@example.org` with
   * REFEDS MFA as the AuthnContextClassRef; each has its own response and assertion id. Returns
   * them in order. `onProgress` is told every 250 responses.
   */
  async presign(
    sp: SamlServiceProviderIdentity,
    spMetadataXml: string,
    secrets: readonly string[],
    onProgress?: (done: number) => void,
  ): Promise<string[]> {
    const responses: string[] = [];
    for (const secret of secrets) {
      const requestId = `_${secret}`;
      const response = await this.idp.login(sp, spMetadataXml, requestId, {
        issuedAt: new Date(),
        nameId: SAML_SUBJECT,
        authnContextClassRef: REFEDS_MFA,
      });
      this.#responses.set(requestId, response);
      responses.push(response);
      if (responses.length % 250 === 0) onProgress?.(responses.length);
    }
    return responses;
  }

  /**
   * What the browser posts back for the AuthnRequest redirect the application answered `start`
   * with: the IdP reads the request id out of the deflated `SAMLRequest` and hands out the
   * response signed for it; the browser carries `RelayState` along.
   */
  answer(location: string): { samlResponse: string; relayState: string } {
    const query = new URL(location).searchParams;
    const request = query.get("SAMLRequest");
    const relayState = query.get("RelayState");
    if (request === null || relayState === null) {
      throw new Error(`the redirect carries no SAMLRequest or RelayState: ${location}`);
    }
    const xml = inflateRawSync(Buffer.from(request, "base64")).toString("utf8");
    const id = /\sID="([^"]+)"/.exec(xml)?.[1] ?? "";
    const samlResponse = this.#responses.get(id);
    if (samlResponse === undefined) throw new Error(`no response was signed for request ${id}`);
    this.#responses.delete(id);
    return { samlResponse, relayState };
  }
}
