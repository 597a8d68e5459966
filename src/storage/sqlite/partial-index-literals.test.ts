// Threat: a slow store is an availability problem. SQLite may use a partial index only where the
// query's WHERE implies the index's; when the query compares the predicate's column with a bound
// parameter, the plan depends on the value, so SQLite compiles the statement again on every run
// (about 10–20 µs here). The exemption lookup of every decision and the accepted step of every
// TOTP sign-in compare `status`, which the partial indexes of 0022 and 0024 name: the constant is
// written into the SQL, as literal-limit.test.ts has LIMIT written.
import Sqlite from "better-sqlite3";
import { afterEach, describe, expect, it, vi } from "vitest";
import { addTenant } from "../contract/fixtures.js";
import { openStore } from "../open-store.js";

afterEach(() => {
  vi.restoreAllMocks();
});

/** The partial indexes of a SQLite store: their table and the columns their WHERE compares. */
function partialIndexes(database: Sqlite.Database): { table: string; columns: string[] }[] {
  const rows = database
    .prepare("select tbl_name as tableName, sql from sqlite_master where type = 'index'")
    .all() as { tableName: string; sql: string | null }[];
  return rows.flatMap(({ tableName, sql }) => {
    const predicate = /\bwhere\b(.*)$/is.exec(sql ?? "")?.[1];
    if (predicate === undefined) return [];
    const columns = [...predicate.matchAll(/"?(\w+)"?\s*=/g)].map((match) => match[1] ?? "");
    return [{ table: tableName, columns }];
  });
}

describe("the values partial indexes name, in SQLite statements", () => {
  it("are written into the SQL of the sign-in's and the decision's statements, never bound", async () => {
    const prepared: string[] = [];
    const databases = new Set<Sqlite.Database>();
    // eslint-disable-next-line @typescript-eslint/unbound-method -- called below with its database
    const prepare = Sqlite.prototype.prepare;
    vi.spyOn(Sqlite.prototype, "prepare").mockImplementation(function (
      this: Sqlite.Database,
      source: string,
    ) {
      databases.add(this);
      prepared.push(source);
      return prepare.call(this, source);
    });
    const store = await openStore("sqlite::memory:");
    let indexes: { table: string; columns: string[] }[] = [];
    try {
      const tenant = await addTenant(store);
      const at = "2030-01-01T00:00:00.000Z";
      prepared.length = 0;
      await store.read(async (r) => {
        await r.exemptions.list(tenant, { principal: "p", activeAt: at }, { limit: 100 });
        await r.exemptions.list(tenant, { activeAt: at }, { limit: 100 });
        await r.exemptions.countApprovedOverlapping(tenant, { from: at, to: at });
        await r.enrolments.enrolledPrincipals(tenant);
      });
      await store.transaction(async (r) => {
        await r.authenticators.acceptStep(tenant, "p", "a", 1, at);
        await r.authenticators.activate(tenant, "p", "a", 1, at);
      });
      const [database] = databases;
      if (database === undefined) throw new Error("No statement was prepared.");
      indexes = partialIndexes(database);
    } finally {
      await store.close();
    }
    expect(indexes.map((index) => index.table).sort()).toEqual(["authenticators", "exemptions"]);
    const bound = prepared.filter((source) =>
      indexes.some(
        ({ table, columns }) =>
          new RegExp(`(from|update) "${table}"`, "i").test(source) &&
          // What a statement compares, from its (first) WHERE on; a SET may bind the value.
          columns.some((column) =>
            new RegExp(`"${column}" = \\?`).test(source.slice(source.search(/\bwhere\b/i))),
          ),
      ),
    );
    expect(prepared.length).toBeGreaterThanOrEqual(6);
    expect(bound).toEqual([]);
  });
});
