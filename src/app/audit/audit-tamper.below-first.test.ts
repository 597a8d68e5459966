// Threat: someone with write access to the database inserts audit events before a chain's
// start (at position 0 or below, which no append writes). Verification followed each chain from
// position 1 and never read them, so `audit verify` answered ok; yet the decision API found such
// an event by id and took it as tenant-mfa's record of a TOTP verification: a forged step of MFA
// that turned a decision into allow, with the chain "intact". Every row of a chain is now read
// from the first stored, and an event is found by id only from position 1.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Caller } from "../application.js";
import { openHarness, type Harness } from "../test-support/harness.js";
import { enrolTotp } from "../test-support/totp-principals.js";
import { linkEvent } from "./audit-chain.js";

describe("audit events stored before a chain's first position", () => {
  let dir: string;
  let h: Harness;
  let db: Database.Database;
  let service: Caller;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "tenant-mfa-audit-below-"));
    const file = join(dir, "store.db");
    h = await openHarness({ url: `sqlite:${file}` });
    await h.app.tenants.create(h.admin, { id: "acme", name: "Acme" });
    await h.app.policies.replace(h.admin, "acme", {
      policy: { posture: "platform_mfa" },
      rationale: "MFA on the platform",
      ifMatch: 1,
    });
    service = await h.caller(["platform_service"], ["acme"]);
    db = new Database(file);
  });
  afterEach(async () => {
    db.close();
    await h.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Alice's sign-in at `at` with a password and a TOTP event naming `evt_forged_totp`. */
  const decideCitingForgedTotp = (at: string) =>
    h.app.decisions.decide(service, "acme", {
      principal: { id: "alice" },
      evidence: {
        events: [
          { method: "password", source: "platform", at },
          { method: "totp", source: "platform", at, verification: "evt_forged_totp" } as never,
        ],
      },
    });

  /** Inserts a self-consistent event of acme's chain (its hash matches it) at `seq`. */
  function insert(
    seq: number | string,
    id: string,
    type: string,
    payload: Record<string, unknown>,
  ) {
    const at = h.clock.now().toISOString();
    const event = {
      ...linkEvent({ tenant: "acme", type, actor: "forger", payload }, undefined, id, at),
      seq: seq as number,
    };
    db.prepare(
      `INSERT INTO audit_events (chain, seq, id, tenant, type, actor, at, payload, prev_hash, hash)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      event.chain,
      seq,
      id,
      event.tenant,
      event.type,
      event.actor,
      event.at,
      JSON.stringify(event.payload),
      event.prevHash,
      event.hash,
    );
  }

  it("reports them, verifying the tenant or every chain, and lists them", async () => {
    insert(0, "evt_inserted_0", "policy.replaced", { note: "inserted" });
    insert(-5, "evt_inserted_minus_5", "policy.replaced", { note: "inserted" });
    const broken = { chain: "tenant:acme", seq: -5, problem: "reordered" };
    expect(await h.app.audit.verify(h.admin, { tenant: "acme" })).toMatchObject({
      ok: false,
      broken,
    });
    expect(await h.app.audit.verify(h.admin, {})).toMatchObject({ ok: false, broken });
    const listed = await h.app.audit.list(h.admin, "acme", {}, {});
    expect(listed.items.map((e) => e.seq)).toEqual([-5, 0, 1, 2]);
  });

  it("never takes one as the record of a verification that a decision names", async () => {
    await enrolTotp(h, service, "acme", "alice");
    h.clock.advance(3600);
    const at = h.clock.now().toISOString();
    insert(0, "evt_forged_totp", "authenticator.verified", { principal: "alice" });
    await expect(decideCitingForgedTotp(at)).rejects.toMatchObject({
      code: "evidence.unverified",
    });
  });

  // SQLite keeps text written to its integer column as text, which it orders after every number
  // (`seq >= 1` holds for 'x'): such a row is no more in the chain than one at position 0.
  it("never takes one at a position that is not a number as the record of a verification", async () => {
    await enrolTotp(h, service, "acme", "alice");
    h.clock.advance(3600);
    const at = h.clock.now().toISOString();
    insert("x", "evt_forged_totp", "authenticator.verified", { principal: "alice" });
    expect(await h.app.audit.verify(h.admin, { tenant: "acme" })).toMatchObject({
      ok: false,
      broken: { chain: "tenant:acme", problem: "gap" },
    });
    await expect(decideCitingForgedTotp(at)).rejects.toMatchObject({
      code: "evidence.unverified",
    });
  });

  // Nor is a row at a fractional position, which SQLite keeps as a real number between two
  // positions (`seq >= 1` holds for 1.5): no event was ever appended there.
  it("never takes one at a fractional position as the record of a verification", async () => {
    await enrolTotp(h, service, "acme", "alice");
    h.clock.advance(3600);
    const at = h.clock.now().toISOString();
    insert(1.5, "evt_forged_totp", "authenticator.verified", { principal: "alice" });
    expect(await h.app.audit.verify(h.admin, { tenant: "acme" })).toMatchObject({ ok: false });
    await expect(decideCitingForgedTotp(at)).rejects.toMatchObject({
      code: "evidence.unverified",
    });
  });
});
