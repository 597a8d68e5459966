import type { Store } from "../../app/ports.js";

/** What a dialect's test file hands the contract: a fresh store, and how to dispose of it. */
export interface StoreHarness {
  readonly store: Store;
  /** A second instance on the same database, for stores that several instances share. */
  readonly openSecond?: () => Promise<Store>;
  readonly cleanup: () => Promise<void>;
}

/** The suite's view of the harness, which exists only once `beforeAll` has opened it. */
export interface ContractContext {
  readonly store: () => Store;
  readonly harness: () => StoreHarness;
}
