import { afterEach, describe, expect, it } from "vitest";
import { ManualClock, CountingRandom } from "../app/test-support/harness.js";
import {
  recordAudit,
  recordAuditAcross,
  recordAuditRun,
  DEFAULT_SETTINGS,
  type Context,
} from "../app/context.js";
import type { Store } from "../app/ports.js";
import { openStore } from "../storage/open-store.js";
import { countAuditAppends, createMetrics } from "./metrics.js";

describe("metrics from committed audit events", () => {
  let store: Store | undefined;
  afterEach(async () => {
    await store?.close();
  });

  async function counted() {
    store = await openStore("sqlite::memory:");
    const metrics = createMetrics();
    const wrapped = countAuditAppends(store, metrics);
    const context: Context = {
      store: wrapped,
      clock: new ManualClock(),
      random: new CountingRandom(),
      settings: DEFAULT_SETTINGS,
    };
    const record = (type: string, payload: Record<string, unknown>) =>
      wrapped.transaction((r) =>
        recordAudit(context, r, { tenant: "acme", type, actor: "x", payload }),
      );
    return { metrics, wrapped, context, record };
  }

  it("counts IdP drift by kind and federation refusals by reason", async () => {
    const { metrics, record } = await counted();
    await record("idp.drift", { kind: "mfa_missing" });
    await record("idp.drift", { kind: "unmapped_value", values: ["urn:x"] });
    await record("idp.drift", { kind: "mfa_missing" });
    await record("federation.rejected", { reason: "saml.audience_mismatch" });
    await record("federation.mfa_unavailable", { reason: "saml.no_authn_context" });
    // Refusals past the audit budget, counted once their minute ends.
    await record("federation.refusals_suppressed", {
      idp: "corp",
      count: 5,
      reasons: { "saml.audience_mismatch": 4, "saml.malformed": 1 },
    });
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/tenant_mfa_idp_drift_total\{kind="mfa_missing"\} 2/);
    expect(text).toMatch(/tenant_mfa_idp_drift_total\{kind="unmapped_value"\} 1/);
    expect(text).toMatch(
      /tenant_mfa_federation_refusals_total\{reason="saml.audience_mismatch"\} 5/,
    );
    expect(text).toMatch(/tenant_mfa_federation_refusals_total\{reason="saml.malformed"\} 1/);
    expect(text).toMatch(
      /tenant_mfa_federation_refusals_total\{reason="saml.no_authn_context"\} 1/,
    );
    expect(text).toMatch(/tenant_mfa_audit_appends_total\{chain_kind="tenant"\} 6/);
  });

  it("counts each event of an append of many, as decisions' batches append them", async () => {
    const { metrics, wrapped, context } = await counted();
    const entry = (kind: string) => ({
      tenant: "acme",
      type: "idp.drift",
      actor: "x",
      payload: { kind },
    });
    await wrapped.transaction((r) =>
      recordAuditRun(context, r, [entry("mfa_missing"), entry("mfa_missing"), entry("x")]),
    );
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/tenant_mfa_idp_drift_total\{kind="mfa_missing"\} 2/);
    expect(text).toMatch(/tenant_mfa_audit_appends_total\{chain_kind="tenant"\} 3/);
  });

  it("counts each event of an append to many chains, as the refusal counts of a close are appended", async () => {
    const { metrics, wrapped, context } = await counted();
    const entry = (tenant: string | null, reasons: Record<string, number>) => ({
      tenant,
      type: "federation.refusals_suppressed",
      actor: "idp:corp",
      payload: { idp: "corp", count: 2, reasons },
    });
    await wrapped.transaction((r) =>
      recordAuditAcross(context, r, [
        entry("acme", { "saml.malformed": 2 }),
        entry("globex", { "saml.malformed": 1, "oidc.state_unknown": 1 }),
        entry(null, { "saml.malformed": 1 }),
      ]),
    );
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/tenant_mfa_federation_refusals_total\{reason="saml.malformed"\} 4/);
    expect(text).toMatch(/tenant_mfa_federation_refusals_total\{reason="oidc.state_unknown"\} 1/);
    expect(text).toMatch(/tenant_mfa_audit_appends_total\{chain_kind="tenant"\} 2/);
    expect(text).toMatch(/tenant_mfa_audit_appends_total\{chain_kind="platform"\} 1/);
  });

  it("counts nothing for a transaction that rolled back", async () => {
    const { metrics, wrapped, context } = await counted();
    await expect(
      wrapped.transaction(async (r) => {
        await recordAudit(context, r, {
          tenant: "acme",
          type: "idp.drift",
          actor: "x",
          payload: { kind: "mfa_missing" },
        });
        throw new Error("roll back");
      }),
    ).rejects.toThrow("roll back");
    expect(await metrics.registry.metrics()).not.toMatch(/tenant_mfa_idp_drift_total\{/);
  });
});
