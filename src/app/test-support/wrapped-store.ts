import type { Repositories, Store } from "../ports.js";

/**
 * `store`, whose transactions and reads get the repositories `wrap` makes of theirs: a test
 * changes what one repository does (a value forced, another writer stepping in) and nothing else.
 */
export function wrapRepositories(store: Store, wrap: (r: Repositories) => Repositories): Store {
  return {
    transaction: (work) => store.transaction((r) => work(wrap(r))),
    read: (work) => store.read((r) => work(wrap(r))),
    notify: (change) => store.notify(change),
    onChange: (listener) => store.onChange(listener),
    ping: () => store.ping(),
    close: () => store.close(),
  };
}

/** `store`, counting the transactions opened through it (reads are not counted). */
export function countingTransactions(store: Store): { store: Store; count: () => number } {
  let count = 0;
  return {
    store: {
      ...wrapRepositories(store, (r) => r),
      transaction: (work) => {
        count += 1;
        return store.transaction(work);
      },
    },
    count: () => count,
  };
}
