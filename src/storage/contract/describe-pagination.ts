import { describe, expect, it } from "vitest";
import type { Page } from "../../app/ports.js";
import { encodeCursor } from "../kysely/page.js";
import {
  addTenant,
  appendOne,
  fullPrincipal,
  minimalExemption,
  minimalPolicyVersion,
  tenantRecord,
  uniqueId,
} from "./fixtures.js";
import type { ContractContext } from "./store-harness.js";

/** Follows `next` from the first page to the last, returning every page. */
async function allPages<T>(
  read: (after: string | undefined) => Promise<Page<T>>,
): Promise<Page<T>[]> {
  const pages: Page<T>[] = [];
  let after: string | undefined;
  do {
    const page = await read(after);
    pages.push(page);
    after = page.next;
  } while (after !== undefined && pages.length < 100);
  return pages;
}

const sizes = <T>(pages: readonly Page<T>[]) => pages.map((page) => page.items.length);

/** Pages hold at most `limit` items, `next` leads on without loss or repeat, and ends. */
export function describePagination({ store }: ContractContext): void {
  describe("pagination", () => {
    it("pages through a tenant's principals in id order", async () => {
      const tenant = await addTenant(store());
      const ids = ["p1", "p2", "p3", "p4", "p5", "p6", "p7"];
      await store().transaction(async ({ principals }) => {
        for (const id of [...ids].reverse()) await principals.upsert(fullPrincipal(tenant, id));
      });
      const pages = await allPages((after) =>
        store().transaction(({ principals }) =>
          principals.list(tenant, { limit: 3, ...(after === undefined ? {} : { after }) }),
        ),
      );
      expect(sizes(pages)).toEqual([3, 3, 1]);
      expect(pages.flatMap((page) => page.items.map((item) => item.id))).toEqual(ids);
      expect(pages.at(-1)?.next).toBeUndefined();
    });

    it("gives no next cursor when the rows fill the last page exactly", async () => {
      const tenant = await addTenant(store());
      await store().transaction(async ({ principals }) => {
        for (const id of ["a", "b", "c", "d"]) await principals.upsert(fullPrincipal(tenant, id));
      });
      const pages = await allPages((after) =>
        store().transaction(({ principals }) =>
          principals.list(tenant, { limit: 2, ...(after === undefined ? {} : { after }) }),
        ),
      );
      expect(sizes(pages)).toEqual([2, 2]);
    });

    it("pages through every tenant, each once, in id order", async () => {
      const prefix = uniqueId("paged");
      const ids = Array.from({ length: 7 }, (_, index) => `${prefix}_${index}`);
      await store().transaction(async ({ tenants }) => {
        for (const id of ids) await tenants.insert(tenantRecord(id));
      });
      const pages = await allPages((after) =>
        store().transaction(({ tenants }) =>
          tenants.list({ limit: 3, ...(after === undefined ? {} : { after }) }),
        ),
      );
      const all = pages.flatMap((page) => page.items.map((item) => item.id));
      expect(new Set(all).size).toBe(all.length);
      expect(all.filter((id) => id.startsWith(prefix))).toEqual(ids);
      expect(pages.slice(0, -1).every((page) => page.items.length === 3)).toBe(true);
      // The ids alone come in the same pages, with the same cursors.
      const idPages = await allPages((after) =>
        store().transaction(({ tenants }) =>
          tenants.listIds({ limit: 3, ...(after === undefined ? {} : { after }) }),
        ),
      );
      expect(idPages).toEqual(
        pages.map((page) => ({ ...page, items: page.items.map((item) => item.id) })),
      );
    });

    it("pages through filtered exemptions without the rows the filter leaves out", async () => {
      const tenant = await addTenant(store());
      await store().transaction(async ({ exemptions }) => {
        for (let index = 0; index < 10; index += 1) {
          await exemptions.insert(
            minimalExemption(tenant, `ex${index}`, { principal: index % 4 === 3 ? "bob" : "ada" }),
          );
        }
      });
      const pages = await allPages((after) =>
        store().transaction(({ exemptions }) =>
          exemptions.list(
            tenant,
            { principal: "ada" },
            { limit: 3, ...(after === undefined ? {} : { after }) },
          ),
        ),
      );
      expect(sizes(pages)).toEqual([3, 3, 2]);
      expect(pages.flatMap((page) => page.items.map((item) => item.id))).toEqual([
        "ex0",
        "ex1",
        "ex2",
        "ex4",
        "ex5",
        "ex6",
        "ex8",
        "ex9",
      ]);
    });

    it("pages through policy history newest first, with next as the version to read before", async () => {
      const tenant = await addTenant(store());
      await store().transaction(async ({ policies }) => {
        for (let version = 1; version <= 7; version += 1) {
          await policies.insert(minimalPolicyVersion(tenant, version));
        }
      });
      const pages = await allPages((after) =>
        store().transaction(({ policies }) =>
          policies.history(tenant, {
            limit: 3,
            ...(after === undefined ? {} : { before: Number(after) }),
          }),
        ),
      );
      expect(pages.map((page) => page.items.map((item) => item.version))).toEqual([
        [7, 6, 5],
        [4, 3, 2],
        [1],
      ]);
      expect(pages.map((page) => page.next)).toEqual(["5", "2", undefined]);
    });

    it("reads an audit chain in slices after a given seq", async () => {
      const chain = uniqueId("chain");
      for (let index = 0; index < 7; index += 1) await appendOne(store(), chain);
      const read = (afterSeq: number) =>
        store().transaction(({ audit }) => audit.read(chain, { afterSeq, limit: 3 }));
      const slices = await Promise.all([0, 3, 6, 7].map(read));
      expect(slices.map((events) => events.map((event) => event.seq))).toEqual([
        [1, 2, 3],
        [4, 5, 6],
        [7],
        [],
      ]);
    });

    it("refuses a limit below one, a caller bug that would page forever", async () => {
      await expect(
        store().transaction(({ tenants }) => tenants.list({ limit: 0 })),
      ).rejects.toThrow(RangeError);
    });

    // A cursor comes from a client: garbage must be refused, not read as some key (which would
    // answer an empty page, or the first page again, as if it were a real position).
    it.each([
      ["text outside base64url", "garbage!"],
      ["a NUL", "\u0000"],
      ["an emoji", "\u{1F600}"],
      ["a non-canonical encoding of a real key", `${encodeCursor("p1")}=`],
      ["bytes that are not UTF-8", Buffer.from([0xff, 0xfe]).toString("base64url")],
    ])("refuses a cursor with %s as request.invalid, on every paged list", async (_, after) => {
      const tenant = await addTenant(store());
      const refusal = { name: "AppError", code: "request.invalid" };
      await expect(
        store().transaction(({ tenants }) => tenants.list({ limit: 2, after })),
      ).rejects.toMatchObject(refusal);
      await expect(
        store().transaction(({ tenants }) => tenants.listIds({ limit: 2, after })),
      ).rejects.toMatchObject(refusal);
      await expect(
        store().transaction(({ principals }) => principals.list(tenant, { limit: 2, after })),
      ).rejects.toMatchObject(refusal);
      await expect(
        store().transaction(({ exemptions }) => exemptions.list(tenant, {}, { limit: 2, after })),
      ).rejects.toMatchObject(refusal);
    });
  });
}
