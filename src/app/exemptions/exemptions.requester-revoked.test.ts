// Threat: a stolen tenant_admin key files an exemption excusing a principal from MFA; the leak is
// found and the key revoked, but the request waits on, and an approver who trusts it approves it
// later. Approval refuses a request whose requester's key is revoked, or unknown to the store
// (keys are never deleted, so it cannot be shown to be unrevoked), with
// `exemption.requester_revoked`; a requester's key that merely expired is rotation, and its
// requests stay approvable. And the revocation itself withdraws, in its transaction, every
// request of the key still awaiting a decision, in every tenant, each audited as revoked by the
// revoking administrator, so that none lingers looking approvable.
import { afterEach, beforeEach, expect, it } from "vitest";
import type { Caller, ExemptionRequest } from "../application.js";
import type { AuditEvent } from "../records.js";
import { describeOnEachStore } from "../test-support/each-store.js";
import { auditEventsOf } from "../test-support/audit-events.js";
import { openHarness, type Harness } from "../test-support/harness.js";
import { requesterRevocationSweep } from "./exemptions.js";

const DAY = 86_400;

describeOnEachStore("exemptions: a request whose requester's key is revoked", (open) => {
  let h: Harness;
  let approver: Caller;
  const at = (days: number) => new Date(h.clock.now().getTime() + days * DAY * 1000).toISOString();
  const request = (principal = "alice"): ExemptionRequest => ({
    principal,
    category: "temporary_access",
    justification: "Phone lost; replacement on the way",
    owner: "it-helpdesk",
    startsAt: at(0),
    expiresAt: at(5),
    reviewAt: at(3),
  });
  /** A tenant_admin key of acme, and its caller. */
  const requesterKey = async (expiresAt?: string, tenants: readonly string[] = ["acme"]) => {
    const { key, secret } = await h.app.apiKeys.create(h.admin, {
      name: "acme automation",
      roles: ["tenant_admin"],
      tenants,
      ...(expiresAt === undefined ? {} : { expiresAt }),
    });
    return { key, secret, caller: await h.app.authenticate(secret) };
  };
  const eventTypes = async () =>
    (await h.app.audit.list(h.admin, "acme", {}, {})).items.map((event) => event.type);

  beforeEach(async () => {
    h = await openHarness({ url: await open() });
    for (const id of ["acme", "globex"]) {
      await h.app.tenants.create(h.admin, { id, name: id });
      for (const principal of ["alice", "bob"]) {
        await h.app.principals.upsert(h.admin, id, principal, { population: "direct" });
      }
    }
    approver = await h.caller(["exemption_approver"], ["acme"]);
  });
  afterEach(() => h.close());

  it("refuses to approve it, leaves it requested and writes no approval event", async () => {
    const { key, caller } = await requesterKey();
    const requested = await h.app.exemptions.request(caller, "acme", request());
    // Revoked in the store alone, as a revocation that committed after the request was filed
    // but before its sweep of the key's requests could see it leaves the request waiting.
    const revokedAt = new Date(h.clock.now().getTime() + 1000).toISOString();
    await h.store.transaction(({ apiKeys }) => apiKeys.revoke(key.id, revokedAt));

    await expect(h.app.exemptions.approve(approver, "acme", requested.id)).rejects.toMatchObject({
      code: "exemption.requester_revoked",
      details: { requestedBy: key.id, revokedAt },
    });
    await expect(h.app.exemptions.get(approver, "acme", requested.id)).resolves.toMatchObject({
      status: "requested",
    });
    expect(await eventTypes()).not.toContain("exemption.approved");
    // Still closable by a human decision.
    await expect(
      h.app.exemptions.reject(approver, "acme", requested.id, { reason: "key leaked" }),
    ).resolves.toMatchObject({ status: "rejected" });
  });

  it("lets a request whose requester's key has since expired be approved", async () => {
    const { secret, caller } = await requesterKey(at(1));
    const requested = await h.app.exemptions.request(caller, "acme", request());
    h.clock.advance(2 * DAY);
    await expect(h.app.authenticate(secret)).rejects.toMatchObject({
      code: "auth.invalid_credentials",
    });
    await expect(h.app.exemptions.approve(approver, "acme", requested.id)).resolves.toMatchObject({
      status: "approved",
      approvedBy: approver.id,
    });
  });

  it("refuses a request whose requester's key the store does not hold", async () => {
    const { caller } = await requesterKey();
    const requested = await h.app.exemptions.request(caller, "acme", request());
    const orphan = { ...requested, id: "exm_orphan", requestedBy: "key_gone" };
    await h.store.transaction(({ exemptions }) => exemptions.insert(orphan));

    await expect(h.app.exemptions.approve(approver, "acme", orphan.id)).rejects.toMatchObject({
      code: "exemption.requester_revoked",
      details: { requestedBy: "key_gone" },
    });
    await expect(h.app.exemptions.get(approver, "acme", orphan.id)).resolves.toMatchObject({
      status: "requested",
    });
    // The request its live key filed is approvable: the refusal is the orphan's alone.
    await expect(h.app.exemptions.approve(approver, "acme", requested.id)).resolves.toMatchObject({
      status: "approved",
    });
  });

  it("withdraws the key's requests awaiting a decision, in every tenant, when it is revoked", async () => {
    const { key, caller } = await requesterKey(undefined, ["acme", "globex"]);
    const other = await h.caller(["tenant_admin"], ["acme"]);
    const pending = [
      await h.app.exemptions.request(caller, "acme", request("alice")),
      await h.app.exemptions.request(caller, "acme", request("bob")),
      await h.app.exemptions.request(caller, "globex", request("alice")),
    ];
    const approved = await h.app.exemptions.request(caller, "globex", request("bob"));
    const approverOfBoth = await h.caller(["exemption_approver"], ["acme", "globex"]);
    await h.app.exemptions.approve(approverOfBoth, "globex", approved.id);
    const rejected = await h.app.exemptions.request(caller, "acme", request("bob"));
    await h.app.exemptions.reject(approver, "acme", rejected.id, { reason: "duplicate" });
    const othersRequest = await h.app.exemptions.request(other, "acme", request("alice"));
    h.clock.advance(60);

    await h.app.apiKeys.revoke(h.admin, key.id);

    const now = h.clock.now().toISOString();
    for (const filed of pending) {
      await expect(h.app.exemptions.get(h.admin, filed.tenant, filed.id)).resolves.toStrictEqual({
        ...filed,
        status: "revoked",
        decidedBy: h.admin.id,
        decidedAt: now,
      });
      await expect(
        h.app.exemptions.approve(approverOfBoth, filed.tenant, filed.id),
      ).rejects.toMatchObject({ code: "exemption.invalid_state" });
    }
    // Decided already, or another key's: left as they were.
    const status = async (tenant: string, id: string) =>
      (await h.app.exemptions.get(h.admin, tenant, id)).status;
    expect(await status("globex", approved.id)).toBe("approved");
    expect(await status("acme", rejected.id)).toBe("rejected");
    expect(await status("acme", othersRequest.id)).toBe("requested");

    const revocations = (event: AuditEvent) =>
      event.type === "exemption.revoked"
        ? `${String(event.payload["id"])} by ${event.actor}: ${String(event.payload["reason"])}`
        : undefined;
    const why = requesterRevocationSweep.reason;
    expect(await auditEventsOf(h, "acme", revocations)).toEqual([
      `${pending[0]!.id} by ${h.admin.id}: ${why}`,
      `${pending[1]!.id} by ${h.admin.id}: ${why}`,
    ]);
    expect(await auditEventsOf(h, "globex", revocations)).toEqual([
      `${pending[2]!.id} by ${h.admin.id}: ${why}`,
    ]);
    const keyEvents = await auditEventsOf(h, null, (event) =>
      event.type === "api_key.revoked" ? JSON.stringify(event.payload) : undefined,
    );
    expect(keyEvents).toEqual([JSON.stringify({ id: key.id, withdrawnExemptions: 3 })]);
    expect(await h.app.audit.verify(h.admin, {})).toMatchObject({ ok: true });
  });

  it("revokes a key with no open request as before, its event naming nothing withdrawn", async () => {
    const { key } = await requesterKey();
    await h.app.apiKeys.revoke(h.admin, key.id);
    const keyEvents = await auditEventsOf(h, null, (event) =>
      event.type === "api_key.revoked" ? JSON.stringify(event.payload) : undefined,
    );
    expect(keyEvents).toEqual([JSON.stringify({ id: key.id })]);
  });
});
