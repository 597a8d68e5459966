import { describe, expect, it } from "vitest";
import {
  addTenant,
  appendOne,
  chainLink,
  fullExemption,
  fullPrincipal,
  minimalApiKey,
  minimalMandateVersion,
  minimalPolicyVersion,
  receipt,
  tenantRecord,
  uniqueId,
} from "./fixtures.js";
import type { ContractContext } from "./store-harness.js";

/** Invariant 4: every write in a transaction, audit included, commits together or not at all. */
export function describeTransactions({ store }: ContractContext): void {
  describe("transactions", () => {
    it("rolls back every write when work throws, audit events and heads included", async () => {
      const kept = await addTenant(store());
      const keptChain = `tenant:${kept}`;
      await appendOne(store(), keptChain);
      const ids = {
        tenant: uniqueId("tenant"),
        mandate: uniqueId("mandate"),
        receipt: uniqueId("dec"),
        key: uniqueId("key"),
        chain: uniqueId("chain"),
      };
      const failure = new Error("work failed");

      const attempt = store().transaction(async (repositories) => {
        await repositories.tenants.insert(tenantRecord(ids.tenant));
        await repositories.policies.insert(minimalPolicyVersion(ids.tenant, 1));
        await repositories.mandates.insert(minimalMandateVersion(ids.mandate, 1));
        await repositories.principals.upsert(fullPrincipal(ids.tenant, "ada"));
        await repositories.exemptions.insert(fullExemption(ids.tenant, "ex"));
        await repositories.receipts.insert(receipt(ids.tenant, ids.receipt));
        await repositories.apiKeys.insert(minimalApiKey(ids.key));
        await repositories.audit.append(ids.chain, chainLink(ids.chain));
        await repositories.audit.append(keptChain, chainLink(keptChain));
        throw failure;
      });

      await expect(attempt).rejects.toBe(failure);
      const left = await store().transaction((repositories) =>
        Promise.all([
          repositories.tenants.get(ids.tenant),
          repositories.policies.current(ids.tenant),
          repositories.mandates.current(ids.mandate),
          repositories.principals.get(ids.tenant, "ada"),
          repositories.exemptions.get(ids.tenant, "ex"),
          repositories.receipts.get(ids.receipt),
          repositories.apiKeys.get(ids.key),
        ]),
      );
      expect(left).toEqual(Array.from({ length: 7 }, () => undefined));
      const [newChain, keptEvents, chains] = await store().transaction(({ audit }) =>
        Promise.all([
          audit.read(ids.chain, { afterSeq: 0, limit: 10 }),
          audit.read(keptChain, { afterSeq: 0, limit: 10 }),
          audit.chains(),
        ]),
      );
      expect(newChain).toEqual([]);
      expect(keptEvents.map((event) => event.seq)).toEqual([1]);
      expect(chains).toContain(keptChain);
      expect(chains).not.toContain(ids.chain);

      const heads: unknown[] = [];
      await appendOne(store(), ids.chain, { onHead: (head) => heads.push(head) });
      await appendOne(store(), keptChain, { onHead: (head) => heads.push(head) });
      expect(heads).toEqual([undefined, { seq: 1, hash: keptEvents[0]?.hash }]);
    });

    it("commits every write of work that returns, and returns its result", async () => {
      const tenant = uniqueId("tenant");
      const result = await store().transaction(async ({ tenants, policies }) => {
        await tenants.insert(tenantRecord(tenant));
        await policies.insert(minimalPolicyVersion(tenant, 1));
        return "done";
      });
      expect(result).toBe("done");
      const current = await store().transaction(({ policies }) => policies.current(tenant));
      expect(current).toStrictEqual(minimalPolicyVersion(tenant, 1));
    });

    it("sees its own uncommitted writes inside the transaction", async () => {
      const tenant = uniqueId("tenant");
      const seen = await store().transaction(async ({ tenants }) => {
        await tenants.insert(tenantRecord(tenant));
        return tenants.get(tenant);
      });
      expect(seen).toStrictEqual(tenantRecord(tenant));
    });

    it("commits each of many concurrent transactions with its own writes", async () => {
      const tenant = await addTenant(store());
      const ids = Array.from({ length: 20 }, (_, index) => `p${String(index).padStart(2, "0")}`);
      await Promise.all(
        ids.map((id) =>
          store().transaction(({ principals }) => principals.upsert(fullPrincipal(tenant, id))),
        ),
      );
      const page = await store().transaction(({ principals }) =>
        principals.list(tenant, { limit: 100 }),
      );
      expect(page.items.map((principal) => principal.id)).toEqual(ids);
    });

    it("reads what was committed outside a transaction", async () => {
      const tenant = await addTenant(store());
      await store().transaction(({ principals }) =>
        principals.upsert(fullPrincipal(tenant, "ada")),
      );
      const read = await store().read(({ principals }) => principals.get(tenant, "ada"));
      expect(read).toStrictEqual(fullPrincipal(tenant, "ada"));
    });

    it("reads beside concurrent write transactions, each read seeing a committed state", async () => {
      const tenant = await addTenant(store());
      const ids = Array.from({ length: 10 }, (_, index) => `r${String(index)}`);
      const seen = await Promise.all(
        ids.flatMap((id) => [
          store().transaction(({ principals }) => principals.upsert(fullPrincipal(tenant, id))),
          store().read(({ principals }) => principals.list(tenant, { limit: 100 })),
        ]),
      );
      for (const page of seen) {
        if (page === undefined) continue;
        for (const principal of page.items)
          expect(principal).toStrictEqual(fullPrincipal(tenant, principal.id));
      }
      const final = await store().read(({ principals }) => principals.list(tenant, { limit: 100 }));
      expect(final.items.map((principal) => principal.id).sort()).toEqual([...ids].sort());
    });

    it("answers a ping", async () => {
      await expect(store().ping()).resolves.toBeUndefined();
    });
  });
}
