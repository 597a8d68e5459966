// Threat: a credential reaches beyond its role or its tenant (DESIGN invariant 5). Every use
// case is called by every role, in its own tenant and in another, and the exact answer checked.
// The allowed roles are written out here independently of the permission table they test.
import { provedMfaJustNow } from "../test-support/fresh-mfa.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Caller } from "../application.js";
import { AppError } from "../errors.js";
import { ROLES, type Role } from "../records.js";
import { openHarness, type Harness } from "../test-support/harness.js";

type Operation = {
  readonly name: string;
  readonly allowed: readonly Role[];
  readonly run: (caller: Caller, tenant: string) => Promise<unknown>;
};

const ADMINS: Role[] = ["platform_admin", "tenant_admin"];
const READERS: Role[] = ["platform_admin", "tenant_admin", "exemption_approver", "tenant_auditor"];

let h: Harness;
const ids = { exemption: "", key: "" };
const later = (days: number) => new Date(h.clock.now().getTime() + days * 86_400_000).toISOString();

const tenantOperations: Operation[] = [
  { name: "tenants.get", allowed: READERS, run: (c, t) => h.app.tenants.get(c, t) },
  { name: "policies.current", allowed: READERS, run: (c, t) => h.app.policies.current(c, t) },
  { name: "policies.history", allowed: READERS, run: (c, t) => h.app.policies.history(c, t, {}) },
  {
    name: "policies.replace",
    allowed: ADMINS,
    run: (c, t) =>
      h.app.policies.replace(c, t, {
        policy: { posture: "platform_mfa" },
        rationale: "r",
        ifMatch: undefined,
      }),
  },
  {
    name: "policies.rollback",
    allowed: ADMINS,
    run: (c, t) =>
      h.app.policies.rollback(c, t, { toVersion: 1, rationale: "r", ifMatch: undefined }),
  },
  {
    name: "principals.upsert",
    allowed: ADMINS,
    run: (c, t) => h.app.principals.upsert(c, t, "alice", { population: "direct" }),
  },
  { name: "principals.get", allowed: READERS, run: (c, t) => h.app.principals.get(c, t, "alice") },
  { name: "principals.list", allowed: READERS, run: (c, t) => h.app.principals.list(c, t, {}) },
  {
    name: "exemptions.request",
    allowed: ADMINS,
    run: (c, t) =>
      h.app.exemptions.request(c, t, {
        principal: "alice",
        category: "shared_login",
        justification: "j",
        owner: "o",
        startsAt: later(0),
        expiresAt: later(1),
        reviewAt: later(1),
      }),
  },
  {
    name: "exemptions.approve",
    allowed: ["platform_admin", "exemption_approver"],
    run: (c, t) => h.app.exemptions.approve(c, t, ids.exemption),
  },
  {
    name: "exemptions.reject",
    allowed: ["platform_admin", "exemption_approver"],
    run: (c, t) => h.app.exemptions.reject(c, t, ids.exemption, { reason: "r" }),
  },
  {
    name: "exemptions.revoke",
    allowed: ["platform_admin", "tenant_admin", "exemption_approver"],
    run: (c, t) => h.app.exemptions.revoke(c, t, ids.exemption, { reason: "r" }),
  },
  {
    name: "exemptions.get",
    allowed: READERS,
    run: (c, t) => h.app.exemptions.get(c, t, ids.exemption),
  },
  { name: "exemptions.list", allowed: READERS, run: (c, t) => h.app.exemptions.list(c, t, {}, {}) },
  {
    name: "decisions.decide",
    allowed: ["platform_service"],
    run: (c, t) =>
      h.app.decisions.decide(c, t, { principal: { id: "alice" }, evidence: { events: [] } }),
  },
  {
    name: "authenticators.list",
    allowed: ["platform_admin", "tenant_admin", "platform_service"],
    run: (c, t) => h.app.authenticators.list(c, t, "alice"),
  },
  {
    name: "authenticators.beginTotp",
    allowed: ["platform_service"],
    run: (c, t) => h.app.authenticators.beginTotp(c, t, "alice", {}),
  },
  { name: "webauthn.settings", allowed: ADMINS, run: (c, t) => h.app.webauthn.settings(c, t) },
  {
    name: "webauthn.putSettings",
    allowed: ADMINS,
    run: (c, t) =>
      h.app.webauthn.putSettings(c, t, { rpId: "mfa.test", origins: ["https://mfa.test"] }),
  },
  {
    name: "webauthn.beginRegistration",
    allowed: ["platform_service"],
    run: (c, t) => h.app.webauthn.beginRegistration(c, t, "alice"),
  },
  {
    name: "webauthn.finishRegistration",
    allowed: ["platform_service"],
    run: (c, t) =>
      h.app.webauthn.finishRegistration(c, t, "alice", "wreg_unknown", { response: {} }),
  },
  {
    name: "webauthn.beginAuthentication",
    allowed: ["platform_service"],
    run: (c, t) => h.app.webauthn.beginAuthentication(c, t, "alice"),
  },
  {
    name: "webauthn.finishAuthentication",
    allowed: ["platform_service"],
    run: (c, t) =>
      h.app.webauthn.finishAuthentication(c, t, "alice", "wauth_unknown", { response: {} }),
  },
  {
    name: "recoveryCodes.generate",
    allowed: ["platform_service"],
    run: (c, t) => h.app.recoveryCodes.generate(c, t, "alice"),
  },
  {
    name: "recoveryCodes.status",
    allowed: ["platform_admin", "tenant_admin", "platform_service"],
    run: (c, t) => h.app.recoveryCodes.status(c, t, "alice"),
  },
  {
    name: "recoveryCodes.verify",
    allowed: ["platform_service"],
    run: (c, t) => h.app.recoveryCodes.verify(c, t, "alice", { code: "ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ" }),
  },
  {
    name: "recoveryCodes.revoke",
    allowed: ["platform_admin", "tenant_admin", "platform_service"],
    // A set to revoke each time: otherwise a second revocation finds none (`not_found`).
    run: async (c, t) => {
      if (t === "acme") {
        await provedMfaJustNow(h, t, "alice");
        await h.app.recoveryCodes.generate(callers.get("platform_service")!, t, "alice");
      }
      return h.app.recoveryCodes.revoke(c, t, "alice");
    },
  },
  {
    name: "authenticators.unlock",
    allowed: ADMINS,
    run: (c, t) => h.app.authenticators.unlock(c, t, "alice", { reason: "matrix" }),
  },
  {
    name: "audit.list",
    allowed: ["platform_admin", "tenant_admin", "tenant_auditor"],
    run: (c, t) => h.app.audit.list(c, t, {}, {}),
  },
  {
    name: "reports.compliance",
    allowed: ["platform_admin", "tenant_admin", "tenant_auditor"],
    run: (c, t) => h.app.reports.compliance(c, t, {}),
  },
  {
    name: "audit.verify (tenant)",
    allowed: ["platform_admin", "tenant_admin", "tenant_auditor"],
    run: (c, t) => h.app.audit.verify(c, { tenant: t }),
  },
];

const platformOperations: Operation[] = [
  {
    name: "assurance.rotateSigningKey",
    allowed: ["platform_admin"],
    run: (c) => h.app.assurance.rotateSigningKey(c, {}),
  },
  {
    name: "mandates.create",
    allowed: ["platform_admin"],
    run: (c) =>
      h.app.mandates.create(c, {
        id: "m-new",
        mandate: { scope: { tenants: "all" }, require: {}, exemptible: true },
        rationale: "",
      }),
  },
  { name: "mandates.list", allowed: ["platform_admin"], run: (c) => h.app.mandates.list(c) },
  { name: "mandates.get", allowed: ["platform_admin"], run: (c) => h.app.mandates.get(c, "base") },
  {
    name: "mandates.retire",
    allowed: ["platform_admin"],
    run: (c) => h.app.mandates.retire(c, "base", { rationale: "", ifMatch: 1 }),
  },
  {
    name: "tenants.create",
    allowed: ["platform_admin"],
    run: (c) => h.app.tenants.create(c, { id: "Not Valid", name: "x" }),
  },
  {
    name: "apiKeys.create",
    allowed: ["platform_admin"],
    run: (c) => h.app.apiKeys.create(c, { name: "k", roles: [], tenants: "all" }),
  },
  { name: "apiKeys.list", allowed: ["platform_admin"], run: (c) => h.app.apiKeys.list(c) },
  {
    name: "apiKeys.revoke",
    allowed: ["platform_admin"],
    run: (c) => h.app.apiKeys.revoke(c, ids.key),
  },
  {
    name: "audit.verify (all)",
    allowed: ["platform_admin"],
    run: (c) => h.app.audit.verify(c, {}),
  },
  {
    name: "audit.list (platform)",
    allowed: ["platform_admin"],
    run: (c) => h.app.audit.list(c, null, {}, {}),
  },
  {
    name: "audit.checkpoint (platform)",
    allowed: ["platform_admin"],
    run: (c) => h.app.audit.checkpoint(c, {}),
  },
];

/** The code an operation failed with, or `ok`. Business failures after authorisation count as ok. */
async function answer(operation: Operation, caller: Caller, tenant: string): Promise<string> {
  try {
    await operation.run(caller, tenant);
    return "ok";
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    return error.code === "auth.forbidden" || error.code === "not_found" ? error.code : "ok";
  }
}

const callers = new Map<Role, Caller>();

beforeAll(async () => {
  h = await openHarness();
  for (const tenant of ["acme", "globex"]) {
    await h.app.tenants.create(h.admin, { id: tenant, name: tenant });
    await h.app.principals.upsert(h.admin, tenant, "alice", { population: "direct" });
  }
  await h.app.mandates.create(h.admin, {
    id: "base",
    mandate: { scope: { tenants: "all" }, require: {}, exemptible: true },
    rationale: "r",
  });
  const requested = await h.app.exemptions.request(h.admin, "acme", {
    principal: "alice",
    category: "temporary_access",
    justification: "j",
    owner: "o",
    startsAt: later(0),
    expiresAt: later(2),
    reviewAt: later(1),
  });
  ids.exemption = requested.id;
  ids.key = (
    await h.app.apiKeys.create(h.admin, {
      name: "spare",
      roles: ["tenant_auditor"],
      tenants: ["acme"],
    })
  ).key.id;
  for (const role of ROLES) {
    callers.set(role, await h.caller([role], role === "platform_admin" ? "all" : ["acme"]));
  }
});
afterAll(() => h.close());

describe("authorisation: every tenant use case, every role, own tenant", () => {
  for (const operation of tenantOperations) {
    for (const role of ROLES) {
      const expected = operation.allowed.includes(role) ? "ok" : "auth.forbidden";
      it(`${operation.name} as ${role} in its own tenant: ${expected}`, async () => {
        expect(await answer(operation, callers.get(role)!, "acme")).toBe(expected);
      });
    }
  }
});

describe("authorisation: every tenant use case, every tenant-scoped role, another tenant", () => {
  for (const operation of tenantOperations) {
    for (const role of ROLES.filter((r) => r !== "platform_admin")) {
      it(`${operation.name} as ${role} of acme in globex: not_found`, async () => {
        expect(await answer(operation, callers.get(role)!, "globex")).toBe("not_found");
      });
    }
  }
});

describe("authorisation: platform use cases", () => {
  for (const operation of platformOperations) {
    for (const role of ROLES) {
      const expected = operation.allowed.includes(role) ? "ok" : "auth.forbidden";
      it(`${operation.name} as ${role}: ${expected}`, async () => {
        expect(await answer(operation, callers.get(role)!, "acme")).toBe(expected);
      });
    }
  }
});

describe("authorisation: receipts", () => {
  it("a receipt of another tenant is not found, and one's own is readable by its auditor", async () => {
    const service = await h.caller(["platform_service"], ["globex"]);
    const decision = await h.app.decisions.decide(service, "globex", {
      principal: { id: "alice" },
      evidence: { events: [] },
    });
    await expect(
      h.app.decisions.receipt(callers.get("tenant_auditor")!, decision.id ?? ""),
    ).rejects.toMatchObject({ code: "not_found" });
    const globexAuditor = await h.caller(["tenant_auditor"], ["globex"]);
    await expect(h.app.decisions.receipt(globexAuditor, decision.id ?? "")).resolves.toMatchObject({
      tenant: "globex",
    });
    await expect(h.app.decisions.receipt(service, decision.id ?? "")).rejects.toMatchObject({
      code: "auth.forbidden",
    });
  });

  it("a tenant-scoped caller lists only the tenants it reaches", async () => {
    const page = await h.app.tenants.list(callers.get("tenant_admin")!, {});
    expect(page.items.map((t) => t.id)).toEqual(["acme"]);
  });
});
