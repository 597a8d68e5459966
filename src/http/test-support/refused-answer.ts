/**
 * What every test of a refused IdP answer checks: the answer is a 400 `federation.rejected`
 * problem for its reason, audited as such, and nothing was decided.
 */
import type { LightMyRequestResponse } from "fastify";
import { expect } from "vitest";
import { auditOf, type FederationServer } from "./oidc-federation.js";

/**
 * Runs `answer` and expects a 400 `federation.rejected` problem for `reason`, without a redirect,
 * one `federation.rejected` event of IdP "corp" for it (with `detail`, when given) in `tenant`'s
 * chain, read with `auditor`, and no `decision.recorded` since.
 */
export async function expectRefusedAnswer(
  t: FederationServer,
  auditor: string,
  tenant: string,
  answer: () => Promise<LightMyRequestResponse>,
  reason: string,
  detail?: string,
): Promise<void> {
  const decided = (await auditOf(t, auditor, tenant, "decision.recorded")).length;
  const refused = (await auditOf(t, auditor, tenant, "federation.rejected")).length;
  const response = await answer();
  expect(response.statusCode, response.body).toBe(400);
  expect(response.json(), response.body).toMatchObject({
    code: "federation.rejected",
    details: { reason },
  });
  expect(response.headers.location).toBeUndefined();
  const events = (await auditOf(t, auditor, tenant, "federation.rejected")).slice(refused);
  expect(events.map((event) => event.payload)).toMatchObject([
    { idp: "corp", reason, ...(detail === undefined ? {} : { detail }) },
  ]);
  expect(await auditOf(t, auditor, tenant, "decision.recorded")).toHaveLength(decided);
}
