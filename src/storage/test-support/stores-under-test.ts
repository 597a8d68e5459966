import type { Store } from "../../app/ports.js";
import { openStore } from "../open-store.js";
import {
  createTestDatabase,
  findUnreachableReason,
} from "../postgres/test-support/test-database.js";

/** A store a suite runs on: opened afresh per use, with what drops it after. */
export interface StoreUnderTest {
  readonly name: "SQLite" | "PostgreSQL";
  /** True only outside CI without a reachable PostgreSQL: CI always runs both. */
  readonly skip: boolean;
  readonly open: () => Promise<[Store, () => Promise<void>]>;
}

/**
 * The two stores a suite that must behave alike on both runs on: in-memory SQLite, and a
 * PostgreSQL database made for it and dropped after. Outside CI, without a PostgreSQL server, the
 * PostgreSQL half is skipped, with a loud notice naming `what` went untested.
 */
export async function storesUnderTest(what: string): Promise<readonly StoreUnderTest[]> {
  const unreachable = await findUnreachableReason();
  const inCi = (process.env.CI ?? "") !== "" && process.env.CI !== "false";
  const skipPostgres = unreachable !== undefined && !inCi;
  if (skipPostgres) {
    console.warn(`\n*** ${what} on PostgreSQL NOT tested: ${unreachable ?? ""} ***\n`);
  }
  return [
    {
      name: "SQLite",
      skip: false,
      open: async () => [await openStore("sqlite::memory:"), () => Promise.resolve()],
    },
    {
      name: "PostgreSQL",
      skip: skipPostgres,
      open: async () => {
        const database = await createTestDatabase();
        return [await openStore(database.url), () => database.drop()];
      },
    },
  ];
}
