// Threat (seed 001): on PostgreSQL (READ COMMITTED), the exchange of a code that an exemption let
// through reads the principal in its spending transaction with a plain SELECT, and misses a
// shared-login mark committed after that read and before the spend commits: a token vouches,
// under an exemption, for a login that several people share, which no exemption excuses. The
// exchange holds the principal's row (FOR SHARE) until it commits: a mark made on another
// instance then waits for the spend, and an exchange waits for a mark under way and then
// refuses. Instances on one database; one of them pauses inside a transaction just after its
// principal call, and the other is seen waiting on a lock before the pause ends.
import { afterEach, beforeEach, expect, it } from "vitest";
import type { Application, Caller, FlowBrowser } from "../application.js";
import { chainOf } from "../audit/audit-chain.js";
import type { Store } from "../ports.js";
import type { FlowRecord } from "../records.js";
import { exemptedSignIn as signedInUnderExemption } from "../test-support/exempted-sign-in.js";
import { pausingAfter } from "../test-support/forced-race.js";
import { CountingRandom, type Harness } from "../test-support/harness.js";
import {
  describeOnPostgres,
  openTwoInstances,
  type TwoInstances,
} from "../test-support/postgres-instances.js";
import { replacePolicy } from "../test-support/replace-policy.js";
import { wrapRepositories } from "../test-support/wrapped-store.js";
import { openStore } from "../../storage/open-store.js";
import { untilWaitingOnLock } from "../../storage/postgres/test-support/test-database.js";

const RETURN = "https://app.acme.example/signed-in";

/**
 * Where a paused store stops: once, inside a transaction, right after this principal call (the
 * exchange's shared hold, or the mark's write, before its audit event and commit).
 */
type PausePoint = "holdShared" | "upsert";

/** A gate a paused transaction waits at: `reached` once it stands there, `release` to go on. */
interface Gate {
  readonly reached: Promise<void>;
  release(): void;
}

/**
 * `raw`, except that the next transaction calling `principals[point]` stops right after that
 * call has returned, until the gate returned by `pauseAt` is released.
 */
function pausable(raw: Store): { store: Store; pauseAt(point: PausePoint): Gate } {
  let armed: { point: PausePoint; reached: () => void; release: Promise<void> } | undefined;
  const pauseAfter = (point: PausePoint) => async () => {
    const gate = armed;
    if (gate?.point !== point) return;
    armed = undefined;
    gate.reached();
    await gate.release;
  };
  const afterHold = pausingAfter("principals", "holdShared", pauseAfter("holdShared"));
  const afterUpsert = pausingAfter("principals", "upsert", pauseAfter("upsert"));
  return {
    store: {
      ...wrapRepositories(raw, (r) => afterUpsert(afterHold(r))),
      read: (work) => raw.read(work),
    },
    pauseAt(point) {
      let reached!: () => void;
      let release!: () => void;
      const atPoint = new Promise<void>((resolve) => (reached = resolve));
      armed = { point, reached, release: new Promise<void>((resolve) => (release = resolve)) };
      return { reached: atPoint, release };
    },
  };
}

/**
 * True once a backend of `database` waits on a lock, false if `other` settles first: whether
 * the transaction `other` runs queued behind the one a test holds open.
 */
function waitsOnLock(database: string, other: Promise<unknown>): Promise<boolean> {
  return Promise.race([
    untilWaitingOnLock(database).then(() => true),
    other.then(
      () => false,
      () => false,
    ),
  ]);
}

describeOnPostgres(
  {
    title: "a flow code exchanged while its principal is marked a shared login on another instance",
    skippedTitle: "a flow code exchanged while its principal is marked a shared login",
    tests: "the multi-instance exchange and shared-login race tests",
  },
  () => {
    let two: TwoInstances | undefined;
    let first: Harness;
    let service: Caller;
    let raw: Store;
    let paused: ReturnType<typeof pausable>;
    let third: Application & { close(): Promise<void> };
    let fourthStore: Store;
    let fourth: Application & { close(): Promise<void> };
    /** The flow to look at, and its status as seen just after the fourth wrote the mark. */
    const watched: { flow?: string; statusAtMark?: FlowRecord["status"] | "none" } = {};
    const browser: FlowBrowser = { cookie: "exchange-shared-login-race-browser-cookie" };

    beforeEach(async () => {
      two = await openTwoInstances({ principals: ["alice"] });
      ({ first, service } = two);
      await first.app.tenants.setReturnUrls(first.admin, "acme", { returnUrls: [RETURN] });
      await replacePolicy(first, "acme", { posture: "platform_mfa" });
      raw = await openStore(two.database.url);
      paused = pausable(raw);
      third = first.application({ store: paused.store, random: new CountingRandom(2_000_000) });
      // Another instance which, once its mark is written (the principal's row locked, not yet
      // committed), reads the watched flow through a connection of its own: committed rows only.
      fourthStore = await openStore(two.database.url);
      const looking = pausingAfter("principals", "upsert", async () => {
        const { flow } = watched;
        if (flow === undefined) return;
        const seen = await first.store.read(({ flows }) => flows.get("acme", flow));
        watched.statusAtMark = seen?.status ?? "none";
      });
      fourth = first.application({
        store: wrapRepositories(fourthStore, looking),
        random: new CountingRandom(3_000_000),
      });
    });
    afterEach(async () => {
      delete watched.flow;
      delete watched.statusAtMark;
      await fourth.close();
      await fourthStore.close();
      await third.close();
      await raw.close();
      await two?.close();
    });

    /** A sign-in that a break-glass exemption of an hour let through: the exemption, flow and code. */
    const exemptedSignIn = () =>
      signedInUnderExemption(first, service, { browser, returnTo: RETURN });

    /** Marks alice a shared login on `instance`. */
    const markShared = (instance: Application) =>
      instance.principals.upsert(first.admin, "acme", "alice", {
        population: "direct",
        sharedLogin: true,
      });

    /**
     * The types of acme's audit events about the exchange or the principal's changes since it
     * was registered, in order; a mark is shown as `principal.updated:shared_login`.
     */
    const raceEvents = async () =>
      (
        await first.store.read(({ audit }) =>
          audit.read(chainOf("acme"), { afterSeq: 0, limit: 500 }),
        )
      )
        .filter(
          (e) =>
            e.type.startsWith("flow.exchange") ||
            (e.type === "principal.updated" && e.payload["id"] === "alice"),
        )
        .map((e) => {
          if (e.type === "flow.exchange_refused") return `${e.type}:${String(e.payload["reason"])}`;
          if (e.type === "principal.updated" && e.payload["sharedLogin"] === true) {
            return `${e.type}:shared_login`;
          }
          return e.type;
        });
    const statusOf = async (flow: string) =>
      (await first.store.read(({ flows }) => flows.get("acme", flow)))?.status;
    const isShared = async () =>
      (await first.store.read(({ principals }) => principals.get("acme", "alice")))?.sharedLogin ===
      true;

    it("makes a shared-login mark made after the exchange's principal check wait for the spend", async () => {
      if (two === undefined) throw new Error("no instances");
      const { flow, code } = await exemptedSignIn();
      watched.flow = flow;
      const gate = paused.pauseAt("holdShared");
      const exchanging = third.flows.exchange(service, { code });
      await gate.reached;
      // The exchange has spent the code (uncommitted) and read the principal: a mark on another
      // instance now would commit before the spend, unseen, were the principal's row not held.
      const marking = markShared(fourth);
      const queued = await waitsOnLock(two.database.name, marking);
      gate.release();
      const exchanged = await exchanging;
      await marking;
      // The token was issued, so the mark must have come after the spend: never a token, under
      // an exemption, for a login marked shared before the spend.
      expect(exchanged).toMatchObject({ principal: "alice", decision: expect.any(String) });
      expect(watched.statusAtMark).toBe("exchanged");
      expect(queued).toBe(true);
      expect(await raceEvents()).toEqual(["flow.exchanged", "principal.updated:shared_login"]);
      expect(await isShared()).toBe(true);
    });

    it("makes an exchange wait for a shared-login mark under way, and refuses it once that commits", async () => {
      if (two === undefined) throw new Error("no instances");
      const { flow, code } = await exemptedSignIn();
      const gate = paused.pauseAt("upsert");
      const marking = markShared(third);
      await gate.reached;
      // The mark is written but not committed: the exchange's early look misses it, and its
      // check in the spending transaction must wait for the outcome.
      const exchanging = fourth.flows.exchange(service, { code });
      const queued = await waitsOnLock(two.database.name, exchanging);
      gate.release();
      await marking;
      await expect(exchanging).rejects.toMatchObject({ code: "flow.code_invalid" });
      expect(queued).toBe(true);
      expect(await statusOf(flow)).toBe("completed");
      expect(await raceEvents()).toEqual([
        "principal.updated:shared_login",
        "flow.exchange_refused:shared_login",
      ]);
      expect(await isShared()).toBe(true);
    });
  },
);
