// Threat: running the hot path's queries straight on SQLite's one connection, past Kysely's
// connection hand-off, must not let a read see another transaction's uncommitted rows, hide a
// failing statement, or let a transaction that has ended run anything.
import type { Kysely } from "kysely";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Store } from "../../app/ports.js";
import { chainLink, tenantRecord } from "../contract/fixtures.js";
import { openStore } from "../open-store.js";
import { migrateToLatest } from "../migrations/migrate-to-latest.js";
import { createSqliteKysely, IN_MEMORY } from "../sqlite/create-sqlite-kysely.js";
import type { Database } from "./database.js";
import { directExecution, withDirectExecution } from "./direct-execution.js";
import { WORK_ENDED } from "./group-commit.js";
import { queryTemplate } from "./query-template.js";

const tenantIds = queryTemplate<{ id: string }, [string]>(1, (q, id) =>
  q.selectFrom("tenants").select("id").where("id", "=", id),
);
const insertTenant = queryTemplate<never, [string]>(1, (q, id) =>
  q
    .insertInto("tenants")
    .values({ id, name: id, created_at: "2026-01-01T00:00:00Z", return_urls: "[]" }),
);

/** A promise that one side awaits and the other settles, to interleave two call chains. */
function signal(): { fired: Promise<void>; fire: () => void } {
  let fire: () => void = () => undefined;
  const fired = new Promise<void>((resolve) => {
    fire = resolve;
  });
  return { fired, fire };
}

describe("direct execution on SQLite", () => {
  let db: Kysely<Database>;
  beforeEach(async () => {
    db = createSqliteKysely(IN_MEMORY);
    await migrateToLatest(db);
  });
  afterEach(() => db.destroy());

  it("runs a transaction's queries directly only while it is under way", async () => {
    let ended: Kysely<Database> | undefined;
    await db.transaction().execute(async (trx) => {
      expect(directExecution(trx)).toBeUndefined();
      await withDirectExecution(trx, async () => {
        expect(directExecution(trx)).toBeDefined();
        await insertTenant(trx, "acme");
        expect((await tenantIds(trx, "acme")).rows).toEqual([{ id: "acme" }]);
      });
      ended = trx;
    });
    // Refused, as Kysely refuses a transaction that has committed.
    await expect(async () => tenantIds(ended as Kysely<Database>, "acme")).rejects.toThrow(
      WORK_ENDED,
    );
  });

  it("runs a query outside a transaction directly only while nothing holds the connection", async () => {
    expect(directExecution(db)).toBeDefined();
    const held = signal();
    const begun = signal();
    const transaction = db.transaction().execute(async () => {
      begun.fire();
      await held.fired;
    });
    await begun.fired;
    expect(directExecution(db)).toBeUndefined();
    const waiting = tenantIds(db, "acme");
    held.fire();
    await transaction;
    expect((await waiting).rows).toEqual([]);
    expect(directExecution(db)).toBeDefined();
  });

  it("rejects, not throws, when a statement fails, and the transaction then rolls back", async () => {
    const outcome = db.transaction().execute((trx) =>
      withDirectExecution(trx, async () => {
        await insertTenant(trx, "acme");
        const again = insertTenant(trx, "acme");
        expect(again).toBeInstanceOf(Promise);
        await again;
      }),
    );
    await expect(outcome).rejects.toThrow(/UNIQUE constraint failed/);
    expect((await tenantIds(db, "acme")).rows).toEqual([]);
  });
});

describe("direct execution on a SQLite file, with its read connection", () => {
  let folder: string;
  let db: Kysely<Database>;
  beforeEach(async () => {
    folder = mkdtempSync(join(tmpdir(), "tenant-mfa-direct-"));
    db = createSqliteKysely(join(folder, "store.db"));
    await migrateToLatest(db);
  });
  afterEach(async () => {
    await db.destroy();
    rmSync(folder, { recursive: true, force: true });
  });

  it("reads committed rows only, at once, while a transaction holds the connection", async () => {
    await insertTenant(db, "before");
    const held = signal();
    const inserted = signal();
    const transaction = db.transaction().execute((trx) =>
      withDirectExecution(trx, async () => {
        await insertTenant(trx, "acme");
        inserted.fire();
        await held.fired;
      }),
    );
    await inserted.fired;
    // Not a write, nor a read through Kysely: those wait their turn.
    expect(directExecution(db)).toBeUndefined();
    expect(directExecution(db, true)).toBeDefined();
    // Answered while the transaction is still open: it did not wait for it.
    const settled = await Promise.race([
      Promise.all([tenantIds(db, "acme"), tenantIds(db, "before")]),
      held.fired.then(() => "waited" as const),
    ]);
    expect(settled).toEqual([{ rows: [] }, { rows: [{ id: "before" }] }]);
    held.fire();
    await transaction;
    expect((await tenantIds(db, "acme")).rows).toEqual([{ id: "acme" }]);
  });

  it("never lets such a read see a row that the transaction then rolls back", async () => {
    const held = signal();
    const inserted = signal();
    const failing = db.transaction().execute((trx) =>
      withDirectExecution(trx, async () => {
        await insertTenant(trx, "acme");
        inserted.fire();
        await held.fired;
        throw new Error("rolled back on purpose");
      }),
    );
    await inserted.fired;
    const read = tenantIds(db, "acme");
    held.fire();
    await expect(failing).rejects.toThrow("rolled back on purpose");
    expect((await read).rows).toEqual([]);
    expect((await tenantIds(db, "acme")).rows).toEqual([]);
  });

  it("writes outside a transaction still wait for the one that holds the connection", async () => {
    const held = signal();
    const begun = signal();
    const transaction = db.transaction().execute(async () => {
      begun.fire();
      await held.fired;
    });
    await begun.fired;
    let written = false;
    const write = insertTenant(db, "acme").then(() => {
      written = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(written).toBe(false);
    held.fire();
    await transaction;
    await write;
    expect((await tenantIds(db, "acme")).rows).toEqual([{ id: "acme" }]);
  });
});

describe("a SQLite store with direct execution", () => {
  let store: Store;
  beforeEach(async () => {
    store = await openStore("sqlite::memory:", { detectNesting: false });
  });
  afterEach(() => store.close());

  it("never lets a read outside the transaction see a row that the transaction then rolls back", async () => {
    const held = signal();
    const inserted = signal();
    const failing = store.transaction(async (r) => {
      await r.tenants.insert(tenantRecord("acme"));
      inserted.fire();
      await held.fired;
      throw new Error("rolled back on purpose");
    });
    await inserted.fired;
    const read = store.read((r) => r.tenants.get("acme"));
    held.fire();
    await expect(failing).rejects.toThrow("rolled back on purpose");
    expect(await read).toBeUndefined();
  });

  it("commits nothing of a grouped transaction that failed with an audit append still under way", async () => {
    const turn = () => new Promise((resolve) => setImmediate(resolve));
    let late: Promise<unknown> = Promise.resolve();
    // Both arrive in one turn of the event loop: the store commits them together.
    const failed = store.transaction((r) => {
      late = (async () => {
        await turn();
        return r.audit.append("chain", chainLink("chain"));
      })();
      late.catch(() => undefined);
      return Promise.reject(new Error("refused"));
    });
    // Holds the group open past the late append.
    const after = store.transaction(async (r) => {
      await turn();
      await turn();
      return r.tenants.insert(tenantRecord("acme"));
    });
    await expect(failed).rejects.toThrow("refused");
    await expect(after).resolves.toBe(true);
    await expect(late).rejects.toThrow(WORK_ENDED);
    expect(await store.read((r) => r.audit.read("chain", { afterSeq: 0, limit: 10 }))).toEqual([]);
  });
});
