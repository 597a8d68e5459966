import type { Repositories, Store } from "../../app/ports.js";
import type { StoreHarness } from "./store-harness.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs `other` once a transaction of `harness`'s store has run `hold`, while that transaction
 * stays open for up to half a second; tells whether `other` was done before the transaction
 * ended. `other` runs on a second instance where the store has one (PostgreSQL); SQLite runs one
 * write transaction at a time, so there it can only follow.
 */
export async function doneWhileHeld(
  harness: StoreHarness,
  hold: (repositories: Repositories) => Promise<void>,
  other: (second: Store) => Promise<unknown>,
): Promise<boolean> {
  const second = await harness.openSecond?.();
  try {
    let done = false;
    let held = (): void => undefined;
    const holding = new Promise<void>((resolve) => {
      held = resolve;
    });
    const running = holding.then(() =>
      other(second ?? harness.store).then(() => {
        done = true;
      }),
    );
    const holder = harness.store.transaction(async (repositories) => {
      await hold(repositories);
      held();
      if (second !== undefined) await Promise.race([running, sleep(500)]);
      return done;
    });
    const [doneWhileOpen] = await Promise.all([holder, running]);
    return doneWhileOpen;
  } finally {
    await second?.close();
  }
}
