// Threat: a command an operator may decline, or one that only lists, changed the store anyway.
// `keys rotate --compromised` opened the application (which applies pending migrations) before
// asking, so a store whose schema was behind was migrated even when the operator then declined;
// `keys withdraw` without a kid, which only lists, migrated it too. Both now read such a store
// without writing: it is refused (exit 2, naming `tenant-mfa migrate`), its migrations as they were.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { Migrator, type Migration } from "kysely";
import { expect, it, vi } from "vitest";
import { initialMigration } from "../storage/migrations/0001-initial.js";
import { federationMigration } from "../storage/migrations/0002-federation.js";
import { createSqliteKysely } from "../storage/sqlite/create-sqlite-kysely.js";
import { runCli as run } from "./test-support/run-cli.js";

vi.setConfig({ testTimeout: 60_000 });

/** A SQLite store an older tenant-mfa made: the first two migrations only. */
async function behindStore(): Promise<string> {
  const file = join(mkdtempSync(join(tmpdir(), "tenant-mfa-keys-behind-")), "store.db");
  const db = createSqliteKysely(file);
  const migrations: Record<string, Migration> = {
    "0001-initial": initialMigration,
    "0002-federation": federationMigration,
  };
  const { error } = await new Migrator({
    db,
    provider: { getMigrations: () => Promise.resolve(migrations) },
  }).migrateToLatest();
  await db.destroy();
  if (error !== undefined) throw new Error("the first two migrations failed", { cause: error });
  return file;
}

function migrationsOf(file: string): unknown[] {
  const raw = new Database(file, { readonly: true });
  try {
    return raw.prepare("select name from kysely_migration order by name").all();
  } finally {
    raw.close();
  }
}

const TWO = [{ name: "0001-initial" }, { name: "0002-federation" }];

it("keys rotate --compromised, declined, leaves a store that is behind unmigrated", async () => {
  const file = await behindStore();
  const declined = await run(
    ["keys", "rotate", "--compromised", "--db", `sqlite:${file}`],
    {},
    {
      text: "no\n",
      isTTY: true,
    },
  );
  expect(declined.exitCode).not.toBe(0);
  expect(declined.stdout).toBe("");
  expect(migrationsOf(file)).toEqual(TWO);
});

it("keys withdraw, listing only, leaves a store that is behind unmigrated", async () => {
  const file = await behindStore();
  const listed = await run(["keys", "withdraw", "--db", `sqlite:${file}`]);
  expect(listed.exitCode).toBe(2);
  expect(listed.stderr).toContain("tenant-mfa migrate");
  expect(migrationsOf(file)).toEqual(TWO);
});
