import { authorize, reaches } from "../access/permissions.js";
import type { Application, Caller } from "../application.js";
import type { Repositories } from "../ports.js";
import { recordAudit, transact, type Context } from "../context.js";
import { AppError } from "../errors.js";
import { isPlainHost, returnUrlProblem } from "../federation/return-urls.js";
import type { PolicyVersionRecord, TenantRecord } from "../records.js";
import { checkSettingsPrecondition, type SettingsPrecondition } from "../settings-precondition.js";

const TENANT_ID = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** Whether `id` can be a tenant's id: 1–63 lowercase letters, digits or hyphens. */
export function isTenantId(id: string): boolean {
  return TENANT_ID.test(id);
}
const MAX_PAGE = 500;

/** The page size to use: the caller's, within 1–500, 100 by default. */
export function pageLimit(limit: number | undefined): number {
  return Math.min(Math.max(Math.trunc(limit ?? 100), 1), MAX_PAGE);
}

/**
 * Tenants. A new tenant starts with policy version 1, posture `platform_mfa`: a tenant is never
 * without a policy, and its first policy is a secure one.
 */
export function tenantUseCases(context: Context): Application["tenants"] {
  /**
   * Changes one setting of an existing tenant, audited with what it was and what it became, only
   * while `ifMatch` (when sent) holds for the tenant as it stands; answers the tenant as stored.
   */
  const reconfigure = (
    caller: Caller,
    tenant: string,
    type: string,
    ifMatch: SettingsPrecondition | undefined,
    apply: (r: Repositories, current: TenantRecord) => Promise<{ before: unknown; after: unknown }>,
  ): Promise<TenantRecord> =>
    transact(context, async (r) => {
      // Held until commit, so that no other change of the tenant comes between the check of
      // `ifMatch` against what is read here and the write: two writers from one read, one loses.
      if (!(await r.tenants.lock(tenant))) throw new AppError("not_found");
      const current = await requireTenant(r, tenant);
      checkSettingsPrecondition("tenant.settings_conflict", ifMatch, current);
      const change = await apply(r, current);
      await recordAudit(context, r, { tenant, type, actor: caller.id, payload: change });
      // Sign-ins cache the tenant's return URLs (federation): a removed one must stop at once.
      r.changes.announce({ kind: "tenant", tenant });
      // As the store gives it back, so that its ETag is the one the next read answers.
      return requireTenant(r, tenant);
    });

  return {
    async create(caller, input) {
      authorize(caller, "tenant.create");
      if (!isTenantId(input.id)) {
        throw new AppError(
          "request.invalid",
          "A tenant id is 1–63 lowercase letters, digits or hyphens.",
        );
      }
      const now = context.clock.now().toISOString();
      const tenant: TenantRecord = {
        id: input.id,
        name: input.name,
        createdAt: now,
        returnUrls: checkReturnUrls(input.returnUrls ?? []),
      };
      const policy: PolicyVersionRecord = {
        tenant: input.id,
        version: 1,
        policy: { tenant: input.id, version: 1, posture: "platform_mfa" },
        rationale: "Initial policy of a new tenant.",
        actor: caller.id,
        createdAt: now,
      };
      await transact(context, async (r) => {
        if (!(await r.tenants.insert(tenant))) throw new AppError("tenant.exists");
        await r.policies.insert(policy);
        // The platform chain keeps every tenant's creation too: a tenant erased whole (rows,
        // events and head) leaves no trace of its own, and `audit verify` finds it missing from
        // here. Appended first: chains are locked in name order ("platform" before "tenant:…"),
        // as decisions lock theirs, so that two transactions never wait on each other's heads.
        await recordAudit(context, r, {
          tenant: null,
          type: "tenant.created",
          actor: caller.id,
          payload: { tenant: input.id, name: input.name },
        });
        await recordAudit(context, r, {
          tenant: input.id,
          type: "tenant.created",
          actor: caller.id,
          payload: {
            id: input.id,
            name: input.name,
            policyVersion: 1,
            posture: "platform_mfa",
            returnUrls: tenant.returnUrls,
          },
        });
      });
      return tenant;
    },
    async get(caller, tenant) {
      authorize(caller, "tenant.read", tenant);
      const record = await transact(context, (r) => r.tenants.get(tenant));
      if (record === undefined) throw new AppError("not_found");
      return record;
    },
    async list(caller, page) {
      if (caller.tenants !== "all") {
        // A tenant-scoped caller lists the tenants it reaches, each once (a key made before
        // its tenants were stored as a set may name one twice).
        authorize(caller, "tenant.read");
        const reached = new Set(caller.tenants);
        const records = await transact(context, async (r) =>
          Promise.all([...reached].map((t) => r.tenants.get(t))),
        );
        return {
          items: records.filter((t): t is TenantRecord => t !== undefined && reaches(caller, t.id)),
        };
      }
      authorize(caller, "tenant.list");
      return transact(context, (r) =>
        r.tenants.list({
          ...(page.after === undefined ? {} : { after: page.after }),
          limit: pageLimit(page.limit),
        }),
      );
    },
    async setBranding(caller, tenant, input, { ifMatch } = {}) {
      authorize(caller, "tenant.configure", tenant);
      const logoUrl = input.logoUrl ?? undefined;
      if (logoUrl !== undefined) checkLogoUrl(logoUrl);
      return reconfigure(caller, tenant, "tenant.branding_changed", ifMatch, async (r, current) => {
        await r.tenants.setLogoUrl(tenant, logoUrl);
        return { before: current.logoUrl ?? null, after: logoUrl ?? null };
      });
    },
    async setReturnUrls(caller, tenant, input, { ifMatch } = {}) {
      authorize(caller, "tenant.configure", tenant);
      const returnUrls = checkReturnUrls(input.returnUrls);
      const type = "tenant.return_urls_changed";
      return reconfigure(caller, tenant, type, ifMatch, async (r, current) => {
        await r.tenants.setReturnUrls(tenant, returnUrls);
        return { before: current.returnUrls, after: returnUrls };
      });
    },
  };
}

/** At most 20 distinct, valid return URLs (DESIGN invariant 10), or `request.invalid`. */
function checkReturnUrls(urls: readonly string[]): readonly string[] {
  if (urls.length > 20) throw new AppError("request.invalid", "At most 20 return URLs.");
  for (const url of urls) {
    const problem = returnUrlProblem(url);
    if (problem !== undefined) {
      throw new AppError("request.invalid", `Return URL ${JSON.stringify(url)} ${problem}.`);
    }
  }
  return [...new Set(urls)];
}

/**
 * A logo is shown on the hosted pages, so it must come over https (http only on loopback) from
 * an absolute URL without user info: the pages' Content-Security-Policy admits its origin.
 */
function checkLogoUrl(value: string): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new AppError("request.invalid", "The logo URL is not an absolute URL.");
  }
  const loopback = ["localhost", "127.0.0.1", "[::1]"].includes(url.hostname);
  if (url.protocol !== "https:" && !(url.protocol === "http:" && loopback)) {
    throw new AppError("request.invalid", "The logo URL must use https (http only on loopback).");
  }
  if (url.username !== "" || url.password !== "" || value.length > 2000) {
    throw new AppError("request.invalid", "The logo URL must not carry user info.");
  }
  if (!isPlainHost(url.hostname)) {
    throw new AppError(
      "request.invalid",
      "The logo URL must name a plain host (letters, digits, hyphens, dots).",
    );
  }
}

/** Throws `not_found` unless the tenant exists. */
export async function requireTenant(
  repositories: { tenants: { get(t: string): Promise<TenantRecord | undefined> } },
  tenant: string,
): Promise<TenantRecord> {
  const record = await repositories.tenants.get(tenant);
  if (record === undefined) throw new AppError("not_found");
  return record;
}
