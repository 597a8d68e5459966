// A race between two instances on PostgreSQL is only a test when the overlap is forced: one
// transaction stops at the contested point with its locks taken and nothing committed, the other
// is started then, and the test sees whether that one queues behind the lock or slips past it
// (and what it did meanwhile). Sleeps would make such a test slow and flaky; these stop a
// transaction exactly where the race is, and see a wait on a lock in the server's own view.
import { openStore } from "../../storage/open-store.js";
import { untilWaitingOnLock } from "../../storage/postgres/test-support/test-database.js";
import type { Application } from "../application.js";
import type { Repositories, Store } from "../ports.js";
import { pausingAfter } from "./forced-race.js";
import { CountingRandom } from "./harness.js";
import type { TwoInstances } from "./postgres-instances.js";
import { wrapRepositories } from "./wrapped-store.js";

/** A gate a paused transaction waits at: `reached` once it stands there, `release` to go on. */
export interface Gate {
  readonly reached: Promise<void>;
  release(): void;
}

/** A store whose next transaction to call one of its pause points stops just after that call. */
export interface PausableStore<Point extends string> {
  readonly store: Store;
  /** Arms `point`: the next transaction calling it stops there until the gate is released. */
  pauseAt(point: Point): Gate;
}

/**
 * `raw`, except that the next transaction calling one of `points` (a method, named with its
 * repository: `{ hold: "exemptions" }`) stops right after that call has returned, its locks
 * taken and nothing committed, until the gate returned by `pauseAt` is released. Reads are
 * `raw`'s, never paused: a test looks through them.
 */
export function pausableStore<Point extends string>(
  raw: Store,
  points: Readonly<Record<Point, keyof Repositories>>,
): PausableStore<Point> {
  let armed: { point: Point; reached: () => void; release: Promise<void> } | undefined;
  const pauseAfter = (point: Point) => async () => {
    const gate = armed;
    if (gate?.point !== point) return;
    armed = undefined;
    gate.reached();
    await gate.release;
  };
  const pausing = (Object.entries(points) as [Point, keyof Repositories][]).map(
    ([point, repository]) => pausingAfter(repository, point, pauseAfter(point)),
  );
  const wrap = (r: Repositories) => pausing.reduce((wrapped, pause) => pause(wrapped), r);
  return {
    store: { ...wrapRepositories(raw, wrap), read: (work) => raw.read(work) },
    pauseAt(point) {
      let reached!: () => void;
      let release!: () => void;
      const atPoint = new Promise<void>((resolve) => (reached = resolve));
      armed = { point, reached, release: new Promise<void>((resolve) => (release = resolve)) };
      return { reached: atPoint, release };
    },
  };
}

/** An instance beside two others, whose transactions stop where its test says. */
export interface PausableInstance<Point extends string> {
  readonly app: Application;
  /** Arms `point`: the next transaction calling it stops there until the gate is released. */
  pauseAt(point: Point): Gate;
  /** Closes the instance, then its store. */
  close(): Promise<void>;
}

/**
 * Opens, on `two`'s database, an instance built from the first's parts over a {@link
 * pausableStore} of its own with `points`, its ids apart from theirs.
 */
export async function openPausableInstance<Point extends string>(
  two: TwoInstances,
  points: Readonly<Record<Point, keyof Repositories>>,
): Promise<PausableInstance<Point>> {
  const raw = await openStore(two.database.url);
  const paused = pausableStore(raw, points);
  const app = two.first.application({ store: paused.store, random: new CountingRandom(2_000_000) });
  return {
    app,
    pauseAt: (point) => paused.pauseAt(point),
    async close() {
      await app.close();
      await raw.close();
    },
  };
}

/**
 * True once a backend of `database` waits on a lock, false if `other` settles first: whether
 * the transaction `other` runs queued behind the one a test holds open.
 */
export function waitsOnLock(database: string, other: Promise<unknown>): Promise<boolean> {
  return Promise.race([
    untilWaitingOnLock(database).then(() => true),
    other.then(
      () => false,
      () => false,
    ),
  ]);
}
