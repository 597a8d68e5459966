import type { RequirementSpec } from "../core/policy.js";
import type { Population } from "../core/vocabulary.js";
import {
  postJson,
  stringField,
  TenantMfaApiError,
  type TenantMfaClient,
} from "./tenant-mfa-client.js";

/** What the platform verified itself before sending the user (its own password check). */
export interface PlatformVerification {
  readonly method: "password";
  readonly source: "platform";
  /** ISO 8601. */
  readonly at: string;
}

/** A hosted flow to start for one principal. */
export interface StepUpRequest {
  readonly tenant: string;
  readonly principal: { readonly id: string; readonly population?: Population };
  /** Where the user comes back with `?code=…&state=…`: one of the tenant's registered URLs. */
  readonly returnTo: string;
  /** Echoed back beside the code: bind it to the browser's session and compare it on return. */
  readonly state?: string;
  /** More than the tenant's policy asks, for this action (e.g. `checkAssurance(...).stepUp`). */
  readonly stepUp?: RequirementSpec;
  readonly verified?: readonly PlatformVerification[];
  /** The token's `aud`; by default the id of the API key that creates the flow. */
  readonly audience?: string;
}

/** A started flow: send the browser to `url` (303) before `expiresAt`. */
export interface StepUp {
  readonly flow: string;
  readonly url: string;
  readonly expiresAt: string;
}

/**
 * Creates a hosted flow (`POST /v1/tenants/:tenant/flows`) for the principal and returns where to
 * send the browser. Throws {@link TenantMfaApiError} with the server's problem code on refusal.
 */
export async function startStepUp(
  client: TenantMfaClient,
  request: StepUpRequest,
): Promise<StepUp> {
  // A dot segment would leave the flow path (`v1/tenants/../flows` is `v1/flows`, escaped or
  // not), taking the API key elsewhere; no tenant id is one, nor empty.
  if (typeof request.tenant !== "string" || ["", ".", ".."].includes(request.tenant))
    throw new TenantMfaApiError("api.invalid_tenant", "No tenant to start a flow in.");
  const body = {
    principal: request.principal,
    return_to: request.returnTo,
    ...(request.state === undefined ? {} : { state: request.state }),
    ...(request.stepUp === undefined ? {} : { step_up: request.stepUp }),
    ...(request.verified === undefined ? {} : { verified: request.verified }),
    ...(request.audience === undefined ? {} : { audience: request.audience }),
  };
  const answer = await postJson(
    client,
    `v1/tenants/${encodeURIComponent(request.tenant)}/flows`,
    body,
    201,
  );
  const url = stringField(answer, "url");
  // The browser is sent there: never to a script or data URL, whatever the answer says.
  if (!/^https?:\/\//i.test(url))
    throw new TenantMfaApiError("api.unexpected_response", "tenant-mfa's flow URL is not http(s).");
  return { flow: stringField(answer, "flow"), url, expiresAt: stringField(answer, "expires_at") };
}
