import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe } from "vitest";
import {
  createTestDatabase,
  type TestDatabase,
} from "../../storage/postgres/test-support/test-database.js";
import { describeOnPostgres } from "./postgres-instances.js";

/**
 * Declares `tests` twice, titled `title (SQLite)` and `title (PostgreSQL)`: `open` gives each
 * test the URL of a fresh store, a SQLite file or a PostgreSQL database (each dropped after the test;
 * the suite run or skipped as {@link describeOnPostgres} says).
 */
export function describeOnEachStore(
  title: string,
  tests: (open: () => Promise<string>) => void,
): void {
  describe(`${title} (SQLite)`, () => {
    tests(() =>
      Promise.resolve(`sqlite:${join(mkdtempSync(join(tmpdir(), "tenant-mfa-")), "store.db")}`),
    );
  });
  describeOnPostgres(
    {
      title: `${title} (PostgreSQL)`,
      skippedTitle: `${title} (PostgreSQL)`,
      tests: `tests of ${title} on PostgreSQL`,
    },
    () => {
      // Every database a test opened: one that opens two stores (a second instance, a restore
      // target) leaves neither behind.
      const opened: TestDatabase[] = [];
      afterEach(async () => {
        for (const database of opened.splice(0)) await database.drop();
      });
      tests(async () => {
        const database = await createTestDatabase();
        opened.push(database);
        return database.url;
      });
    },
  );
}
