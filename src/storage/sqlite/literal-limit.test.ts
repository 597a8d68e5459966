// Threat: a slow store is an availability problem. SQLite lets a bound LIMIT steer the query plan,
// so a statement whose LIMIT is a parameter is compiled again on every run (page.ts,
// `literalLimit`): every page and every decision's exemption lookup would pay it.
import Sqlite from "better-sqlite3";
import { afterEach, describe, expect, it, vi } from "vitest";
import { literalLimit } from "../kysely/page.js";
import { addTenant } from "../contract/fixtures.js";
import { openStore } from "../open-store.js";

afterEach(() => {
  vi.restoreAllMocks();
});

describe("limits in SQLite statements", () => {
  it("writes every LIMIT that the repositories use into the SQL, never as a bound parameter", async () => {
    const prepared: string[] = [];
    // eslint-disable-next-line @typescript-eslint/unbound-method -- called below with its database
    const prepare = Sqlite.prototype.prepare;
    vi.spyOn(Sqlite.prototype, "prepare").mockImplementation(function (
      this: Sqlite.Database,
      source: string,
    ) {
      prepared.push(source);
      return prepare.call(this, source);
    });
    const store = await openStore("sqlite::memory:");
    try {
      const tenant = await addTenant(store);
      const at = "2030-01-01T00:00:00.000Z";
      await store.read(async (r) => {
        await r.tenants.list({ limit: 10 });
        await r.policies.current(tenant);
        await r.policies.history(tenant, { limit: 10 });
        await r.mandates.current("m");
        await r.principals.list(tenant, { limit: 10 });
        await r.exemptions.list(tenant, { principal: "p", activeAt: at }, { limit: 100 });
        await r.exemptions.list(tenant, { status: "approved" }, { limit: 10 });
        await r.audit.read(`tenant:${tenant}`, { afterSeq: 0, limit: 10 });
      });
    } finally {
      await store.close();
    }
    const limited = prepared.filter((source) => /\blimit\b/i.test(source));
    expect(limited.length).toBeGreaterThanOrEqual(8);
    expect(limited.filter((source) => /\blimit\s+\?/i.test(source))).toEqual([]);
    expect(limited.some((source) => /\blimit 101\b/i.test(source))).toBe(true);
  });

  it("refuses to write anything but a positive integer into the SQL", () => {
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 60]) {
      expect(() => literalLimit(bad)).toThrow(RangeError);
    }
    expect(() => literalLimit("1; drop table tenants" as unknown as number)).toThrow(RangeError);
  });
});
