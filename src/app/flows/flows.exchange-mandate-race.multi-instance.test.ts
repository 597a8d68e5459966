// Threat: on PostgreSQL (READ COMMITTED), the exchange of a code that an exemption let through
// reads the mandates in its spending transaction with a plain SELECT, and misses a mandate that
// no exemption excuses (an emergency uplift) committed after that read and before the spend
// commits: a token vouches for a sign-in that the uplift stopped letting through. The exchange
// holds the mandates (a lock that every new mandate version takes exclusively) until it commits:
// a mandate created on another instance then waits for the spend, and an exchange waits for a
// mandate under way and then refuses. Instances on one database; one of them pauses inside a
// transaction just after its mandate call, and the other is seen waiting on a lock before the
// pause ends.
import { afterEach, beforeEach, expect, it } from "vitest";
import type { Application, Caller, FlowBrowser } from "../application.js";
import { chainOf } from "../audit/audit-chain.js";
import type { Repositories, Store } from "../ports.js";
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

/** An emergency uplift that binds everyone and that no exemption excuses. */
const UPLIFT = {
  id: "uplift",
  mandate: {
    scope: { tenants: "all" as const },
    require: { minAal: 2 as const },
    exemptible: false,
  },
  rationale: "phishing campaign",
};

/** Where a paused store stops: once, inside a transaction, right after this mandate call. */
type PausePoint = "holdCurrent" | "insert";

/** A gate a paused transaction waits at: `reached` once it stands there, `release` to go on. */
interface Gate {
  readonly reached: Promise<void>;
  release(): void;
}

/**
 * `raw`, except that the next transaction calling `mandates[point]` stops right after that call
 * has returned, until the gate returned by `pauseAt` is released.
 */
function pausable(raw: Store): { store: Store; pauseAt(point: PausePoint): Gate } {
  let armed: { point: PausePoint; reached: () => void; release: Promise<void> } | undefined;
  const pauseAfter = async (point: PausePoint) => {
    const gate = armed;
    if (gate?.point !== point) return;
    armed = undefined;
    gate.reached();
    await gate.release;
  };
  const wrap = (r: Repositories): Repositories => ({
    ...r,
    mandates: {
      ...r.mandates,
      holdCurrent: async () => {
        const held = await r.mandates.holdCurrent();
        await pauseAfter("holdCurrent");
        return held;
      },
      insert: async (record) => {
        const inserted = await r.mandates.insert(record);
        await pauseAfter("insert");
        return inserted;
      },
    },
  });
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
    title: "a flow code exchanged while a mandate is created on another instance",
    skippedTitle: "a flow code exchanged while a mandate is created",
    tests: "the multi-instance exchange and mandate race tests",
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
    /** The flow to look at, and its status as seen just after the fourth wrote a mandate. */
    const watched: { flow?: string; statusAtMandateWrite?: FlowRecord["status"] | "none" } = {};
    const browser: FlowBrowser = { cookie: "exchange-mandate-race-browser-cookie" };

    beforeEach(async () => {
      two = await openTwoInstances({ principals: ["alice"] });
      ({ first, service } = two);
      await first.app.tenants.setReturnUrls(first.admin, "acme", { returnUrls: [RETURN] });
      await replacePolicy(first, "acme", { posture: "platform_mfa" });
      raw = await openStore(two.database.url);
      paused = pausable(raw);
      third = first.application({ store: paused.store, random: new CountingRandom(2_000_000) });
      // Another instance which, once its mandate version is written (its lock taken, not yet
      // committed), reads the watched flow through a connection of its own: committed rows only.
      fourthStore = await openStore(two.database.url);
      const looking = pausingAfter("mandates", "insert", async () => {
        const { flow } = watched;
        if (flow === undefined) return;
        const seen = await first.store.read(({ flows }) => flows.get("acme", flow));
        watched.statusAtMandateWrite = seen?.status ?? "none";
      });
      fourth = first.application({
        store: wrapRepositories(fourthStore, looking),
        random: new CountingRandom(3_000_000),
      });
    });
    afterEach(async () => {
      delete watched.flow;
      delete watched.statusAtMandateWrite;
      await fourth.close();
      await fourthStore.close();
      await third.close();
      await raw.close();
      await two?.close();
    });

    /** A sign-in that a break-glass exemption of an hour let through: the exemption, flow and code. */
    const exemptedSignIn = () =>
      signedInUnderExemption(first, service, { browser, returnTo: RETURN });

    /** The types of acme's audit events that are about the exchange, in order. */
    const exchangeEvents = async () =>
      (
        await first.store.read(({ audit }) =>
          audit.read(chainOf("acme"), { afterSeq: 0, limit: 500 }),
        )
      )
        .filter((e) => e.type.startsWith("flow.exchange"))
        .map((e) =>
          e.type === "flow.exchange_refused" ? `${e.type}:${String(e.payload["reason"])}` : e.type,
        );
    const statusOf = async (flow: string) =>
      (await first.store.read(({ flows }) => flows.get("acme", flow)))?.status;
    const mandateCreated = async () =>
      (
        await first.store.read(({ audit }) =>
          audit.read(chainOf(null), { afterSeq: 0, limit: 500 }),
        )
      ).filter((e) => e.type === "mandate.created" && e.payload["id"] === UPLIFT.id).length;

    it("makes a mandate created after the exchange's mandate check wait for the spend", async () => {
      if (two === undefined) throw new Error("no instances");
      const { flow, code } = await exemptedSignIn();
      watched.flow = flow;
      const gate = paused.pauseAt("holdCurrent");
      const exchanging = third.flows.exchange(service, { code });
      await gate.reached;
      // The exchange has spent the code (uncommitted) and read the mandates: an uplift on another
      // instance now would commit before the spend, unseen, were the mandates not held.
      const creating = fourth.mandates.create(first.admin, UPLIFT);
      const queued = await waitsOnLock(two.database.name, creating);
      gate.release();
      const exchanged = await exchanging;
      await creating;
      // The token was issued, so the mandate must have come after the spend: never a token for a
      // sign-in that a mandate committed before the spend stopped letting through.
      expect(exchanged).toMatchObject({ principal: "alice", decision: expect.any(String) });
      expect(watched.statusAtMandateWrite).toBe("exchanged");
      expect(queued).toBe(true);
      expect(await exchangeEvents()).toEqual(["flow.exchanged"]);
      expect(await mandateCreated()).toBe(1);
    });

    it("makes an exchange wait for a mandate under way, and refuses it once that commits", async () => {
      if (two === undefined) throw new Error("no instances");
      const { flow, code } = await exemptedSignIn();
      const gate = paused.pauseAt("insert");
      const creating = third.mandates.create(first.admin, UPLIFT);
      await gate.reached;
      // The uplift is written but not committed: the exchange's early look misses it, and its
      // check in the spending transaction must wait for the outcome.
      const exchanging = fourth.flows.exchange(service, { code });
      const queued = await waitsOnLock(two.database.name, exchanging);
      gate.release();
      await creating;
      await expect(exchanging).rejects.toMatchObject({ code: "flow.code_invalid" });
      expect(queued).toBe(true);
      expect(await statusOf(flow)).toBe("completed");
      expect(await exchangeEvents()).toEqual(["flow.exchange_refused:mandate_changed"]);
      expect(await mandateCreated()).toBe(1);
    });
  },
);
