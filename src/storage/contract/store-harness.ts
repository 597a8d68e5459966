import type { Store } from "../../app/ports.js";

/** What a dialect's test file hands the contract: a fresh store, and how to dispose of it. */
export interface StoreHarness {
  readonly store: Store;
  /** A second instance on the same database, for stores that several instances share. */
  readonly openSecond?: () => Promise<Store>;
  /**
   * Runs SQL straight on the database, behind the store, as someone holding its credentials
   * would: how a row comes to hold what the store never writes. Absent where no other connection
   * reaches the database (SQLite in memory), whose contract is described with `tamperable: false`
   * and so without the tests that need it.
   */
  readonly tamper?: (statements: readonly string[]) => Promise<void>;
  readonly cleanup: () => Promise<void>;
}

/** The suite's view of the harness, which exists only once `beforeAll` has opened it. */
export interface ContractContext {
  readonly store: () => Store;
  readonly harness: () => StoreHarness;
  /**
   * Several instances share the database (`ContractOptions.sharedByInstances`): the tests of two
   * instances at once are defined, and the harness opens the second with `openSecond`.
   */
  readonly sharedByInstances: boolean;
}

/** The harness's second instance, for the tests only stores shared by instances define. */
export async function openSecondInstance(harness: StoreHarness): Promise<Store> {
  if (harness.openSecond === undefined) throw new Error("The harness opens no second instance");
  return harness.openSecond();
}
