// Threat: a stolen tenant_admin key files an exemption excusing a principal from MFA; the leak is
// found and the key revoked, but the request waits on, and an approver who trusts it approves it
// later. Approval refuses a request whose requester's key is revoked, or unknown to the store
// (keys are never deleted, so it cannot be shown to be unrevoked), with
// `exemption.requester_revoked`; a requester's key that merely expired is rotation, and its
// requests stay approvable.
import { afterEach, beforeEach, expect, it } from "vitest";
import type { Caller, ExemptionRequest } from "../application.js";
import { describeOnEachStore } from "../test-support/each-store.js";
import { openHarness, type Harness } from "../test-support/harness.js";

const DAY = 86_400;

describeOnEachStore("exemptions: a request whose requester's key is revoked", (open) => {
  let h: Harness;
  let approver: Caller;
  const at = (days: number) => new Date(h.clock.now().getTime() + days * DAY * 1000).toISOString();
  const request = (): ExemptionRequest => ({
    principal: "alice",
    category: "temporary_access",
    justification: "Phone lost; replacement on the way",
    owner: "it-helpdesk",
    startsAt: at(0),
    expiresAt: at(5),
    reviewAt: at(3),
  });
  /** A tenant_admin key of acme, and its caller. */
  const requesterKey = async (expiresAt?: string) => {
    const { key, secret } = await h.app.apiKeys.create(h.admin, {
      name: "acme automation",
      roles: ["tenant_admin"],
      tenants: ["acme"],
      ...(expiresAt === undefined ? {} : { expiresAt }),
    });
    return { key, secret, caller: await h.app.authenticate(secret) };
  };
  const eventTypes = async () =>
    (await h.app.audit.list(h.admin, "acme", {}, {})).items.map((event) => event.type);

  beforeEach(async () => {
    h = await openHarness({ url: await open() });
    await h.app.tenants.create(h.admin, { id: "acme", name: "Acme" });
    approver = await h.caller(["exemption_approver"], ["acme"]);
    await h.app.principals.upsert(h.admin, "acme", "alice", { population: "direct" });
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
});
