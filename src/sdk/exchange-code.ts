import {
  postJson,
  stringField,
  TenantMfaApiError,
  type TenantMfaClient,
} from "./tenant-mfa-client.js";

/** A code exchanged: the assurance token, still to be verified with `verifyAssuranceToken`. */
export interface ExchangedCode {
  readonly token: string;
  readonly tokenType: string;
  readonly expiresIn: number;
  readonly tenant: string;
  readonly principal: string;
  /** The id of the decision's receipt. */
  readonly decision: string;
}

/**
 * Exchanges the one-time `code` the browser brought back (`POST /v1/flows/exchange`), with the
 * API key that created the flow. Verify the token before trusting it: the answer's other fields
 * are for logging and routing, not proof.
 */
export async function exchangeCode(client: TenantMfaClient, code: string): Promise<ExchangedCode> {
  if (typeof code !== "string" || code.length === 0)
    throw new TenantMfaApiError("api.invalid_code", "No code to exchange.");
  const answer = await postJson(client, "v1/flows/exchange", { code }, 200);
  const expiresIn = answer.expires_in;
  if (typeof expiresIn !== "number" || !Number.isFinite(expiresIn))
    throw new TenantMfaApiError(
      "api.unexpected_response",
      "tenant-mfa's answer lacks `expires_in`.",
    );
  return {
    token: stringField(answer, "token"),
    tokenType: stringField(answer, "token_type"),
    expiresIn,
    tenant: stringField(answer, "tenant"),
    principal: stringField(answer, "principal"),
    decision: stringField(answer, "decision"),
  };
}
