// Threat: a flood of refusals that leaves no trace because the server stopped (see
// src/main.close.refusal-counts.test.ts), at scale. An attacker who floods many tenants' IdPs at
// once, just before a deployment, leaves thousands of minutes under way when the instance closes;
// their counts were appended one transaction each, within the 5 seconds the close waits, and on
// PostgreSQL most were reported lost (8,204 of 10,000 on the machine this was written on). They
// are now appended a thousand at a time, each batch in one transaction that costs the store a few
// statements whatever the number of chains: the whole backlog is recorded, on both stores, and
// every chain still verifies.
import { afterEach, describe, expect, it, vi } from "vitest";
import { storesUnderTest } from "../../storage/test-support/stores-under-test.js";
import { transact } from "../context.js";
import { systemTimers } from "../create-application.js";
import { openHarness, type Harness } from "../test-support/harness.js";
import { recordRefusalCounts } from "./record-refusal-counts.js";
import { RECORDED_AT_ONCE, RefusalBudget } from "./refusal-budget.js";

vi.setConfig({ testTimeout: 120_000 });

const TENANTS = 250;
const IDPS_PER_TENANT = 39;

for (const { name, skip, open } of await storesUnderTest("Closing with thousands of counts")) {
  describe.skipIf(skip)(
    `closing with thousands of minutes under way on ${name}${skip ? " (skipped: no PostgreSQL reachable)" : ""}`,
    () => {
      let h: Harness | undefined;
      let drop = (): Promise<void> => Promise.resolve();
      afterEach(async () => {
        await h?.close();
        await drop();
        h = undefined;
      });

      it("appends every count before the close's wait ends, and every chain verifies", async () => {
        const [store, dropStore] = await open();
        drop = dropStore;
        h = await openHarness({ store });
        const harness = h;
        const tenants = Array.from({ length: TENANTS }, (_, n) => `tenant-${String(n)}`);
        for (const id of tenants) await harness.app.tenants.create(harness.admin, { id, name: id });
        const before = await harness.app.audit.verify(harness.admin, {});

        const batches: number[] = [];
        const budget = new RefusalBudget(
          harness.clock,
          systemTimers,
          async (closed) => {
            batches.push(closed.length);
            await transact(harness.context, (r) => recordRefusalCounts(harness.context, r, closed));
          },
          { perMinute: 1, perAddress: 1 },
        );
        for (const tenant of tenants) {
          for (let idp = 0; idp < IDPS_PER_TENANT; idp++) {
            // One refusal recorded one by one, then one counted, from another address.
            budget.admit(tenant, `idp-${String(idp)}`, "saml.malformed", "198.51.100.1");
            budget.admit(tenant, `idp-${String(idp)}`, "saml.signature_invalid", "198.51.100.2");
          }
        }
        const minutes = TENANTS * IDPS_PER_TENANT;

        const warnings = vi.spyOn(process, "emitWarning").mockImplementation(() => undefined);
        try {
          await budget.close();
          expect(warnings.mock.calls.map((call) => String(call[0]))).toEqual([]);
        } finally {
          warnings.mockRestore();
        }
        expect(batches).toHaveLength(Math.ceil(minutes / RECORDED_AT_ONCE));

        const after = await harness.app.audit.verify(harness.admin, {});
        expect(after).toMatchObject({ ok: true, chains: before.chains });
        expect(after.events - before.events).toBe(minutes);
        const counts = await harness.app.audit.list(
          harness.admin,
          tenants[TENANTS - 1] ?? "",
          { type: "federation.refusals_suppressed" },
          { limit: 100 },
        );
        expect(
          counts.items.map(({ payload }) => [payload.idp, payload.count, payload.reasons]),
        ).toEqual(
          Array.from({ length: IDPS_PER_TENANT }, (_, idp) => [
            `idp-${String(idp)}`,
            1,
            { "saml.signature_invalid": 1 },
          ]),
        );
      });
    },
  );
}
