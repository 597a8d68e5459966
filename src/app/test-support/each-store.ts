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
 * test the URL of a fresh store, a SQLite file or a PostgreSQL database (dropped after the test;
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
      let database: TestDatabase | undefined;
      afterEach(async () => {
        await database?.drop();
        database = undefined;
      });
      tests(async () => {
        database = await createTestDatabase();
        return database.url;
      });
    },
  );
}
