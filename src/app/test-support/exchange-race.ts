// The code exchange of a hosted flow that an exemption let through re-checks, while it spends the
// code, what could have ended the exemption's reach (a revocation, a mandate no exemption
// excuses, a shared-login mark), holding each until it commits. Each of those is raced by a
// test of its own; they share one world, set up here, so that what differs between them (the
// lock under test, where a transaction pauses) is all that their files say.
import { openStore } from "../../storage/open-store.js";
import type { Application, Caller, FlowBrowser } from "../application.js";
import type { Repositories } from "../ports.js";
import type { FlowRecord } from "../records.js";
import { exemptedSignIn } from "./exempted-sign-in.js";
import { pausingAfter } from "./forced-race.js";
import { CountingRandom, type Harness } from "./harness.js";
import { openPausableInstance, type Gate } from "./pausable-store.js";
import { openTwoInstances, type TwoInstances } from "./postgres-instances.js";
import { replacePolicy } from "./replace-policy.js";
import { wrapRepositories } from "./wrapped-store.js";

/** The return URL registered for acme, where every raced flow ends. */
const RETURN = "https://app.acme.example/signed-in";

/**
 * An instance that looks, through a connection of its own (committed rows only), at the flow it
 * is told to watch right after it made its contested write, before that write commits: a token
 * issued while the write waited shows as a flow already exchanged.
 */
export interface WatchingInstance {
  readonly app: Application;
  /** Looks at `flow` from now on. */
  watch(flow: string): void;
  /** The watched flow's status seen at the write (`none`: no such flow); undefined before it. */
  readonly statusAtWrite: FlowRecord["status"] | "none" | undefined;
}

/**
 * Two instances on a fresh PostgreSQL database, where alice of acme (platform MFA) signs in
 * through hosted flows returning to one registered URL, and a third instance whose transactions
 * stop where its test says.
 */
export interface ExchangeRace<Point extends string> {
  readonly two: TwoInstances;
  readonly first: Harness;
  /** acme's `platform_service` caller: it creates flows and exchanges their codes. */
  readonly service: Caller;
  /** An instance over a store of its own whose next transaction to call `point` stops there. */
  readonly third: Application;
  pauseAt(point: Point): Gate;
  /** A sign-in of alice that a break-glass exemption of an hour let through. */
  exemptedSignIn(): Promise<{ exemption: string; flow: string; code: string }>;
  /** The flow's status as committed. */
  statusOf(flow: string): Promise<FlowRecord["status"] | undefined>;
  /** Opens a {@link WatchingInstance} whose contested write is `repository.method`. */
  openWatching(repository: keyof Repositories, method: string): Promise<WatchingInstance>;
  /** Closes every instance the race opened, then the two, and drops the database. */
  close(): Promise<void>;
}

/**
 * Opens an {@link ExchangeRace} whose third instance may pause after the methods `pause` names,
 * the flows' browser holding `browser`'s cookie.
 */
export async function openExchangeRace<Point extends string>(options: {
  readonly browser: FlowBrowser;
  /** Where the third instance may stop: methods named with their repository. */
  readonly pause: Readonly<Record<Point, keyof Repositories>>;
}): Promise<ExchangeRace<Point>> {
  const two = await openTwoInstances({ principals: ["alice"] });
  const { first, service } = two;
  // Closed in reverse: an instance before its store, the latest opened first.
  const opened: { close(): Promise<void> }[] = [];
  const close = async () => {
    for (const each of [...opened].reverse()) await each.close();
    await two.close();
  };
  const open = <T extends { close(): Promise<void> }>(each: T): T => {
    opened.push(each);
    return each;
  };
  try {
    await first.app.tenants.setReturnUrls(first.admin, "acme", { returnUrls: [RETURN] });
    await replacePolicy(first, "acme", { posture: "platform_mfa" });
    const third = open(await openPausableInstance(two, options.pause));
    return {
      two,
      first,
      service,
      third: third.app,
      pauseAt: (point) => third.pauseAt(point),
      exemptedSignIn: () =>
        exemptedSignIn(first, service, { browser: options.browser, returnTo: RETURN }),
      statusOf: async (flow) =>
        (await first.store.read(({ flows }) => flows.get("acme", flow)))?.status,
      async openWatching(repository, method) {
        let watched: string | undefined;
        let statusAtWrite: FlowRecord["status"] | "none" | undefined;
        const looking = pausingAfter(repository, method, async () => {
          if (watched === undefined) return;
          const flow = watched;
          const seen = await first.store.read(({ flows }) => flows.get("acme", flow));
          statusAtWrite = seen?.status ?? "none";
        });
        const store = open(await openStore(two.database.url));
        const app = open(
          first.application({
            store: wrapRepositories(store, looking),
            random: new CountingRandom(3_000_000),
          }),
        );
        return {
          app,
          watch: (flow) => (watched = flow),
          get statusAtWrite() {
            return statusAtWrite;
          },
        };
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
