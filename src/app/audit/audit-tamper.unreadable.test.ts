// Threat: someone with write access to the database overwrites an audit event's payload, or a
// decision receipt's decision or input summary, with text that is not JSON. The store never
// writes such text, so only tampering leaves it: `audit verify` must name the broken link, as
// it does for any other edit, listing the chain must say it is damaged, and the receipt must be
// refused as tampered. Reported as "the store cannot be reached", the tampering would pass for
// an outage, and an auditor would retry rather than look, learning neither that nor where the
// chain was changed.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Caller } from "../application.js";
import type { Harness } from "../test-support/harness.js";
import { describeOnPostgres } from "../test-support/postgres-instances.js";
import {
  openPostgresWorld,
  openSqliteWorld,
  type TamperedWorld,
} from "../test-support/tampered-world.js";
import { chainOf } from "./audit-chain.js";

const unreadableTests = (open: () => Promise<TamperedWorld>) => () => {
  let world: TamperedWorld | undefined;
  let h: Harness;
  let first: string;
  let second: string;

  beforeEach(async () => {
    world = await open();
    ({ h } = world);
    for (const id of ["acme", "globex"]) await h.app.tenants.create(h.admin, { id, name: id });
    await h.app.principals.upsert(h.admin, "acme", "alice", { population: "direct" });
    const service: Caller = await h.caller(["platform_service"], ["acme"]);
    const decide = async () =>
      (
        await h.app.decisions.decide(service, "acme", {
          principal: { id: "alice" },
          evidence: {
            events: [{ method: "password", source: "platform", at: h.clock.now().toISOString() }],
          },
        })
      ).id ?? "";
    first = await decide();
    second = await decide();
  });
  afterEach(async () => {
    await world?.close();
  });

  const tamper = (statements: readonly string[]) => {
    if (world === undefined) throw new Error("not set up");
    return world.tamper(statements);
  };
  const recordedSeq = async (decision: string): Promise<number> => {
    const event = await h.store.read((r) => r.audit.find(chainOf("acme"), `evt_${decision}`));
    if (event === undefined) throw new Error(`no event records ${decision}`);
    return event.seq;
  };
  const expectBroken = async (seq: number, problem: string) => {
    const broken = { chain: "tenant:acme", seq, problem };
    expect(await h.app.audit.verify(h.admin, { tenant: "acme" })).toEqual({
      ok: false,
      chains: 1,
      events: seq - 1,
      broken,
    });
    expect(await h.app.audit.verify(h.admin, {})).toMatchObject({ ok: false, broken });
  };

  it("finds an event whose payload is no longer JSON, after verifying the events before it", async () => {
    const seq = await recordedSeq(first);
    await tamper([`UPDATE audit_events SET payload = '{"decision":' WHERE id = 'evt_${first}'`]);
    await expectBroken(seq, "hash_mismatch");
  });

  // JSON.parse keeps the last of a member given twice, and the hash covers what it keeps: a
  // reader of the row that takes the first (or a number spelled otherwise, or spaces the store
  // never writes) reads what no hash covers. The store writes JSON.stringify's text, and reads
  // back only that.
  it.each([
    ["a member given twice, the first forged", `'{"decision":"dec_forged",' || substr(payload, 2)`],
    ["spaces the store never writes", `' ' || payload`],
  ])(
    "finds an event whose payload holds %s, though what JSON.parse keeps of it hashes as before",
    async (_, text) => {
      const seq = await recordedSeq(first);
      await tamper([`UPDATE audit_events SET payload = ${text} WHERE id = 'evt_${first}'`]);
      await expectBroken(seq, "hash_mismatch");
      const auditor = await h.caller(["tenant_auditor"], ["acme"]);
      await expect(h.app.audit.list(auditor, "acme", {}, {})).rejects.toMatchObject({
        code: "audit.chain_damaged",
      });
    },
  );

  it("refuses to list a chain past an event whose payload is no longer JSON, as damaged, not as an outage", async () => {
    const seq = await recordedSeq(first);
    await tamper([
      `UPDATE audit_events SET payload = 'not json' WHERE id = 'evt_${first}'`,
      "UPDATE audit_events SET payload = 'not json' WHERE chain = 'platform' AND seq = 2",
    ]);
    const auditor = await h.caller(["tenant_auditor"], ["acme"]);
    await expect(h.app.audit.list(auditor, "acme", {}, {})).rejects.toMatchObject({
      code: "audit.chain_damaged",
      message: expect.stringContaining(`Event ${String(seq)} of tenant:acme`) as unknown,
    });
    await expect(h.app.audit.list(h.admin, null, {}, {})).rejects.toMatchObject({
      code: "audit.chain_damaged",
      message: expect.stringContaining("Event 2 of platform") as unknown,
    });
    // The events before it are still listed.
    const before = await h.app.audit.list(auditor, "acme", {}, { limit: seq - 1 });
    expect(before.items.map((e) => e.seq)).toEqual(
      Array.from({ length: seq - 1 }, (_, i) => i + 1),
    );
  });

  it("finds the first of two events whose payloads are no longer JSON", async () => {
    const seq = await recordedSeq(first);
    await tamper([
      `UPDATE audit_events SET payload = 'not json' WHERE id IN ('evt_${first}', 'evt_${second}')`,
    ]);
    await expectBroken(seq, "hash_mismatch");
  });

  it("finds an edit before an unreadable event first", async () => {
    const seq = await recordedSeq(first);
    await tamper([
      `UPDATE audit_events SET actor = 'someone else' WHERE id = 'evt_${first}'`,
      `UPDATE audit_events SET payload = 'not json' WHERE id = 'evt_${second}'`,
    ]);
    await expectBroken(seq, "hash_mismatch");
  });

  it.each([["decision"], ["input_summary"]])(
    "finds a receipt whose %s is no longer JSON, and refuses to serve it",
    async (column) => {
      await tamper([`UPDATE receipts SET ${column} = '{"outcome":"allow"' WHERE id = '${second}'`]);
      await expectBroken(await recordedSeq(second), "receipt_mismatch");
      await expect(h.app.decisions.receipt(h.admin, second)).rejects.toMatchObject({
        code: "receipt.tampered",
      });
      // Still found only by those who may read the receipt's tenant.
      const outsider = await h.caller(["tenant_auditor"], ["globex"]);
      await expect(h.app.decisions.receipt(outsider, second)).rejects.toMatchObject({
        code: "not_found",
      });
      // The untouched receipt is still served.
      expect(await h.app.decisions.receipt(h.admin, first)).toMatchObject({
        recordedBy: `evt_${first}`,
      });
    },
  );

  // The digest covers what JSON.parse keeps of the receipt's text, in the order of its members'
  // first appearance: its first member given twice, the first forged, keeps that order, and
  // would be served, and verified, as the receipt its event bound.
  it.each([
    ["decision", "decision"],
    ["input_summary", "inputSummary"],
  ] as const)(
    "finds a receipt whose %s holds its first member twice, the first forged, and refuses to serve it",
    async (column, field) => {
      const receipt = await h.store.read((r) => r.receipts.get(second));
      const [name] = Object.keys(receipt?.[field] ?? {});
      if (name === undefined) throw new Error(`the receipt's ${field} has no member`);
      await tamper([
        `UPDATE receipts SET ${column} = '{"${name}":"forged",' || substr(${column}, 2) WHERE id = '${second}'`,
      ]);
      await expectBroken(await recordedSeq(second), "receipt_mismatch");
      await expect(h.app.decisions.receipt(h.admin, second)).rejects.toMatchObject({
        code: "receipt.tampered",
      });
    },
  );

  // JSON.parse reads any depth; writing the value again, to compare it with the text, overflows
  // the stack: a row nested so deep is as unreadable as one that is not JSON, not an outage.
  it.each([
    ["receipts", "decision", "receipt_mismatch", () => second],
    ["audit_events", "payload", "hash_mismatch", () => `evt_${first}`],
  ])(
    "finds a row of %s whose %s nests deeper than the stack",
    async (table, column, problem, id) => {
      const deep = `'{"deep":${"[".repeat(200_000)}${"]".repeat(200_000)}}'`;
      const seq = await recordedSeq(table === "receipts" ? second : first);
      await tamper([`UPDATE ${table} SET ${column} = ${deep} WHERE id = '${id()}'`]);
      await expectBroken(seq, problem);
    },
  );

  it("refuses to serve a receipt whose recording event's payload is no longer JSON", async () => {
    await tamper([`UPDATE audit_events SET payload = 'not json' WHERE id = 'evt_${first}'`]);
    await expect(h.app.decisions.receipt(h.admin, first)).rejects.toMatchObject({
      code: "receipt.tampered",
    });
  });
};

describe(
  "audit verify of records that are no longer JSON (SQLite)",
  unreadableTests(openSqliteWorld),
);

describeOnPostgres(
  {
    title: "audit verify of records that are no longer JSON (PostgreSQL)",
    skippedTitle: "audit verify of records that are no longer JSON (PostgreSQL)",
    tests: "audit verify tests on PostgreSQL",
  },
  unreadableTests(openPostgresWorld),
);
