import { describe, expect, it } from "vitest";
import {
  damagedRowsError,
  readNamingDamagedRows,
  unreadableRecordError,
} from "./damaged-records.js";
import { AppError } from "./errors.js";
import { UnreadableRecord } from "./ports.js";

const SUFFIX =
  "until each damaged row is restored from a backup; `tenant-mfa audit verify` names every damaged row.";

describe("a record a store cannot read, as a typed problem", () => {
  it("names a row by table and id (a mandate version with its version), never as an outage", () => {
    const tenant = unreadableRecordError(
      new UnreadableRecord({ kind: "row", table: "tenants", id: "acme" }),
    );
    expect([tenant.code, tenant.message, tenant.details]).toEqual([
      "store.record_damaged",
      `DAMAGED: tenants row acme: its stored text is not JSON (altered outside the service). Whatever reads it is refused ${SUFFIX}`,
      { damaged: [{ table: "tenants", id: "acme" }] },
    ]);
    const mandate = unreadableRecordError(
      new UnreadableRecord({ kind: "row", table: "mandate_versions", id: "uplift", version: 3 }),
    );
    expect([mandate.code, mandate.details]).toEqual([
      "store.record_damaged",
      { damaged: [{ table: "mandate_versions", id: "uplift", version: 3 }] },
    ]);
    expect(mandate.message).toMatch(/^DAMAGED: mandate_versions row uplift version 3: /);
  });

  it("names a tenant's row with its tenant, and points to audit verify only for the tables it reads", () => {
    const idp = unreadableRecordError(
      new UnreadableRecord({ kind: "row", table: "idps", tenant: "acme", id: "corp" }),
    );
    expect([idp.code, idp.message, idp.details]).toEqual([
      "store.record_damaged",
      `DAMAGED: idps row corp of tenant acme: its stored text is not JSON (altered outside the service). Whatever reads it is refused ${SUFFIX}`,
      { damaged: [{ table: "idps", tenant: "acme", id: "corp" }] },
    ]);
    const policy = unreadableRecordError(
      new UnreadableRecord({ kind: "row", table: "policy_versions", id: "acme", version: 2 }),
    );
    expect(policy.message).toMatch(/^DAMAGED: policy_versions row acme version 2: /);
    expect(policy.message).toContain(SUFFIX);
    for (const row of [
      { table: "idp_observations", tenant: "acme", id: "corp" },
      { table: "webauthn_credentials", tenant: "acme", id: "cred_1" },
      { table: "webauthn_settings", id: "acme" },
    ] as const) {
      expect(
        unreadableRecordError(new UnreadableRecord({ kind: "row", ...row })).message,
      ).toContain(SUFFIX);
    }
    // Tables `audit verify` does not read (a flow, a browser session): not pointed to.
    const flow = unreadableRecordError(
      new UnreadableRecord({ kind: "row", table: "flows", id: "flw_1" }),
    );
    expect(flow.message).toMatch(/^DAMAGED: flows row flw_1: /);
    expect(flow.message).not.toContain("audit verify");
    const mixed = damagedRowsError([
      { table: "policy_versions", id: "acme", version: 1 },
      { table: "browser_sessions", id: "bs_1" },
    ]);
    expect(mixed.message).not.toContain("audit verify");
  });

  it("answers an audit event as a damaged chain, and a receipt as a tampered one", () => {
    const event = unreadableRecordError(
      new UnreadableRecord({ kind: "audit_event", chain: "tenant:acme", seq: 7 }),
    );
    expect([event.code, event.details]).toEqual([
      "audit.chain_damaged",
      { chain: "tenant:acme", seq: 7 },
    ]);
    expect(event.message).toMatch(/^Event 7 of tenant:acme cannot be read/);
    const receipt = unreadableRecordError(
      new UnreadableRecord({ kind: "receipt", id: "dec_1", tenant: "acme" }),
    );
    expect([receipt.code, receipt.details]).toEqual(["receipt.tampered", { decision: "dec_1" }]);
  });

  it("names several rows at once, saying what is refused", () => {
    const rows = [
      { table: "signing_keys", id: "key_1" },
      { table: "signing_keys", id: "key_2" },
    ] as const;
    expect(damagedRowsError(rows, "No signing key is re-sealed").message).toBe(
      "DAMAGED: signing_keys row key_1: its stored text is not JSON (altered outside the service); " +
        `signing_keys row key_2: its stored text is not JSON (altered outside the service). No signing key is re-sealed ${SUFFIX}`,
    );
    expect(damagedRowsError(rows).message).toContain(". Whatever reads them is refused until");
  });
});

describe("reading a set whole", () => {
  const met = new UnreadableRecord({ kind: "row", table: "api_keys", id: "key_b" });
  const refusal = (read: () => Promise<unknown>, unreadable: readonly { id: string }[]) =>
    readNamingDamagedRows(read, () =>
      Promise.resolve(unreadable.map(({ id }) => ({ table: "api_keys" as const, id }))),
    ).catch((error: unknown) => error);

  it("names every damaged row the listing finds, or the one met when it finds none", async () => {
    expect(await refusal(() => Promise.reject(met), [{ id: "key_a" }, { id: "key_b" }])).toEqual(
      expect.objectContaining({
        code: "store.record_damaged",
        details: {
          damaged: [
            { table: "api_keys", id: "key_a" },
            { table: "api_keys", id: "key_b" },
          ],
        },
      }),
    );
    expect(await refusal(() => Promise.reject(met), [])).toEqual(
      expect.objectContaining({ details: { damaged: [{ table: "api_keys", id: "key_b" }] } }),
    );
  });

  it("answers what reads whole, and lets any other failure through as it is", async () => {
    expect(
      await readNamingDamagedRows(
        () => Promise.resolve([1]),
        () => Promise.resolve([]),
      ),
    ).toEqual([1]);
    const other = new AppError("not_found");
    expect(await refusal(() => Promise.reject(other), [{ id: "key_a" }])).toBe(other);
    const event = new UnreadableRecord({ kind: "audit_event", chain: "platform", seq: 1 });
    expect(await refusal(() => Promise.reject(event), [{ id: "key_a" }])).toBe(event);
  });
});
