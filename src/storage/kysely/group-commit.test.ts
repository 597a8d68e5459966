import Sqlite from "better-sqlite3";
import { Kysely, sql, type SqliteDatabase } from "kysely";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ImmediateSqliteDialect } from "../sqlite/immediate-sqlite-dialect.js";
import type { Database } from "./database.js";
import { GroupCommit, WORK_ENDED } from "./group-commit.js";

/** An in-memory database whose statements are logged, in the order SQLite runs them. */
function loggedDatabase(): { db: Kysely<Database>; log: string[]; raw: Sqlite.Database } {
  const raw = new Sqlite(":memory:");
  raw.pragma("foreign_keys = ON");
  raw.exec(`
    create table parent (id text primary key);
    create table child (id text primary key,
      parent text references parent (id) deferrable initially deferred);
  `);
  const log: string[] = [];
  const database: SqliteDatabase = {
    prepare(text) {
      const statement = raw.prepare(text);
      const logged =
        <T>(run: (values: unknown[]) => T) =>
        (values: unknown[]): T => {
          log.push(text.startsWith("begin") ? "begin" : text.toLowerCase());
          return run(values);
        };
      return {
        reader: statement.reader,
        all: logged((values) => statement.all(...values)),
        run: logged((values) => statement.run(...values)),
        iterate: logged((values) => statement.iterate(...values)),
      };
    },
    close: () => raw.close(),
  };
  return {
    db: new Kysely<Database>({ dialect: new ImmediateSqliteDialect({ database }) }),
    log,
    raw,
  };
}

const insertParent = (id: string) => (trx: Kysely<Database>) =>
  sql`insert into parent (id) values (${id})`.execute(trx).then(() => id);

/** One turn of the event loop: what runs in the next check phase has run. */
const turn = () =>
  new Promise<void>((resolve) => {
    setImmediate(resolve);
  });

describe("GroupCommit", () => {
  let db: Kysely<Database>;
  let log: string[];
  let raw: Sqlite.Database;
  let group: GroupCommit;
  const parents = (): string[] =>
    (raw.prepare("select id from parent order by id").all() as { id: string }[]).map((r) => r.id);

  beforeEach(() => {
    ({ db, log, raw } = loggedDatabase());
    group = new GroupCommit(db);
  });
  afterEach(() => db.destroy());

  it("runs a transaction that arrives alone by itself, without a savepoint", async () => {
    await expect(group.run(insertParent("a"))).resolves.toBe("a");
    expect(log).toEqual(["begin", "insert into parent (id) values (?)", "commit"]);
  });

  it("waits for the end of the event loop's turn, and commits what arrived in it together", async () => {
    // Each arrives in a callback of its own, as callers resumed by I/O or crypto jobs do.
    const runs = ["a", "b", "c"].map(
      (id) =>
        new Promise<string>((resolve, reject) => {
          setImmediate(() => {
            group.run(insertParent(id)).then(resolve, reject);
          });
        }),
    );
    await expect(Promise.all(runs)).resolves.toEqual(["a", "b", "c"]);
    expect(log).toEqual([
      "begin",
      ...["a", "b", "c"].flatMap(() => [
        "savepoint grouped_work",
        "insert into parent (id) values (?)",
        "release grouped_work",
      ]),
      "commit",
    ]);
  });

  it("commits the transactions that arrive during a group together, each in its savepoint", async () => {
    const first = group.run(async (trx) => {
      await turn();
      return insertParent("a")(trx);
    });
    // The first group has begun and its work waits for the next turn.
    await turn();
    expect(log).toEqual(["begin"]);
    const rest = ["b", "c", "d"].map((id) => group.run(insertParent(id)));
    await expect(Promise.all([first, ...rest])).resolves.toEqual(["a", "b", "c", "d"]);
    expect(log.filter((line) => line === "begin")).toHaveLength(2);
    expect(log.slice(3)).toEqual([
      "begin",
      ...["b", "c", "d"].flatMap(() => [
        "savepoint grouped_work",
        "insert into parent (id) values (?)",
        "release grouped_work",
      ]),
      "commit",
    ]);
    expect(parents()).toEqual(["a", "b", "c", "d"]);
  });

  it("settles each caller only after the commit that holds its writes", async () => {
    const settledAt: number[] = [];
    const first = group.run(insertParent("a")).then(() => settledAt.push(log.length));
    await turn();
    const runs = [
      first,
      ...["b", "c"].map((id) => group.run(insertParent(id)).then(() => settledAt.push(log.length))),
    ];
    await Promise.all(runs);
    const commits = log.flatMap((line, index) => (line === "commit" ? [index + 1] : []));
    expect(commits).toHaveLength(2);
    expect(settledAt[0]).toBeGreaterThanOrEqual(commits[0] ?? Infinity);
    for (const at of settledAt.slice(1)) expect(at).toBeGreaterThanOrEqual(commits[1] ?? Infinity);
  });

  it("lets each work see the writes of those before it in its group, as serial transactions do", async () => {
    const first = group.run(insertParent("a"));
    const second = group.run(insertParent("b"));
    const seen = group.run(async (trx) => {
      const { rows } = await sql<{ n: number }>`select count(*) as n from parent`.execute(trx);
      return rows[0]?.n;
    });
    await Promise.all([first, second]);
    await expect(seen).resolves.toBe(2);
  });

  it("rolls back a failing work alone: its caller gets its error, the others commit", async () => {
    const failure = new Error("work failed");
    const first = group.run(insertParent("a"));
    const kept = group.run(insertParent("b"));
    const failed = group.run(async (trx) => {
      await insertParent("c")(trx);
      throw failure;
    });
    const after = group.run(insertParent("d"));
    await expect(failed).rejects.toBe(failure);
    await expect(Promise.all([first, kept, after])).resolves.toEqual(["a", "b", "d"]);
    expect(parents()).toEqual(["a", "b", "d"]);
    expect(log).toContain("rollback to grouped_work");
  });

  it("commits none of a failing work's writes, not even one it left under way", async () => {
    await group.run(insertParent("a"));
    const first = group.run(insertParent("b"));
    let late: Promise<unknown> = Promise.resolve();
    const failed = group.run(async (trx) => {
      await Promise.all([
        // Refused (the key exists) while the other write of the same work is still under way.
        insertParent("a")(trx),
        (late = (async () => {
          await turn();
          return insertParent("late")(trx);
        })()),
      ]);
    });
    // The next work holds the group open past the late write.
    const after = group.run(async (trx) => {
      await turn();
      await turn();
      return insertParent("c")(trx);
    });
    await expect(failed).rejects.toThrow(/UNIQUE/);
    await expect(Promise.all([first, after])).resolves.toEqual(["b", "c"]);
    // Refused as a lone transaction's would be, after its end.
    await expect(late).rejects.toThrow(WORK_ENDED);
    expect(parents()).toEqual(["a", "b", "c"]);
  });

  it("fails every caller of a group that cannot commit, and keeps none of their writes", async () => {
    const first = group.run(insertParent("a"));
    // "a" commits in a group of its own; the next two arrive after it.
    await turn();
    const writes = group.run(insertParent("b"));
    // A deferred foreign key is checked at COMMIT: the statement succeeds, the group cannot commit.
    const orphan = group.run((trx) =>
      sql`insert into child (id, parent) values ('x', 'missing')`.execute(trx),
    );
    await expect(first).resolves.toBe("a");
    await expect(writes).rejects.toThrow(/FOREIGN KEY/);
    await expect(orphan).rejects.toThrow(/FOREIGN KEY/);
    expect(parents()).toEqual(["a"]);
    // The connection is usable again.
    await expect(group.run(insertParent("e"))).resolves.toBe("e");
    expect(parents()).toEqual(["a", "e"]);
  });
});
