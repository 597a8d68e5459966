import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Kysely } from "kysely";
import { createSqliteKysely, IN_MEMORY } from "../sqlite/create-sqlite-kysely.js";
import { migrateToLatest } from "../migrations/migrate-to-latest.js";
import type { Database } from "./database.js";
import { queryTemplate } from "./query-template.js";

describe("query templates", () => {
  let db: Kysely<Database>;
  beforeAll(async () => {
    db = createSqliteKysely(IN_MEMORY);
    await migrateToLatest(db);
    await db
      .insertInto("tenants")
      .values(
        ["acme", "beta", "gamma"].map((id) => ({
          id,
          name: id,
          created_at: "2026-01-01T00:00:00Z",
          return_urls: "[]",
        })),
      )
      .execute();
  });
  afterAll(() => db.destroy());

  const tenantsBetween = queryTemplate<{ id: string }, [string, string]>(2, (q, from, to) =>
    q
      .selectFrom("tenants")
      .select("id")
      .where("id", ">=", from)
      .where("id", "<=", to)
      .orderBy("id")
      .limit(2),
  );

  it("binds each call's values in place of the placeholders, keeping the constants", async () => {
    expect((await tenantsBetween(db, "acme", "gamma")).rows).toEqual([
      { id: "acme" },
      { id: "beta" },
    ]);
    expect((await tenantsBetween(db, "beta", "zzz")).rows).toEqual([
      { id: "beta" },
      { id: "gamma" },
    ]);
  });

  it("runs inside a transaction like any query", async () => {
    const rows = await db
      .transaction()
      .execute(async (trx) => (await tenantsBetween(trx, "gamma", "gamma")).rows);
    expect(rows).toEqual([{ id: "gamma" }]);
  });
});
