// Threat: a change commits while its audit event does not (DESIGN invariant 4). If a use case
// wrote its audit event in a transaction of its own after the change committed, an audit store
// that fails at that moment would leave a policy, an exemption or an authenticator changed with
// no record of who did it. Here the audit append throws inside the change's own transaction:
// each call must reject and leave the state exactly as it was, with the chain intact.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { oathtoolCode } from "../../verifiers/totp/test-support/oathtool.js";
import type { Application, Caller } from "../application.js";
import type { AuditStore, Repositories, Store } from "../ports.js";
import { CountingRandom, openHarness, type Harness } from "../test-support/harness.js";

/**
 * `store`, except that inside its transactions every audit append throws, as a full disk or a
 * lost connection would at that statement. `attempts` counts the appends refused, so that a test
 * knows the use case reached its audit event rather than failing earlier for another reason.
 */
function withFailingAudit(store: Store): { store: Store; attempts: () => number } {
  let attempts = 0;
  const refuse = (): Promise<never> => {
    attempts += 1;
    return Promise.reject(new Error("audit append failed: disk I/O error"));
  };
  const failingAudit = (audit: AuditStore): AuditStore => ({
    append: refuse,
    appendMany: refuse,
    appendToChains: refuse,
    read: (chain, options) => audit.read(chain, options),
    find: (chain, id) => audit.find(chain, id),
    findAnywhere: (id) => audit.findAnywhere(id),
    chains: () => audit.chains(),
    chainsWithEvents: () => audit.chainsWithEvents(),
    head: (chain) => audit.head(chain),
  });
  const failingRepositories = (repositories: Repositories): Repositories => ({
    ...repositories,
    audit: failingAudit(repositories.audit),
  });
  return {
    store: {
      transaction: (work) => store.transaction((r) => work(failingRepositories(r))),
      read: (work) => store.read(work),
      notify: (change) => store.notify(change),
      onChange: (listener) => store.onChange(listener),
      ping: () => store.ping(),
      close: () => Promise.resolve(),
    },
    attempts: () => attempts,
  };
}

describe("a change and its audit event commit together or not at all", () => {
  let h: Harness;
  /** The same application over the same database, whose audit appends fail. */
  let failing: Application & { close(): Promise<void> };
  let attempts: () => number;
  let admin: Caller;
  let requester: Caller;
  let approver: Caller;
  let service: Caller;

  beforeEach(async () => {
    h = await openHarness();
    await h.app.tenants.create(h.admin, { id: "acme", name: "Acme" });
    admin = await h.caller(["tenant_admin"], ["acme"]);
    requester = await h.caller(["tenant_admin"], ["acme"]);
    approver = await h.caller(["exemption_approver"], ["acme"]);
    service = await h.caller(["platform_service"], ["acme"]);
    await h.app.principals.upsert(admin, "acme", "alice", { population: "direct" });
    const wrapped = withFailingAudit(h.store);
    attempts = wrapped.attempts;
    failing = h.application({ store: wrapped.store, random: new CountingRandom(900_000) });
  });
  afterEach(async () => {
    await failing.close();
    await h.close();
  });

  /** Every chain's head: any audit event that slipped through moves one. */
  const heads = () =>
    h.store.read(async ({ audit }) =>
      Promise.all((await audit.chains()).map(async (chain) => [chain, await audit.head(chain)])),
    );

  /** `call` rejects as a store failure after reaching its audit append, and the chains hold. */
  async function expectRefusedAtAudit(call: () => Promise<unknown>): Promise<void> {
    const before = await heads();
    const reached = attempts();
    await expect(call()).rejects.toMatchObject({ code: "store.unavailable" });
    expect(attempts()).toBeGreaterThan(reached);
    expect(await heads()).toEqual(before);
    expect(await h.app.audit.verify(h.admin, {})).toMatchObject({ ok: true });
  }

  const exemptionRequest = () => ({
    principal: "alice",
    category: "temporary_access" as const,
    justification: "Phone lost; replacement arrives Friday",
    owner: "it-helpdesk",
    startsAt: h.clock.now().toISOString(),
    expiresAt: new Date(h.clock.now().getTime() + 5 * 86_400_000).toISOString(),
    reviewAt: new Date(h.clock.now().getTime() + 3 * 86_400_000).toISOString(),
  });

  it("keeps the policy at its version when the audit event of a replacement fails", async () => {
    await expectRefusedAtAudit(() =>
      failing.policies.replace(admin, "acme", {
        policy: { posture: "mfa_optional" },
        rationale: "pilot",
        ifMatch: 1,
      }),
    );
    const { record } = await h.app.policies.current(admin, "acme");
    expect(record).toMatchObject({ version: 1, policy: { posture: "platform_mfa" } });
    expect((await h.app.policies.history(admin, "acme", {})).items).toHaveLength(1);
    // Version 2 is still free: the failed write left nothing behind.
    const { record: next } = await h.app.policies.replace(admin, "acme", {
      policy: { posture: "mfa_optional" },
      rationale: "pilot",
      ifMatch: 1,
    });
    expect(next.version).toBe(2);
  });

  it("records no exemption when the audit event of its request fails", async () => {
    await expectRefusedAtAudit(() =>
      failing.exemptions.request(requester, "acme", exemptionRequest()),
    );
    expect((await h.app.exemptions.list(admin, "acme", {}, {})).items).toEqual([]);
  });

  it("leaves an exemption requested when the audit event of its approval fails", async () => {
    const requested = await h.app.exemptions.request(requester, "acme", exemptionRequest());
    await expectRefusedAtAudit(() => failing.exemptions.approve(approver, "acme", requested.id));
    expect(await h.app.exemptions.get(admin, "acme", requested.id)).toEqual(requested);
  });

  it("registers no principal, and changes none, when the audit event of an upsert fails", async () => {
    await expectRefusedAtAudit(() =>
      failing.principals.upsert(admin, "acme", "bob", { population: "direct" }),
    );
    await expect(h.app.principals.get(admin, "acme", "bob")).rejects.toMatchObject({
      code: "not_found",
    });
    const alice = await h.app.principals.get(admin, "acme", "alice");
    await expectRefusedAtAudit(() =>
      failing.principals.upsert(admin, "acme", "alice", { population: "integration" }),
    );
    expect(await h.app.principals.get(admin, "acme", "alice")).toEqual(alice);
  });

  it("leaves a TOTP authenticator pending, its step unspent, when the audit event of its confirmation fails", async () => {
    const { secret, authenticator } = await h.app.authenticators.beginTotp(
      service,
      "acme",
      "alice",
      {},
    );
    const code = oathtoolCode(secret, h.clock.now());
    await expectRefusedAtAudit(() =>
      failing.authenticators.confirmTotp(service, "acme", "alice", authenticator.id, { code }),
    );
    const [listed] = await h.app.authenticators.list(service, "acme", "alice");
    expect(listed).toMatchObject({ id: authenticator.id, status: "pending", failedAttempts: 0 });
    expect(listed).not.toHaveProperty("confirmedAt");
    // The step was not recorded as used: the same code still confirms it.
    await expect(
      h.app.authenticators.confirmTotp(service, "acme", "alice", authenticator.id, { code }),
    ).resolves.toMatchObject({ status: "active" });
  });

  it("creates no API key when the audit event of its creation fails", async () => {
    const before = await h.app.apiKeys.list(h.admin);
    await expectRefusedAtAudit(() =>
      failing.apiKeys.create(h.admin, {
        name: "backend",
        roles: ["platform_service"],
        tenants: "all",
      }),
    );
    expect(await h.app.apiKeys.list(h.admin)).toEqual(before);
  });

  it("creates no mandate when the audit event of its creation fails", async () => {
    await expectRefusedAtAudit(() =>
      failing.mandates.create(h.admin, {
        id: "uplift",
        mandate: {
          scope: { tenants: "all" },
          require: { minAal: 2, phishingResistant: true },
          exemptible: false,
        },
        rationale: "threat report",
      }),
    );
    expect(await h.app.mandates.list(h.admin)).toEqual([]);
  });
});
