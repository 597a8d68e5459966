import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it, vi } from "vitest";
import type { ChangeNotices, Store, StoreChange } from "../../app/ports.js";
import { uniqueId } from "./fixtures.js";
import type { ContractContext } from "./store-harness.js";

/** Collects the changes of one tenant that reach a listener of `store`. */
export function collectChanges(store: Store, tenant: string) {
  const received: StoreChange[] = [];
  const unsubscribe = store.onChange((change) => {
    if (change.tenant === tenant) received.push(change);
  });
  return { received, unsubscribe };
}

/** Every kind a change can be of: a kind added to `StoreChange` and not here fails to compile. */
const EVERY_KIND = {
  tenant: true,
  policy: true,
  mandate: true,
  exemption: true,
  principal: true,
  api_key: true,
  idp: true,
  webauthn_settings: true,
} satisfies Record<StoreChange["kind"], true>;

/** Within a second, as caches must drop what is stale. */
export const DELIVERY = { timeout: 1000, interval: 10 };

/** Changes reach every listener, only after their transaction commits. */
export function describeChangeNotifications({ store }: ContractContext): void {
  describe("change notifications", () => {
    it("delivers a change to the store's own listeners", async () => {
      const tenant = uniqueId("tenant");
      const { received, unsubscribe } = collectChanges(store(), tenant);
      await store().notify({ kind: "policy", tenant });
      await vi.waitFor(() => {
        expect(received).toEqual([{ kind: "policy", tenant }]);
      }, DELIVERY);
      unsubscribe();
    });

    it("delivers a platform-wide change, which names no tenant", async () => {
      const received: StoreChange[] = [];
      const unsubscribe = store().onChange((change) => received.push(change));
      await store().notify({ kind: "mandate" });
      await vi.waitFor(() => {
        expect(received).toContainEqual({ kind: "mandate" });
      }, DELIVERY);
      unsubscribe();
    });

    it("delivers every kind of change, in order", async () => {
      const tenant = uniqueId("tenant");
      const { received, unsubscribe } = collectChanges(store(), tenant);
      const changes = Object.keys(EVERY_KIND).map((kind) => ({
        kind: kind as StoreChange["kind"],
        tenant,
      }));
      for (const change of changes) await store().notify(change);
      await vi.waitFor(() => {
        expect(received).toEqual(changes);
      }, DELIVERY);
      unsubscribe();
    });

    it("stops delivering to a listener once it unsubscribes", async () => {
      const tenant = uniqueId("tenant");
      const gone = collectChanges(store(), tenant);
      const staying = collectChanges(store(), tenant);
      gone.unsubscribe();
      await store().notify({ kind: "exemption", tenant });
      await vi.waitFor(() => {
        expect(staying.received).toHaveLength(1);
      }, DELIVERY);
      expect(gone.received).toEqual([]);
      staying.unsubscribe();
    });

    it("holds back a change announced inside a transaction until it commits", async () => {
      const tenant = uniqueId("tenant");
      const { received, unsubscribe } = collectChanges(store(), tenant);
      await store().transaction(async ({ changes }) => {
        changes.announce({ kind: "principal", tenant });
        await sleep(100);
        expect(received).toEqual([]);
      });
      await vi.waitFor(() => {
        expect(received).toEqual([{ kind: "principal", tenant }]);
      }, DELIVERY);
      unsubscribe();
    });

    it("never announces a change of a transaction that rolled back", async () => {
      const tenant = uniqueId("tenant");
      const { received, unsubscribe } = collectChanges(store(), tenant);
      await expect(
        store().transaction(async ({ changes }) => {
          changes.announce({ kind: "policy", tenant });
          await sleep(10);
          throw new Error("rolled back");
        }),
      ).rejects.toThrow("rolled back");
      // Changes arrive in order, so once this one is in, the rolled-back one never will be.
      await store().notify({ kind: "api_key", tenant });
      await vi.waitFor(() => {
        expect(received).toEqual([{ kind: "api_key", tenant }]);
      }, DELIVERY);
      unsubscribe();
    });

    it("refuses an announcement outside a transaction, where nothing could hold it back", async () => {
      const tenant = uniqueId("tenant");
      let announcements: ChangeNotices | undefined;
      await expect(
        store().read(({ changes }) => {
          changes.announce({ kind: "policy", tenant });
          return Promise.resolve();
        }),
      ).rejects.toThrow(/announced through a transaction/);
      await store().transaction(({ changes }) => {
        announcements = changes;
        return Promise.resolve();
      });
      expect(() => announcements?.announce({ kind: "policy", tenant })).toThrow(
        /after its transaction ended/,
      );
    });

    it("keeps delivering to the other listeners when one throws, and warns", async () => {
      const tenant = uniqueId("tenant");
      const warn = vi.spyOn(process, "emitWarning").mockImplementation(() => undefined);
      const unsubscribeThrowing = store().onChange(() => {
        throw new Error("cache exploded");
      });
      const { received, unsubscribe } = collectChanges(store(), tenant);
      try {
        await store().notify({ kind: "policy", tenant });
        await vi.waitFor(() => {
          expect(received).toHaveLength(1);
        }, DELIVERY);
        expect(warn).toHaveBeenCalled();
      } finally {
        unsubscribeThrowing();
        unsubscribe();
        warn.mockRestore();
      }
    });
  });
}
