import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DamagedRow, Repositories } from "../../app/ports.js";
import { samlIdp } from "./describe-federation.js";
import { credential, settings } from "./describe-webauthn.js";
import { addTenant, at, minimalPolicyVersion, minimalPrincipal } from "./fixtures.js";
import type { ContractContext } from "./store-harness.js";

/** The tables of a tenant's rows that `listUnreadable` reads, with the JSON column altered. */
const DAMAGED_COLUMNS = [
  ["policy_versions", "policy"],
  ["idps", "document"],
  ["idp_observations", "unmapped_seen"],
  ["webauthn_credentials", "transports"],
  ["webauthn_settings", "document"],
] as const;

/**
 * A tenant's damaged rows (stored text that is not JSON, written outside the service) are listed
 * for that tenant, and never for another, even under the same ids: verifying one tenant's chain
 * names its own rows to its auditor, and no other tenant's (invariant 5). Unfiltered, every
 * tenant's are listed, as verifying every chain names them.
 */
export function describeUnreadableRows({ store, harness }: ContractContext): void {
  describe("damaged rows by tenant", () => {
    let a = "";
    let b = "";
    let credentialOfA = "";
    let tampered = false;
    // Described only for stores another connection reaches (`ContractOptions.tamperable`).
    const tamper = (statements: readonly string[]): Promise<void> => {
      const behindTheStore = harness().tamper;
      if (behindTheStore === undefined) throw new Error("The harness cannot tamper with its store");
      return behindTheStore(statements);
    };

    beforeAll(async () => {
      a = await addTenant(store(), "damaged_a");
      b = await addTenant(store(), "damaged_b");
      const credentials = new Map<string, string>();
      for (const tenant of [a, b]) {
        const passkey = credential(tenant, "alice");
        credentials.set(tenant, passkey.id);
        await store().transaction(async (r) => {
          await r.principals.upsert(minimalPrincipal(tenant, "alice"));
          await r.policies.insert(minimalPolicyVersion(tenant, 1));
          await r.policies.insert(minimalPolicyVersion(tenant, 2));
          await r.idps.put(samlIdp(tenant, "corp"));
          await r.idps.observe({
            tenant,
            idp: "corp",
            provingMfa: true,
            unmappedSeen: ["urn:custom"],
            updatedAt: at(1),
          });
          await r.webauthnCredentials.insert(passkey);
          await r.webauthnSettings.put(settings(tenant));
        });
      }
      credentialOfA = credentials.get(a) ?? "";
      // Every row of A damaged; of B only its older policy version, under ids A shares.
      await tamper([
        ...DAMAGED_COLUMNS.map(
          ([table, column]) => `UPDATE ${table} SET ${column} = 'not json' WHERE tenant = '${a}'`,
        ),
        `UPDATE policy_versions SET policy = 'not json' WHERE tenant = '${b}' AND version = 1`,
      ]);
      tampered = true;
    });

    // Other parts of the suite read every tenant's rows of these tables (re-sealing IdP secrets).
    afterAll(async () => {
      if (!tampered) return;
      await tamper(
        DAMAGED_COLUMNS.map(([table]) => `DELETE FROM ${table} WHERE tenant IN ('${a}', '${b}')`),
      );
    });

    /** What each tenant table's `listUnreadable` lists for `filter`, in one list. */
    const listed = (filter?: { tenant: string }) =>
      store().read((r: Repositories) =>
        Promise.all([
          r.policies.listUnreadable(filter),
          r.idps.listUnreadable(filter),
          r.webauthnCredentials.listUnreadable(filter),
          r.webauthnSettings.listUnreadable(filter),
        ]),
      );
    const damagedOfA = (): DamagedRow[][] => [
      [
        { table: "policy_versions", id: a, version: 1 },
        { table: "policy_versions", id: a, version: 2 },
      ],
      [
        { table: "idps", tenant: a, id: "corp" },
        { table: "idp_observations", tenant: a, id: "corp" },
      ],
      [{ table: "webauthn_credentials", tenant: a, id: credentialOfA }],
      [{ table: "webauthn_settings", id: a }],
    ];
    const damagedOfB = (): DamagedRow[] => [{ table: "policy_versions", id: b, version: 1 }];

    it("lists every damaged row of the tenant asked for, in key order", async () => {
      expect(await listed({ tenant: a })).toEqual(damagedOfA());
    });

    it("never lists another tenant's damaged rows, under the same ids", async () => {
      expect(await listed({ tenant: b })).toEqual([damagedOfB(), [], [], []]);
    });

    it("lists no row for a tenant that has none damaged, or does not exist", async () => {
      const clean = await addTenant(store(), "undamaged");
      expect(await listed({ tenant: clean })).toEqual([[], [], [], []]);
      expect(await listed({ tenant: `${a}_missing` })).toEqual([[], [], [], []]);
    });

    it("lists every tenant's damaged rows when no tenant is asked for", async () => {
      const [policies, ...others] = await listed();
      const [, ...othersOfA] = damagedOfA();
      expect(policies).toEqual(
        expect.arrayContaining([...(damagedOfA()[0] ?? []), ...damagedOfB()]),
      );
      expect(policies).toHaveLength(3);
      expect(others).toEqual(othersOfA);
    });
  });
}
