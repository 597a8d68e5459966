// Threat: someone with write access to the database edits a decision receipt (a `challenge`
// turned into an `allow`, evidence that was never presented), deletes it, or adds one, without
// touching the audit chain. Each receipt is bound to its `decision.recorded` event by a digest:
// verification must find every such change, on both stores, and the receipt must not be served.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Caller } from "../application.js";
import { recordAudit } from "../context.js";
import type { AuditEvent } from "../records.js";
import type { Harness } from "../test-support/harness.js";
import { describeOnPostgres } from "../test-support/postgres-instances.js";
import {
  openPostgresWorld,
  openSqliteWorld,
  type TamperedWorld,
} from "../test-support/tampered-world.js";
import { chainOf, digestReceipt, hashEvent } from "./audit-chain.js";

const receiptTests = (open: () => Promise<TamperedWorld>) => () => {
  let world: TamperedWorld | undefined;
  let h: Harness;
  let allowed: string;
  let challenged: string;

  beforeEach(async () => {
    world = await open();
    ({ h } = world);
    for (const id of ["acme", "globex"]) {
      await h.app.tenants.create(h.admin, { id, name: id });
      await h.app.principals.upsert(h.admin, id, "alice", { population: "direct" });
    }
    const service: Caller = await h.caller(["platform_service"], ["acme", "globex"]);
    const at = (seconds: number) =>
      new Date(h.clock.now().getTime() - seconds * 1000).toISOString();
    const decide = async (tenant: string, withTotp: boolean) =>
      (
        await h.app.decisions.decide(service, tenant, {
          principal: { id: "alice" },
          evidence: {
            events: [
              { method: "password", source: "platform", at: at(60) },
              ...(withTotp
                ? [{ method: "totp" as const, source: "platform" as const, at: at(30) }]
                : []),
            ],
          },
        })
      ).id ?? "";
    allowed = await decide("acme", true);
    challenged = await decide("acme", false);
    await decide("globex", true);
  });
  afterEach(async () => {
    await world?.close();
  });

  const tamper = (statements: readonly string[]) => {
    if (world === undefined) throw new Error("not set up");
    return world.tamper(statements);
  };
  const verifyAcme = () => h.app.audit.verify(h.admin, { tenant: "acme" });
  const verifyAll = () => h.app.audit.verify(h.admin, {});
  const acmeEvents = () =>
    h.store.read((r) => r.audit.read(chainOf("acme"), { afterSeq: 0, limit: 100 }));
  const recordedSeq = async (decision: string): Promise<number> => {
    const event = (await acmeEvents()).find(
      (e: AuditEvent) => e.type === "decision.recorded" && e.payload["decision"] === decision,
    );
    if (event === undefined) throw new Error(`no event records ${decision}`);
    return event.seq;
  };

  it("verifies untouched receipts, each bound to its event by a digest", async () => {
    expect(await verifyAcme()).toMatchObject({ ok: true });
    expect(await verifyAll()).toMatchObject({ ok: true });
    const recorded = (await acmeEvents()).filter((e) => e.type === "decision.recorded");
    expect(recorded.map((e) => e.payload["receipt"])).toEqual([
      expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
      expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
    ]);
  });

  it("finds a challenge receipt turned into an allow, and refuses to serve it", async () => {
    await tamper([
      `UPDATE receipts SET outcome = 'allow', decision = replace(decision, '"outcome":"challenge"', '"outcome":"allow"') WHERE id = '${challenged}'`,
    ]);
    const seq = await recordedSeq(challenged);
    expect(await verifyAcme()).toMatchObject({
      ok: false,
      broken: { chain: "tenant:acme", seq, problem: "receipt_mismatch" },
    });
    expect(await verifyAll()).toMatchObject({
      ok: false,
      broken: { chain: "tenant:acme", seq, problem: "receipt_mismatch" },
    });
    await expect(h.app.decisions.receipt(h.admin, challenged)).rejects.toMatchObject({
      code: "receipt.tampered",
    });
    // The untouched receipt is still served, naming the event that binds it.
    expect(await h.app.decisions.receipt(h.admin, allowed)).toMatchObject({
      outcome: "allow",
      recordedBy: `evt_${allowed}`,
    });
  });

  it("finds a receipt whose input summary was edited, its outcome left alone", async () => {
    await tamper([
      `UPDATE receipts SET input_summary = replace(input_summary, '"method":"password"', '"method":"webauthn"') WHERE id = '${allowed}'`,
    ]);
    expect(await verifyAcme()).toMatchObject({
      ok: false,
      broken: {
        chain: "tenant:acme",
        seq: await recordedSeq(allowed),
        problem: "receipt_mismatch",
      },
    });
  });

  it("finds a deleted receipt", async () => {
    await tamper([`DELETE FROM receipts WHERE id = '${allowed}'`]);
    expect(await verifyAcme()).toMatchObject({
      ok: false,
      broken: { chain: "tenant:acme", seq: await recordedSeq(allowed), problem: "receipt_missing" },
    });
  });

  it("finds a receipt that no event recorded, added beside the real ones", async () => {
    await tamper([
      `INSERT INTO receipts (id, tenant, principal, outcome, created_at, decision, input_summary)
       SELECT 'dec_forged', tenant, principal, outcome, created_at, replace(decision, '${allowed}', 'dec_forged'), input_summary
         FROM receipts WHERE id = '${allowed}'`,
    ]);
    const head = Math.max(...(await acmeEvents()).map((e) => e.seq));
    expect(await verifyAll()).toMatchObject({
      ok: false,
      broken: { chain: "tenant:acme", seq: head, problem: "receipt_unrecorded" },
    });
    // One tenant's verify does not count receipts: that reads every tenant's (no index by
    // tenant), which one tenant's auditor may not make the server do.
    expect(await verifyAcme()).toMatchObject({ ok: true });
    // Served, as a receipt from before receipts were bound would be, but saying that no event
    // records it: its reader knows it rests on the store's word alone.
    expect(await h.app.decisions.receipt(h.admin, "dec_forged")).toMatchObject({
      outcome: "allow",
      recordedBy: null,
    });
  });

  it("finds a receipt moved to another tenant, and serves it to no one", async () => {
    await tamper([`UPDATE receipts SET tenant = 'globex' WHERE id = '${allowed}'`]);
    expect(await verifyAll()).toMatchObject({
      ok: false,
      broken: {
        chain: "tenant:acme",
        seq: await recordedSeq(allowed),
        problem: "receipt_mismatch",
      },
    });
    await expect(h.app.decisions.receipt(h.admin, allowed)).rejects.toMatchObject({
      code: "receipt.tampered",
    });
  });

  // The event is rewritten to agree with the moved receipt (its tenant, its digest and its own
  // hash recomputed): only the chain that holds it still says whose decision it recorded.
  it("refuses to serve a receipt moved to another tenant with its event rewritten to match", async () => {
    await tamper([`UPDATE receipts SET tenant = 'globex' WHERE id = '${allowed}'`]);
    const moved = await h.store.read((r) => r.receipts.get(allowed));
    const event = await h.store.read((r) => r.audit.find(chainOf("acme"), `evt_${allowed}`));
    if (moved === undefined || event === undefined) throw new Error("no receipt or no event");
    const rewritten = {
      ...event,
      tenant: "globex",
      payload: { ...event.payload, receipt: digestReceipt(moved) },
    };
    const payload = JSON.stringify(rewritten.payload).replace(/'/g, "''");
    await tamper([
      `UPDATE audit_events SET tenant = 'globex', payload = '${payload}', hash = '${hashEvent(rewritten)}' WHERE id = 'evt_${allowed}'`,
    ]);
    const stored = await h.store.read((r) => r.audit.find(chainOf("acme"), `evt_${allowed}`));
    // The event checks out on its own.
    expect(stored === undefined ? undefined : hashEvent(stored)).toBe(stored?.hash);
    await expect(h.app.decisions.receipt(h.admin, allowed)).rejects.toMatchObject({
      code: "receipt.tampered",
    });
  });

  it("refuses to serve a receipt edited with its event's digest, though the chain is not rehashed", async () => {
    await tamper([
      `UPDATE receipts SET outcome = 'allow', decision = replace(decision, '"outcome":"challenge"', '"outcome":"allow"') WHERE id = '${challenged}'`,
    ]);
    const edited = await h.store.read((r) => r.receipts.get(challenged));
    if (edited === undefined) throw new Error("no receipt");
    const event = await h.store.read((r) => r.audit.find(chainOf("acme"), `evt_${challenged}`));
    const payload = JSON.stringify({ ...event?.payload, receipt: digestReceipt(edited) });
    await tamper([
      `UPDATE audit_events SET payload = '${payload.replace(/'/g, "''")}' WHERE id = 'evt_${challenged}'`,
    ]);
    await expect(h.app.decisions.receipt(h.admin, challenged)).rejects.toMatchObject({
      code: "receipt.tampered",
    });
    expect(await verifyAcme()).toMatchObject({
      ok: false,
      broken: {
        chain: "tenant:acme",
        seq: await recordedSeq(challenged),
        problem: "hash_mismatch",
      },
    });
  });

  // Events recorded before receipts were bound carry no digest: their receipt must exist, of
  // their tenant, with their outcome.
  describe("a decision recorded before receipts were bound", () => {
    beforeEach(async () => {
      const real = await h.app.decisions.receipt(h.admin, challenged);
      const legacy = {
        ...real,
        id: "dec_legacy",
        decision: { ...real.decision, id: "dec_legacy" },
      };
      await h.store.transaction(async (r) => {
        await r.receipts.insert(legacy);
        await recordAudit(h.context, r, {
          tenant: "acme",
          type: "decision.recorded",
          actor: "someone",
          payload: { decision: "dec_legacy", principal: "alice", outcome: "challenge" },
        });
      });
    });

    it("verifies with its receipt, which is served", async () => {
      expect(await verifyAcme()).toMatchObject({ ok: true });
      expect(await h.app.decisions.receipt(h.admin, "dec_legacy")).toMatchObject({
        outcome: "challenge",
        recordedBy: null,
      });
    });

    it("finds its receipt turned into an allow", async () => {
      await tamper([
        `UPDATE receipts SET outcome = 'allow', decision = replace(decision, '"outcome":"challenge"', '"outcome":"allow"') WHERE id = 'dec_legacy'`,
      ]);
      expect(await verifyAcme()).toMatchObject({
        ok: false,
        broken: { seq: await recordedSeq("dec_legacy"), problem: "receipt_mismatch" },
      });
    });

    it("finds its receipt deleted", async () => {
      await tamper([`DELETE FROM receipts WHERE id = 'dec_legacy'`]);
      expect(await verifyAcme()).toMatchObject({
        ok: false,
        broken: { seq: await recordedSeq("dec_legacy"), problem: "receipt_missing" },
      });
    });
  });
};

describe("audit verify of tampered decision receipts (SQLite)", receiptTests(openSqliteWorld));

describeOnPostgres(
  {
    title: "audit verify of tampered decision receipts (PostgreSQL)",
    skippedTitle: "audit verify of tampered decision receipts (PostgreSQL)",
    tests: "audit verify tests on PostgreSQL",
  },
  receiptTests(openPostgresWorld),
);
