import type { StoreChange } from "../../app/ports.js";
import { emitStoreWarning } from "./emit-store-warning.js";

/** The listeners of one Store instance. */
export class ChangeListeners {
  readonly #listeners = new Set<(change: StoreChange) => void>();

  /** Each call subscribes anew, so that unsubscribing one registration leaves the others. */
  add(listener: (change: StoreChange) => void): () => void {
    const registration = (change: StoreChange): void => {
      listener(change);
    };
    this.#listeners.add(registration);
    return () => {
      this.#listeners.delete(registration);
    };
  }

  // A throwing listener (a cache) must neither stop the others nor fail the writer that
  // announced the change: it is reported as a process warning instead.
  emit(change: StoreChange): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(change);
      } catch (error) {
        emitStoreWarning("A store change listener threw", error);
      }
    }
  }
}
