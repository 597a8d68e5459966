/**
 * The order in which group commit appends a batch's audit events, pinned where a mutation survey
 * of src/app/decisions found it unpinned.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Caller } from "../application.js";
import { chainOf } from "../audit/audit-chain.js";
import type { Context } from "../context.js";
import type { Repositories, Store } from "../ports.js";
import { openHarness, type Harness } from "../test-support/harness.js";
import { prepareDecision, type DecisionToRecord } from "./decisions.js";
import { attestationTrust } from "../authenticators/webauthn.js";
import { ReceiptWriter } from "./receipt-writer.js";
import { RulesCache } from "./rules-cache.js";

let h: Harness;
let service: Caller;

beforeEach(async () => {
  h = await openHarness();
  for (const tenant of ["acme", "globex"]) {
    await h.app.tenants.create(h.admin, { id: tenant, name: tenant });
    await h.app.principals.upsert(h.admin, tenant, "alice", { population: "direct" });
  }
  service = await h.caller(["platform_service"], ["acme", "globex"]);
});
afterEach(() => h.close());

/** The harness's store, listing the chain of every `appendMany` call, in call order. */
function recordingAppends(): { store: Store; chains: string[] } {
  const chains: string[] = [];
  const store: Store = {
    ...h.store,
    read: (work) => h.store.read(work),
    transaction: (work) =>
      h.store.transaction((r: Repositories) =>
        work({
          ...r,
          audit: {
            ...r.audit,
            appendMany: (chain, links) => {
              chains.push(chain);
              return r.audit.appendMany(chain, links);
            },
          },
        }),
      ),
  };
  return { store, chains };
}

describe("a batch's audit events", () => {
  // Threat: two instances' batches that take their chains' head locks in different orders
  // deadlock on PostgreSQL (each waits on the other's head until one is killed), failing every
  // decision in both; and a chain whose events are not in the order their decisions arrived.
  it("are appended chain by chain in one order, each chain's in arrival order", async () => {
    const rules = new RulesCache(h.store, h.clock);
    const prepare = (tenant: string): Promise<DecisionToRecord> =>
      prepareDecision(
        h.context,
        { rules, receipts: new ReceiptWriter(h.context), attested: attestationTrust(undefined) },
        tenant,
        {
          principal: { id: "alice" },
          evidence: {
            events: [{ method: "password", source: "platform", at: h.clock.now().toISOString() }],
          },
        },
        service,
      );
    const batch = [await prepare("globex"), await prepare("acme"), await prepare("globex")];
    rules.close();
    const { store, chains } = recordingAppends();
    const context: Context = { ...h.context, store };
    const writer = new ReceiptWriter(context);
    // Written in one turn of the event loop: one batch.
    await Promise.all(batch.map(({ receipt, events }) => writer.write(receipt, events)));

    expect(chains).toEqual([chainOf("acme"), chainOf("globex")]);
    const globex = await h.store.read((r) =>
      r.audit.read(chainOf("globex"), { afterSeq: 0, limit: 50 }),
    );
    const recorded = globex
      .filter((event) => event.type === "decision.recorded")
      .map((event) => event.payload["decision"]);
    expect(recorded).toEqual([batch[0]?.receipt.id, batch[2]?.receipt.id]);
  });
});
