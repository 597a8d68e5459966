// Threat: two first registrations of one principal at the same moment, one marking it as a shared
// login (seed 001). A held row protects an update, but a first registration finds no row to hold:
// on PostgreSQL the later of the two used to overwrite the earlier whole, mark and all, and audit
// itself as the registration. It now goes on as an update of what the other wrote. The race is
// made deterministic on both stores: the first look at the principal finds nothing, though the
// other registration has committed by the time this one writes.
import { afterEach, describe, expect, it } from "vitest";
import type { Caller } from "../application.js";
import { chainOf } from "../audit/audit-chain.js";
import type { Repositories, Store } from "../ports.js";
import { openHarness, type Harness } from "../test-support/harness.js";
import { storesUnderTest } from "../../storage/test-support/stores-under-test.js";

/** `raw`, except that the first `principals.hold` of a transaction in `race` finds nothing. */
function storeRacing(raw: Store, race: { armed: boolean }): Store {
  return {
    ...raw,
    transaction: (work) =>
      raw.transaction((r) =>
        work({
          ...r,
          principals: {
            ...r.principals,
            hold: (tenant, id) => {
              if (!race.armed) return r.principals.hold(tenant, id);
              race.armed = false;
              return Promise.resolve(undefined);
            },
          },
        } satisfies Repositories),
      ),
  };
}

for (const { name, skip, open } of await storesUnderTest("Racing first registrations")) {
  describe.skipIf(skip)(
    `racing first registrations of a principal on ${name}${skip ? " (skipped: no PostgreSQL reachable)" : ""}`,
    () => {
      let h: Harness | undefined;
      let drop = (): Promise<void> => Promise.resolve();
      afterEach(async () => {
        await h?.close();
        await drop();
      });

      it("keeps the mark the first registration set, and audits the second as an update", async () => {
        const [raw, dropIt] = await open();
        drop = dropIt;
        const race = { armed: false };
        h = await openHarness({ store: storeRacing(raw, race) });
        await h.app.tenants.create(h.admin, { id: "acme", name: "Acme" });
        const tenantAdmin: Caller = await h.caller(["tenant_admin"], ["acme"]);
        await h.app.principals.upsert(h.admin, "acme", "partner", {
          population: "direct",
          sharedLogin: true,
        });
        race.armed = true;
        const second = await h.app.principals.upsert(tenantAdmin, "acme", "partner", {
          population: "direct",
          displayName: "Partner admin",
        });
        expect(race.armed).toBe(false);
        expect(second).toMatchObject({ sharedLogin: true, displayName: "Partner admin" });
        expect(await h.app.principals.get(h.admin, "acme", "partner")).toMatchObject({
          sharedLogin: true,
        });
        const events = await h.store.read((r) =>
          r.audit.read(chainOf("acme"), { afterSeq: 0, limit: 100 }),
        );
        expect(events.filter((e) => e.payload["id"] === "partner").map((e) => e.type)).toEqual([
          "principal.registered",
          "principal.updated",
        ]);
      });
    },
  );
}
