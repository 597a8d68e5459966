import type { OidcIdpSettings } from "../../app/federation/protocols.js";
import type { ProviderMetadata } from "./discovery.js";
import { fetchJson, type FetchLike } from "./fetch-json.js";
import { accept, describeUntrusted, isPlainObject, reject, type OidcOutcome } from "./rejection.js";

export interface CodeExchange {
  readonly code: string;
  readonly redirectUri: string;
  readonly codeVerifier: string;
}

/**
 * The token request of the code flow (OIDC Core §3.1.3.1), authenticated with the client secret
 * as the IdP's discovery document allows: HTTP Basic when offered (the default of OIDC
 * Discovery §3), else in the form body. Returns the ID token, unverified.
 */
export async function requestIdToken(
  fetchImpl: FetchLike,
  timeoutMs: number,
  metadata: ProviderMetadata,
  idp: OidcIdpSettings,
  exchange: CodeExchange,
): Promise<OidcOutcome<string>> {
  const form = new URLSearchParams({
    grant_type: "authorization_code",
    code: exchange.code,
    redirect_uri: exchange.redirectUri,
    code_verifier: exchange.codeVerifier,
  });
  const headers: Record<string, string> = {
    "content-type": "application/x-www-form-urlencoded",
  };
  const methods = metadata.tokenEndpointAuthMethods;
  if (methods.includes("client_secret_basic")) {
    // RFC 6749 §2.3.1: form-encode the id and the secret before joining them.
    const credentials = `${formEncode(idp.clientId)}:${formEncode(idp.clientSecret)}`;
    headers.authorization = `Basic ${Buffer.from(credentials).toString("base64")}`;
  } else if (methods.includes("client_secret_post")) {
    form.set("client_id", idp.clientId);
    form.set("client_secret", idp.clientSecret);
  } else {
    return reject(
      "oidc.token_request_failed",
      "the IdP offers neither client_secret_basic nor client_secret_post",
    );
  }

  const answer = await fetchJson(
    fetchImpl,
    metadata.tokenEndpoint,
    { method: "POST", headers, body: form.toString() },
    timeoutMs,
  );
  if (!answer.ok) return reject("oidc.token_request_failed", `token endpoint ${answer.reason}`);
  if (answer.status !== 200) {
    // RFC 6749 §5.2: the error code is safe to record; the description is IdP prose, left out.
    const error = isPlainObject(answer.body) ? answer.body.error : undefined;
    return reject(
      "oidc.token_request_failed",
      `token endpoint answered ${answer.status}` +
        (error === undefined ? "" : ` (${describeUntrusted(error)})`),
    );
  }
  if (!isPlainObject(answer.body) || typeof answer.body.id_token !== "string") {
    return reject("oidc.id_token_missing", "the token response has no id_token");
  }
  return accept(answer.body.id_token);
}

function formEncode(value: string): string {
  return new URLSearchParams({ v: value }).toString().slice(2);
}
