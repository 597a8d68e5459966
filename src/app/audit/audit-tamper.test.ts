// Threat: someone with write access to the database edits, deletes or reorders audit events to
// hide what happened. Verification must find the first broken link in each case.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openHarness, type Harness } from "../test-support/harness.js";
import { linkEvent } from "./audit-chain.js";

describe("audit chain verification against tampering", () => {
  let dir: string;
  let h: Harness;
  let db: Database.Database;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "tenant-mfa-audit-"));
    const file = join(dir, "store.db");
    h = await openHarness({ url: `sqlite:${file}` });
    await h.app.tenants.create(h.admin, { id: "acme", name: "Acme" });
    for (let version = 1; version <= 4; version++) {
      await h.app.policies.replace(h.admin, "acme", {
        policy: { posture: version % 2 === 0 ? "platform_mfa" : "idp_mfa" },
        rationale: `change ${version}`,
        ifMatch: version,
      });
    }
    db = new Database(file);
  });
  afterEach(async () => {
    db.close();
    await h.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const verifyAcme = () => h.app.audit.verify(h.admin, { tenant: "acme" });

  it("verifies an untouched chain", async () => {
    expect(await verifyAcme()).toEqual({ ok: true, chains: 1, events: 5 });
  });

  it("answers not_found for a tenant that does not exist, never verified", async () => {
    await expect(h.app.audit.verify(h.admin, { tenant: "acmee" })).rejects.toMatchObject({
      code: "not_found",
    });
  });

  it("verifies every chain for a platform administrator", async () => {
    const result = await h.app.audit.verify(h.admin, {});
    expect(result.ok).toBe(true);
    expect(result.chains).toBe(2);
  });

  it("finds an edited payload", async () => {
    db.prepare(
      "UPDATE audit_events SET payload = replace(payload, 'change 2', 'nothing to see') WHERE chain = 'tenant:acme' AND seq = 3",
    ).run();
    expect(await verifyAcme()).toMatchObject({
      ok: false,
      broken: { chain: "tenant:acme", seq: 3, problem: "hash_mismatch" },
    });
  });

  it("finds an edited actor, even with the hash recomputed by a naive forger", async () => {
    db.prepare(
      "UPDATE audit_events SET actor = 'someone-else', hash = lower(hex(randomblob(32))) WHERE chain = 'tenant:acme' AND seq = 2",
    ).run();
    expect(await verifyAcme()).toMatchObject({
      ok: false,
      broken: { seq: 2, problem: "hash_mismatch" },
    });
  });

  it("finds a deleted event", async () => {
    db.prepare("DELETE FROM audit_events WHERE chain = 'tenant:acme' AND seq = 2").run();
    expect(await verifyAcme()).toMatchObject({ ok: false, broken: { seq: 3, problem: "gap" } });
  });

  it("finds a deleted event whose successors were renumbered", async () => {
    db.prepare("DELETE FROM audit_events WHERE chain = 'tenant:acme' AND seq = 2").run();
    db.prepare(
      "UPDATE audit_events SET seq = seq - 1 WHERE chain = 'tenant:acme' AND seq > 2",
    ).run();
    expect(await verifyAcme()).toMatchObject({
      ok: false,
      broken: { seq: 2, problem: "prev_hash_mismatch" },
    });
  });

  it("finds two events swapped", async () => {
    db.prepare("UPDATE audit_events SET seq = -1 WHERE chain = 'tenant:acme' AND seq = 2").run();
    db.prepare("UPDATE audit_events SET seq = 2 WHERE chain = 'tenant:acme' AND seq = 3").run();
    db.prepare("UPDATE audit_events SET seq = 3 WHERE chain = 'tenant:acme' AND seq = -1").run();
    expect(await verifyAcme()).toMatchObject({ ok: false, broken: { seq: 2 } });
  });

  it("finds an event inserted in the middle", async () => {
    // Shift through negative numbers: the (chain, seq) key forbids a direct in-place shift.
    db.prepare(
      "UPDATE audit_events SET seq = -(seq + 1) WHERE chain = 'tenant:acme' AND seq >= 3",
    ).run();
    db.prepare("UPDATE audit_events SET seq = -seq WHERE chain = 'tenant:acme' AND seq < 0").run();
    db.prepare(
      "INSERT INTO audit_events (chain, seq, id, tenant, type, actor, at, payload, prev_hash, hash) SELECT chain, 3, 'evt_forged', tenant, type, actor, at, payload, prev_hash, hash FROM audit_events WHERE chain = 'tenant:acme' AND seq = 2",
    ).run();
    expect(await verifyAcme()).toMatchObject({ ok: false, broken: { seq: 3 } });
  });

  it("finds the newest events deleted", async () => {
    db.prepare("DELETE FROM audit_events WHERE chain = 'tenant:acme' AND seq >= 4").run();
    expect(await verifyAcme()).toMatchObject({
      ok: false,
      broken: { seq: 5, problem: "truncated" },
    });
  });

  it("finds an event that links up, appended past the head without moving it", async () => {
    const last = db
      .prepare("SELECT * FROM audit_events WHERE chain = 'tenant:acme' AND seq = 5")
      .get() as { hash: string; tenant: string; at: string };
    const forged = linkEvent(
      { tenant: "acme", type: "exemption.approved", actor: "key_someone", payload: { id: "x" } },
      { seq: 5, hash: last.hash },
      "evt_forged",
      last.at,
    );
    db.prepare(
      "INSERT INTO audit_events (chain, seq, id, tenant, type, actor, at, payload, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    ).run(
      forged.chain,
      forged.seq,
      forged.id,
      forged.tenant,
      forged.type,
      forged.actor,
      forged.at,
      JSON.stringify(forged.payload),
      forged.prevHash,
      forged.hash,
    );
    expect(await verifyAcme()).toMatchObject({
      ok: false,
      broken: { chain: "tenant:acme", seq: 5, problem: "truncated" },
    });
  });

  // The head row is the anchor that finds deleted newest events; deleting it with them, or the
  // whole chain, must not leave an existing tenant that "verifies" with nothing to verify.
  it("finds a tenant's whole chain deleted with its head row", async () => {
    db.prepare("DELETE FROM audit_events WHERE chain = 'tenant:acme'").run();
    db.prepare("DELETE FROM audit_heads WHERE chain = 'tenant:acme'").run();
    expect(await verifyAcme()).toMatchObject({
      ok: false,
      events: 0,
      broken: { chain: "tenant:acme", seq: 0, problem: "missing" },
    });
  });

  it("finds a tenant's head row deleted, its events left", async () => {
    db.prepare("DELETE FROM audit_heads WHERE chain = 'tenant:acme'").run();
    expect(await verifyAcme()).toMatchObject({
      ok: false,
      broken: { chain: "tenant:acme", seq: 0, problem: "missing" },
    });
  });

  it("finds a tenant with no chain at all when verifying every chain", async () => {
    db.prepare("DELETE FROM audit_events WHERE chain = 'tenant:acme'").run();
    db.prepare("DELETE FROM audit_heads WHERE chain = 'tenant:acme'").run();
    expect(await h.app.audit.verify(h.admin, {})).toMatchObject({
      ok: false,
      chains: 2,
      broken: { chain: "tenant:acme", seq: 0, problem: "missing" },
    });
  });

  it("finds a tenant's chain wiped and started again by the next change", async () => {
    db.prepare("DELETE FROM audit_events WHERE chain = 'tenant:acme'").run();
    db.prepare("DELETE FROM audit_heads WHERE chain = 'tenant:acme'").run();
    await h.app.policies.replace(h.admin, "acme", {
      policy: { posture: "platform_mfa" },
      rationale: "after the wipe",
      ifMatch: 5,
    });
    // A well-linked chain, but not the tenant's: it does not start with its creation.
    expect(await verifyAcme()).toMatchObject({
      ok: false,
      broken: { chain: "tenant:acme", seq: 1, problem: "unexpected_first_event" },
    });
  });

  it("reports progress on long runs", async () => {
    const seen: number[] = [];
    await h.app.audit.verify(h.admin, { tenant: "acme" }, (done) => seen.push(done));
    expect(seen.at(-1)).toBe(5);
  });
});
