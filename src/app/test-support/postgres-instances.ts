// Tests of several server instances on one PostgreSQL database share one opening and one rule
// for a server that cannot be reached: in CI that fails the suite, so that a broken database
// never passes for a green run; elsewhere the suite is skipped, loudly, and its title says why.
import { describe } from "vitest";
import { openStore } from "../../storage/open-store.js";
import {
  createTestDatabase,
  findUnreachableReason,
  type TestDatabase,
} from "../../storage/postgres/test-support/test-database.js";
import type { Application, Caller } from "../application.js";
import type { AppSettings } from "../context.js";
import type { ApplicationParts } from "../create-application.js";
import type { Store } from "../ports.js";
import { CountingRandom, openHarness, type Harness } from "./harness.js";

/** Why the test PostgreSQL server cannot be reached, or undefined when it can. */
export const postgresUnreachable = await findUnreachableReason();

const inCi = (process.env.CI ?? "") !== "" && process.env.CI !== "false";

/** Whether suites on PostgreSQL are skipped: the server is unreachable and this is not CI. */
const skipped = postgresUnreachable !== undefined && !inCi;

/** How a suite on PostgreSQL is named, run or skipped. */
export interface PostgresSuite {
  /** The suite's title when it runs. */
  readonly title: string;
  /** The start of its title when skipped; the reason follows. */
  readonly skippedTitle: string;
  /** What the notice says is skipped, e.g. "multi-instance TOTP tests". */
  readonly tests: string;
}

/**
 * Declares a suite that needs PostgreSQL. When the server is unreachable outside CI the suite is
 * skipped with a notice on the console; in CI it runs, and {@link openTwoInstances} (which its
 * `beforeAll` calls first) fails it.
 */
export function describeOnPostgres(suite: PostgresSuite, body: () => void): void {
  if (skipped) {
    console.warn(
      `\n!!! PostgreSQL unreachable (${String(postgresUnreachable)}): ${suite.tests} skipped\n`,
    );
    describe.skip(
      `${suite.skippedTitle} (skipped: no PostgreSQL reachable: ${String(postgresUnreachable)})`,
      body,
    );
  } else {
    describe(suite.title, body);
  }
}

/**
 * A fresh database on the test PostgreSQL server, migrated unless `empty` (as
 * `createTestDatabase`). Throws when the server is unreachable, which fails in CI a suite that
 * {@link describeOnPostgres} did not skip.
 */
export async function openPostgresDatabase(
  options: { readonly empty?: boolean } = {},
): Promise<TestDatabase> {
  if (postgresUnreachable !== undefined)
    throw new Error(`PostgreSQL unreachable in CI: ${postgresUnreachable}`);
  return createTestDatabase(options);
}

/** Two application instances on one fresh PostgreSQL database. */
export interface TwoInstances {
  readonly database: TestDatabase;
  /** The first instance, with its administrator and helpers. */
  readonly first: Harness;
  /** The second instance, built from the first's parts over its own store. */
  readonly second: Application & { close(): Promise<void> };
  readonly secondStore: Store;
  /** A `platform_service` caller of the tenant. */
  readonly service: Caller;
  /** Closes both instances and their stores, then drops the database. */
  close(): Promise<void>;
}

/**
 * Opens two instances on a fresh database: a harness, and a second application over a second
 * store sharing the harness's parts (its clock and sealer among them) with its own ids. Creates
 * the tenant `acme`, then `principals` in it, then a service caller. Throws when PostgreSQL is
 * unreachable, which fails the suite in CI.
 */
export async function openTwoInstances(
  options: {
    /** Principals upserted (population `direct`) before the service caller is made. */
    principals?: readonly string[];
    /** Parts of the second instance that differ from the first's (e.g. its own clock). */
    second?: Partial<Omit<ApplicationParts, "store">>;
    /** Settings of both instances (the second takes the first's unless `second` says otherwise). */
    settings?: AppSettings;
  } = {},
): Promise<TwoInstances> {
  const database = await openPostgresDatabase();
  const first = await openHarness({
    url: database.url,
    ...(options.settings === undefined ? {} : { settings: options.settings }),
  });
  const secondStore = await openStore(database.url);
  const second = first.application({
    store: secondStore,
    random: new CountingRandom(1_000_000),
    ...options.second,
  });
  // The database goes whatever closing the instances throws: a test's failure never leaves it.
  const close = async () => {
    try {
      await second.close();
      await secondStore.close();
      await first.close();
    } finally {
      await database.drop();
    }
  };
  try {
    await first.app.tenants.create(first.admin, { id: "acme", name: "Acme" });
    for (const principal of options.principals ?? [])
      await first.app.principals.upsert(first.admin, "acme", principal, { population: "direct" });
    const service = await first.caller(["platform_service"], ["acme"]);
    return { database, first, second, secondStore, service, close };
  } catch (error) {
    await close();
    throw error;
  }
}
