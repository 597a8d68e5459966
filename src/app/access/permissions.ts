import { AppError } from "../errors.js";
import type { Caller } from "../application.js";
import type { Role } from "../records.js";

/**
 * Which roles may do what: the one table every use case checks against (DESIGN invariant 5).
 * `platform_service` requests decisions and acts for principals on their authenticators, and
 * holds no administrative right.
 */
export const PERMISSIONS = {
  "mandate.write": ["platform_admin"],
  "mandate.read": ["platform_admin"],
  "tenant.create": ["platform_admin"],
  "tenant.list": ["platform_admin"],
  "tenant.read": ["platform_admin", "tenant_admin", "exemption_approver", "tenant_auditor"],
  "tenant.configure": ["platform_admin", "tenant_admin"],
  "api_key.manage": ["platform_admin"],
  "idp.read": ["platform_admin", "tenant_admin", "tenant_auditor"],
  "idp.write": ["platform_admin", "tenant_admin"],
  "policy.read": ["platform_admin", "tenant_admin", "exemption_approver", "tenant_auditor"],
  "policy.write": ["platform_admin", "tenant_admin"],
  "principal.read": ["platform_admin", "tenant_admin", "exemption_approver", "tenant_auditor"],
  "principal.write": ["platform_admin", "tenant_admin"],
  "exemption.read": ["platform_admin", "tenant_admin", "exemption_approver", "tenant_auditor"],
  "exemption.request": ["platform_admin", "tenant_admin"],
  "exemption.decide": ["platform_admin", "exemption_approver"],
  "exemption.revoke": ["platform_admin", "tenant_admin", "exemption_approver"],
  "decision.create": ["platform_service"],
  "flow.create": ["platform_service"],
  "flow.exchange": ["platform_service"],
  "receipt.read": ["platform_admin", "tenant_admin", "tenant_auditor"],
  "audit.read": ["platform_admin", "tenant_admin", "tenant_auditor"],
  "audit.verify_all": ["platform_admin"],
  // A report counts decisions as the receipts and audit log do: the readers of those.
  "report.read": ["platform_admin", "tenant_admin", "tenant_auditor"],
  // The platform chain (mandates, tenants' creation, API keys, signing keys) names every tenant
  // and every key's holder and tenants: a tenant-scoped role reading it would learn what its
  // 404s keep from it (invariant 5). A tenant's auditor gets it from a platform administrator,
  // export and checkpoint, and checks both without the service.
  "audit.read_platform": ["platform_admin"],
  "authenticator.read": ["platform_admin", "tenant_admin", "platform_service"],
  "authenticator.enrol": ["platform_service"],
  "authenticator.verify": ["platform_service"],
  "authenticator.remove": ["platform_admin", "tenant_admin", "platform_service"],
  "signing_key.rotate": ["platform_admin"],
  "authenticator.unlock": ["platform_admin", "tenant_admin"],
} as const satisfies Record<string, readonly Role[]>;

/** An action guarded by {@link PERMISSIONS}. */
export type Action = keyof typeof PERMISSIONS;

/** True when the caller may act in `tenant` at all. */
export function reaches(caller: Caller, tenant: string): boolean {
  return caller.tenants === "all" || caller.tenants.includes(tenant);
}

/**
 * Throws unless the caller holds a role allowed to do `action`, in `tenant` when one is given.
 * A tenant the caller cannot reach answers `not_found`, so its existence does not leak; a
 * reachable tenant without the role answers `auth.forbidden`.
 */
export function authorize(caller: Caller, action: Action, tenant?: string): void {
  if (tenant !== undefined && !reaches(caller, tenant)) throw new AppError("not_found");
  const allowed: readonly Role[] = PERMISSIONS[action];
  if (!caller.roles.some((role) => allowed.includes(role))) {
    throw new AppError("auth.forbidden", `Your role does not allow ${action}.`);
  }
}
