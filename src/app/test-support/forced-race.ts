import { openStore } from "../../storage/open-store.js";
import { untilWaitingOnLock } from "../../storage/postgres/test-support/test-database.js";
import type { Application } from "../application.js";
import type { ApplicationParts } from "../create-application.js";
import type { Repositories, Store } from "../ports.js";
import { CountingRandom } from "./harness.js";
import type { TwoInstances } from "./postgres-instances.js";
import { wrapRepositories } from "./wrapped-store.js";

/** The two instances of a {@link ForcedRace}. */
export type Racer = "A" | "B";

export const otherRacer = (racer: Racer): Racer => (racer === "A" ? "B" : "A");

/** A promise and the functions that settle it. */
export interface Deferred {
  readonly promise: Promise<void>;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

export function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((done, fail) => {
    resolve = done;
    reject = fail;
  });
  // Rejected only to release its waiters: one nobody waits on is no unhandled rejection.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/**
 * Two instances doing one thing at once, forced into the overlap a race would need, on
 * PostgreSQL, without sleeps: both pass verification (reading the state as it was) before either
 * goes on; the leader then writes and holds its transaction open; the follower goes on only then,
 * and the leader commits once the follower is seen waiting on a lock. The racers' verifier calls
 * {@link verified}, and their store calls {@link wrote} after the contested write. When a racer
 * ends before the race is over (it throws before the barrier, say, or its call turns such an
 * error into a result), `run` rejects at once, and every racer still waiting in the race is
 * released, rather than the test hanging until its timeout.
 */
export class ForcedRace {
  readonly leader: Racer;
  #arrived = 0;
  #held = false;
  readonly #bothVerified = deferred();
  readonly #go = deferred();
  readonly #holding = deferred();
  readonly #commit = deferred();

  constructor(leader: Racer) {
    this.leader = leader;
  }

  /** Waits for the other racer to be verified too; the follower then waits for its turn. */
  async verified(racer: Racer): Promise<void> {
    this.#arrived += 1;
    if (this.#arrived === 2) this.#bothVerified.resolve();
    await this.#bothVerified.promise;
    if (racer !== this.leader) await this.#go.promise;
  }

  /** After a racer's write took effect: the leader's first holds its transaction until commit. */
  async wrote(racer: Racer): Promise<void> {
    if (racer !== this.leader || this.#arrived < 2 || this.#held) return;
    this.#held = true;
    this.#holding.resolve();
    await this.#commit.promise;
  }

  /**
   * Runs both racers' calls, steering the race: once the leader holds its write, lets the
   * follower go, waits until a backend of `database` waits on a lock, then lets the leader commit.
   * Returns each racer's answer.
   *
   * Until then no racer can end: the leader is held, and the follower must queue behind it. One
   * that ends anyway (refused before the barrier, or past a lock it should have waited on) ends
   * the race at once with its error, or with one quoting its answer when its call turned an
   * error into a result: said at once, not at the test's timeout, and every racer still waiting
   * is released.
   */
  async run<T>(
    database: string,
    racers: Readonly<Record<Racer, () => Promise<T>>>,
  ): Promise<Record<Racer, T>> {
    let over = false;
    let fail!: (error: unknown) => void;
    const failed = new Promise<never>((_, reject) => (fail = reject));
    const endsEarly = (error: unknown) => {
      if (over) return;
      this.#abort(error);
      fail(error);
    };
    const running = (name: Racer): Promise<T> => {
      const answer = racers[name]().then(
        (value) => {
          endsEarly(new Error(`Racer ${name} ended before the race was over: ${quote(value)}`));
          return value;
        },
        (error: unknown) => {
          endsEarly(error);
          throw error;
        },
      );
      // Awaited below once the race is over; until then its failure is `failed`'s.
      answer.catch(() => undefined);
      return answer;
    };
    const answers = { A: running("A"), B: running("B") };
    const steered = async () => {
      await this.#holding.promise;
      this.#go.resolve();
      await untilWaitingOnLock(database);
      over = true;
      this.#commit.resolve();
    };
    await Promise.race([steered(), failed]);
    return { A: await answers.A, B: await answers.B };
  }

  /** Releases every racer waiting in the race (and `run`), with `error`. */
  #abort(error: unknown): void {
    for (const gate of [this.#bothVerified, this.#go, this.#holding, this.#commit]) {
      gate.reject(error);
    }
  }
}

/** A racer's answer, short, for the error of a race that ended early. */
function quote(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

/**
 * Repositories whose `repository.method` calls `after` with its result before returning it, in
 * the caller's transaction (where a {@link ForcedRace} holds the leader's write).
 */
export function pausingAfter(
  repository: keyof Repositories,
  method: string,
  after: (result: unknown) => Promise<void>,
): (r: Repositories) => Repositories {
  return (r) =>
    new Proxy(r, {
      get(target, property) {
        const value: unknown = target[property as keyof Repositories];
        if (property !== repository) return value;
        const methods = value as Record<string, (...args: unknown[]) => Promise<unknown>>;
        const original = methods[method];
        if (original === undefined) throw new Error(`no ${repository}.${method}`);
        return {
          ...methods,
          [method]: async (...args: unknown[]) => {
            const result = await original(...args);
            await after(result);
            return result;
          },
        };
      },
    });
}

/** The two racing instances, each an application over its own store on the shared database. */
export interface Racers {
  get(racer: Racer): Application;
  /** Closes both applications, then their stores. */
  close(): Promise<void>;
}

/**
 * Opens the racers A and B on `two`'s database: each built from the first instance's parts over
 * a store of its own whose repositories `wrap` makes, with ids of its own and `overrides` (a
 * gated verifier, say).
 */
export async function openRacers(
  two: TwoInstances,
  racer: (name: Racer) => {
    readonly wrap: (r: Repositories) => Repositories;
    readonly overrides: Partial<Omit<ApplicationParts, "store">>;
  },
): Promise<Racers> {
  const apps = new Map<Racer, Application & { close(): Promise<void> }>();
  const stores: Store[] = [];
  const close = async () => {
    for (const app of apps.values()) await app.close();
    for (const store of stores) await store.close();
  };
  try {
    for (const [index, name] of (["A", "B"] as const).entries()) {
      const store = await openStore(two.database.url);
      stores.push(store);
      const { wrap, overrides } = racer(name);
      apps.set(
        name,
        two.first.application({
          store: wrapRepositories(store, wrap),
          random: new CountingRandom(2_000_000 * (index + 1)),
          ...overrides,
        }),
      );
    }
  } catch (error) {
    await close();
    throw error;
  }
  return {
    get(name) {
      const app = apps.get(name);
      if (app === undefined) throw new Error(`no racer ${name}`);
      return app;
    },
    close,
  };
}
