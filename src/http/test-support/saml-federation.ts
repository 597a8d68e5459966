/**
 * SAML sign-in through the HTTP server against the real samlify IdP of
 * `src/verifiers/saml/test-support/test-idp.ts`: a tenant set up through the admin API as a
 * tenant administrator would, with the IdP registered from its own metadata.
 */
import type { LightMyRequestResponse } from "fastify";
import type { RequirementSpec } from "../../core/policy.js";
import type { Posture } from "../../core/vocabulary.js";
import type {
  LoginOptions,
  ResponseShapeOptions,
  TestIdp,
} from "../../verifiers/saml/test-support/test-idp.js";
import { cookieOf } from "./browser-cookie.js";
import type { TestServer } from "./open-test-server.js";

/** The response, when its status is `status`; otherwise fails with the body. */
export function must(response: LightMyRequestResponse, status: number): LightMyRequestResponse {
  if (response.statusCode !== status) {
    throw new Error(
      `expected ${String(status)}, got ${String(response.statusCode)}: ${response.body}`,
    );
  }
  return response;
}

/**
 * A browser posting the IdP's answer to `tenant`'s `idp` ACS, as the IdP's auto-submitting form
 * does (HTTP-POST binding), with `relayState` when the sign-in has one.
 */
export function postToAcs(
  t: TestServer,
  samlResponse: string,
  relayState: string | null | undefined,
  {
    tenant = "acme",
    idp = "corp",
    headers = {},
  }: { tenant?: string; idp?: string; headers?: Record<string, string> } = {},
): Promise<LightMyRequestResponse> {
  return t.call("POST", `/t/${tenant}/idps/${idp}/saml/acs`, {
    body: new URLSearchParams({
      SAMLResponse: samlResponse,
      RelayState: relayState ?? "",
    }).toString(),
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
  });
}

export interface SamlTenantOptions {
  readonly posture: Posture;
  readonly returnUrls: readonly string[];
  /** The tenant policy's own requirement, beside its posture. */
  readonly require?: RequirementSpec;
  /** Whether IdP-initiated (unsolicited) answers are accepted. Default false. */
  readonly allowUnsolicited?: boolean;
}

/** Creates `tenant`, gives it a policy (version 2) and registers `idp` as its SAML IdP `corp`. */
export async function registerSamlTenant(
  t: Pick<TestServer, "call" | "adminKey">,
  idp: TestIdp,
  tenant: string,
  options: SamlTenantOptions,
): Promise<void> {
  must(
    await t.call("POST", "/v1/tenants", {
      key: t.adminKey,
      body: { id: tenant, name: tenant, returnUrls: options.returnUrls },
    }),
    201,
  );
  must(
    await t.call("PUT", `/v1/tenants/${tenant}/policy`, {
      key: t.adminKey,
      headers: { "if-match": '"1"' },
      body: {
        policy: {
          posture: options.posture,
          ...(options.require === undefined ? {} : { require: options.require }),
        },
        rationale: "Sign-in at the organisation's IdP",
      },
    }),
    200,
  );
  must(
    await t.call("PUT", `/v1/tenants/${tenant}/idps/corp`, {
      key: t.adminKey,
      body: {
        protocol: "saml",
        saml: {
          metadataXml: idp.metadataXml(),
          allowUnsolicited: options.allowUnsolicited ?? false,
        },
      },
    }),
    201,
  );
}

/**
 * What a browser does after posting an answer to the ACS: the ACS holds a direct sign-in's
 * verified answer and redirects (303) to its same-origin completion, which the browser follows
 * with its cookie (`cookie`, a `Cookie` header value; "" for none) and `headers`. Any other
 * response (a refusal, an unsolicited answer decided at once) is returned as it is.
 */
export async function followCompletion(
  t: TestServer,
  acs: LightMyRequestResponse,
  cookie: string,
  headers: Record<string, string> = {},
): Promise<LightMyRequestResponse> {
  const location = acs.headers.location;
  if (acs.statusCode !== 303 || typeof location !== "string") return acs;
  const url = new URL(location);
  if (!url.pathname.endsWith("/saml/complete")) return acs;
  return t.call("GET", `${url.pathname}${url.search}`, {
    headers: { ...headers, ...(cookie === "" ? {} : { cookie }) },
  });
}

/**
 * A direct sign-in at `tenant`'s SAML IdP `corp`, started in a new browser for `returnTo`, and
 * the IdP's signed answer (`login`: at the test clock's now, by default with no name or context)
 * posted to the ACS: the ACS's response (a redirect to the completion, for an answer it holds)
 * and the starting browser's cookie, a `Cookie` header value. `shape` is what the IdP signs;
 * `edit` changes the signed answer (base64) before it is posted, as an attacker holding it would.
 * `principal` is the start's `principal` hint; `headers` go with the post (an `accept`, say).
 */
export async function answerAtAcs(
  t: TestServer,
  idp: TestIdp,
  returnTo: string,
  login: Omit<LoginOptions, "issuedAt">,
  tenant = "acme",
  {
    shape = {},
    edit = (samlResponse) => samlResponse,
    principal,
    headers,
  }: {
    readonly shape?: ResponseShapeOptions;
    readonly edit?: (samlResponse: string) => string;
    readonly principal?: string;
    readonly headers?: Record<string, string>;
  } = {},
): Promise<{ readonly acs: LightMyRequestResponse; readonly cookie: string }> {
  const base = `/t/${tenant}/idps/corp`;
  const hint = principal === undefined ? "" : `&principal=${encodeURIComponent(principal)}`;
  const started = must(
    await t.call("GET", `${base}/start?return_to=${encodeURIComponent(returnTo)}${hint}`),
    303,
  );
  const metadata = must(await t.call("GET", `${base}/saml/metadata`), 200).body;
  const request = await idp.receiveAuthnRequest(metadata, String(started.headers.location));
  const samlResponse = await idp.login(
    {
      entityId: `https://mfa.test${base}/saml/metadata`,
      acsUrl: `https://mfa.test${base}/saml/acs`,
    },
    metadata,
    request.id,
    { issuedAt: t.clock.now(), ...login },
    shape,
  );
  const acs = await postToAcs(t, edit(samlResponse), request.relayState, {
    tenant,
    ...(headers === undefined ? {} : { headers }),
  });
  return { acs, cookie: cookieOf(started) };
}
