import { describe, expect, it } from "vitest";
import type { AuditEvent } from "../../app/records.js";
import { appendOne, at, chainLink, findChainBreak, GENESIS_HASH, uniqueId } from "./fixtures.js";
import type { ContractContext } from "./store-harness.js";

/** The audit chain: appends see the true head, so the chain has no fork and no gap. */
export function describeAuditChain({ store }: ContractContext): void {
  const readAll = (chain: string) =>
    store().transaction(({ audit }) => audit.read(chain, { afterSeq: 0, limit: 500 }));

  describe("audit chain", () => {
    it("hands no head to the first link, then the previous event's seq and hash", async () => {
      const chain = uniqueId("chain");
      const heads: unknown[] = [];
      const first = await appendOne(store(), chain, { onHead: (head) => heads.push(head) });
      const second = await appendOne(store(), chain, { onHead: (head) => heads.push(head) });
      expect(heads).toEqual([undefined, { seq: 1, hash: first.hash }]);
      expect([first.seq, second.seq]).toEqual([1, 2]);
      expect([first.prevHash, second.prevHash]).toEqual([GENESIS_HASH, first.hash]);
    });

    it("reports the head: none for an unknown chain, then the last event appended", async () => {
      const chain = uniqueId("chain");
      const headOf = () => store().transaction(({ audit }) => audit.head(chain));
      expect(await headOf()).toBeUndefined();
      await appendOne(store(), chain);
      const last = await appendOne(store(), chain);
      expect(await headOf()).toEqual({ seq: 2, hash: last.hash });
    });

    it("reads a chain in ascending seq order", async () => {
      const chain = uniqueId("chain");
      for (let index = 0; index < 5; index += 1) await appendOne(store(), chain);
      const events = await readAll(chain);
      expect(events.map((event) => event.seq)).toEqual([1, 2, 3, 4, 5]);
      expect(findChainBreak(events)).toBeUndefined();
    });

    it("chains appends made in one transaction, across two chains at once", async () => {
      const [left, right] = [uniqueId("chain"), uniqueId("chain")];
      await store().transaction(async ({ audit }) => {
        for (const chain of [left, right, left, right, left]) {
          await audit.append(chain, chainLink(chain));
        }
      });
      const [leftEvents, rightEvents] = await Promise.all([readAll(left), readAll(right)]);
      expect(leftEvents.map((event) => event.seq)).toEqual([1, 2, 3]);
      expect(rightEvents.map((event) => event.seq)).toEqual([1, 2]);
      expect(findChainBreak(leftEvents)).toBeUndefined();
      expect(findChainBreak(rightEvents)).toBeUndefined();
    });

    it("filters by type, from (inclusive) and to (exclusive), keeping seq order", async () => {
      const chain = uniqueId("chain");
      const plan: [string, string][] = [
        ["policy.changed", at(10)],
        ["decision", at(20)],
        ["decision", at(30)],
        ["exemption.approved", at(40)],
        ["decision", at(50)],
      ];
      for (const [type, time] of plan) await appendOne(store(), chain, { type, at: time });
      const read = (filter: { type?: string; from?: string; to?: string }) =>
        store().transaction(async ({ audit }) =>
          (await audit.read(chain, { afterSeq: 0, limit: 100, filter })).map((event) => event.seq),
        );
      expect(await read({ type: "decision" })).toEqual([2, 3, 5]);
      expect(await read({ from: at(20), to: at(40) })).toEqual([2, 3]);
      expect(await read({ type: "decision", from: at(30) })).toEqual([3, 5]);
      expect(await read({ to: "2030-01-01T00:00:20Z" })).toEqual([1]);
      // Past year 9999 in UTC an instant has no text that compares in order ("+010000-…"): a
      // window bound there is refused, never compared as garbage (the service answers 400 first).
      for (const filter of [
        { from: "9999-12-31T23:59:59-23:59" },
        { to: "9999-12-31T23:59:59-23:59" },
      ])
        await expect(read(filter)).rejects.toThrow(RangeError);
    });

    it("applies the limit after the filter", async () => {
      const chain = uniqueId("chain");
      for (const type of ["a", "b", "a", "b", "a"]) await appendOne(store(), chain, { type });
      const events = await store().transaction(({ audit }) =>
        audit.read(chain, { afterSeq: 1, limit: 2, filter: { type: "a" } }),
      );
      expect(events.map((event) => event.seq)).toEqual([3, 5]);
    });

    it("finds an event by id within its chain only", async () => {
      const [chain, other] = [uniqueId("chain"), uniqueId("chain")];
      await appendOne(store(), chain);
      const second = await appendOne(store(), chain, { type: "decision" });
      await appendOne(store(), other);
      const found = await store().transaction(async ({ audit }) => ({
        same: await audit.find(chain, second.id),
        otherChain: await audit.find(other, second.id),
        unknown: await audit.find(chain, uniqueId("evt")),
      }));
      expect(found).toEqual({ same: second, otherChain: undefined, unknown: undefined });
    });

    it("finds an event by id in whichever chain holds it", async () => {
      const [chain, other] = [uniqueId("chain"), uniqueId("chain")];
      await appendOne(store(), chain);
      const inOther = await appendOne(store(), other, { type: "decision" });
      const found = await store().transaction(async ({ audit }) => ({
        anywhere: await audit.findAnywhere(inOther.id),
        unknown: await audit.findAnywhere(uniqueId("evt")),
      }));
      expect(found).toEqual({ anywhere: inOther, unknown: undefined });
    });

    it("lists the chains that have events", async () => {
      const chains = [uniqueId("chain"), uniqueId("chain")];
      for (const chain of chains) await appendOne(store(), chain);
      const listed = await store().transaction(({ audit }) => audit.chains());
      expect(listed).toEqual(expect.arrayContaining(chains));
      expect(listed).toEqual([...listed].sort());
    });

    it("lists every chain that holds events once, in order, and none whose append rolled back", async () => {
      const chains = [uniqueId("chain"), uniqueId("chain")];
      for (const chain of chains) {
        await appendOne(store(), chain);
        await appendOne(store(), chain);
      }
      const abandoned = uniqueId("chain");
      await expect(
        store().transaction(async ({ audit }) => {
          await audit.append(abandoned, chainLink(abandoned));
          throw new Error("rolled back");
        }),
      ).rejects.toThrow("rolled back");
      const listed = await store().transaction(({ audit }) => audit.chainsWithEvents());
      expect(listed).toEqual(expect.arrayContaining(chains));
      expect(listed).not.toContain(abandoned);
      expect(new Set(listed).size).toBe(listed.length);
      expect(listed).toEqual([...listed].sort());
      // Every chain with a head holds events: the two lists agree on an untampered store.
      const headed = await store().transaction(({ audit }) => audit.chains());
      expect(listed).toEqual(headed);
    });

    it("gives 50 concurrent appends seq 1 to 50, each linked to the one before", async () => {
      const chain = uniqueId("chain");
      await Promise.all(Array.from({ length: 50 }, () => appendOne(store(), chain)));
      const events = await readAll(chain);
      expect(events).toHaveLength(50);
      expect(findChainBreak(events)).toBeUndefined();
    });

    it.each<[string, (event: AuditEvent) => AuditEvent, RegExp]>([
      ["skips a seq", (event) => ({ ...event, seq: event.seq + 1 }), /seq 3, not 2/],
      ["repeats a seq", (event) => ({ ...event, seq: event.seq - 1 }), /seq 1, not 2/],
      ["forks from the head", (event) => ({ ...event, prevHash: GENESIS_HASH }), /does not chain/],
      ["names another chain", (event) => ({ ...event, chain: "other" }), /of chain other/],
    ])("refuses a link that %s and stores nothing", async (_, corrupt, message) => {
      const chain = uniqueId("chain");
      await appendOne(store(), chain);
      const link = chainLink(chain);
      await expect(
        store().transaction(({ audit }) => audit.append(chain, (head) => corrupt(link(head)))),
      ).rejects.toThrow(message);
      expect((await readAll(chain)).map((event) => event.seq)).toEqual([1]);
    });

    it("refuses an event time not in toISOString() form, which its hash would not survive", async () => {
      const chain = uniqueId("chain");
      await expect(appendOne(store(), chain, { at: "2030-01-01T00:00:00Z" })).rejects.toThrow(
        /toISOString/,
      );
      expect(await readAll(chain)).toEqual([]);
    });
  });
}

/**
 * A row written behind the store below a chain's first position, which no append writes there
 * (`AuditStore.read` and `find`): read from the first row stored, so that verification reports
 * it, and never found by id, so that nothing takes it for a recorded event. Described only for
 * stores another connection reaches (`ContractOptions.tamperable`).
 */
export function describeAuditRowsBeforeFirst({ store, harness }: ContractContext): void {
  describe("audit rows before a chain's first position", () => {
    const chain = uniqueId("chain");
    const before = uniqueId("evt_before");
    const tamper = (statements: readonly string[]): Promise<void> => {
      const behindTheStore = harness().tamper;
      if (behindTheStore === undefined) throw new Error("The harness cannot tamper with its store");
      return behindTheStore(statements);
    };

    it("reads it first without afterSeq, and never finds it by id", async () => {
      const first = await appendOne(store(), chain);
      await tamper([
        `INSERT INTO audit_events (chain, seq, id, tenant, type, actor, at, payload, prev_hash, hash)
         VALUES ('${chain}', 0, '${before}', NULL, 'inserted', 'forger', '${at(0)}', '{}',
                 '${GENESIS_HASH}', '${GENESIS_HASH}')`,
      ]);
      try {
        const seen = await store().read(async ({ audit }) => ({
          fromFirstRow: (await audit.read(chain, { limit: 10 })).map((e) => e.seq),
          afterZero: (await audit.read(chain, { afterSeq: 0, limit: 10 })).map((e) => e.seq),
          inChain: await audit.find(chain, before),
          anywhere: await audit.findAnywhere(before),
          appended: (await audit.find(chain, first.id))?.id,
        }));
        expect(seen).toEqual({
          fromFirstRow: [0, 1],
          afterZero: [1],
          inChain: undefined,
          anywhere: undefined,
          appended: first.id,
        });
      } finally {
        await tamper([`DELETE FROM audit_events WHERE id = '${before}'`]);
      }
    });
  });
}
