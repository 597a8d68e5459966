import type { Application, Caller, PolicyInput } from "../application.js";

/**
 * Replaces `tenant`'s policy with `policy` as `admin`, at whatever version is current: the one
 * step most tests take before the behaviour they look at.
 */
export async function replacePolicy(
  h: { readonly app: Application; readonly admin: Caller },
  tenant: string,
  policy: PolicyInput,
  rationale = "test policy",
): Promise<void> {
  const { record } = await h.app.policies.current(h.admin, tenant);
  await h.app.policies.replace(h.admin, tenant, { policy, rationale, ifMatch: record.version });
}
