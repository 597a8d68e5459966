// Threat: on PostgreSQL (READ COMMITTED), an exchange that reads the exemption in its spending
// transaction with a plain SELECT still misses a revocation that commits after that read and
// before the spend commits: the token vouches for a sign-in the platform stopped vouching for
// before the code was spent. The exchange holds the exemption's row (FOR SHARE) until it
// commits: a revocation on another instance waits for the spend, and an exchange waits for a
// revocation under way and then refuses. Instances on one database; one of them pauses
// inside a transaction at the point of the race.
import { afterEach, beforeEach, expect, it } from "vitest";
import type { Application, Caller, FlowBrowser } from "../application.js";
import { chainOf } from "../audit/audit-chain.js";
import type { Repositories, Store } from "../ports.js";
import { exemptedSignIn as signedInUnderExemption } from "../test-support/exempted-sign-in.js";
import { CountingRandom, type Harness } from "../test-support/harness.js";
import {
  describeOnPostgres,
  openTwoInstances,
  type TwoInstances,
} from "../test-support/postgres-instances.js";
import { openStore } from "../../storage/open-store.js";
import { replacePolicy } from "../test-support/replace-policy.js";

const RETURN = "https://app.acme.example/signed-in";

/** Where a paused store stops: once, inside a transaction, right after this exemption call. */
type PausePoint = "hold" | "update";

/** A gate a paused transaction waits at: `reached` once it stands there, `release` to go on. */
interface Gate {
  readonly reached: Promise<void>;
  release(): void;
}

/**
 * `raw`, except that the next transaction calling `exemptions[point]` stops right after that call
 * has returned, until the gate returned by `pauseAt` is released.
 */
function pausable(raw: Store): { store: Store; pauseAt(point: PausePoint): Gate } {
  let armed: { point: PausePoint; reached: () => void; release: Promise<void> } | undefined;
  const store: Store = {
    ...raw,
    transaction: (work) =>
      raw.transaction((r) =>
        work(
          new Proxy(r, {
            get(target, key) {
              const value = target[key as keyof Repositories];
              if (key !== "exemptions") return value;
              const exemptions = value as Repositories["exemptions"];
              const pause = async () => {
                const gate = armed;
                armed = undefined;
                if (gate === undefined) return;
                gate.reached();
                await gate.release;
              };
              return {
                ...exemptions,
                hold: async (...args: Parameters<typeof exemptions.hold>) => {
                  const record = await exemptions.hold(...args);
                  if (armed?.point === "hold") await pause();
                  return record;
                },
                update: async (...args: Parameters<typeof exemptions.update>) => {
                  const updated = await exemptions.update(...args);
                  if (armed?.point === "update") await pause();
                  return updated;
                },
              };
            },
          }),
        ),
      ),
    read: (work) => raw.read(work),
    notify: (change) => raw.notify(change),
    onChange: (listener) => raw.onChange(listener),
    ping: () => raw.ping(),
    close: () => raw.close(),
  };
  return {
    store,
    pauseAt(point) {
      let reached!: () => void;
      let release!: () => void;
      const atPoint = new Promise<void>((resolve) => (reached = resolve));
      armed = { point, reached, release: new Promise<void>((resolve) => (release = resolve)) };
      return { reached: atPoint, release };
    },
  };
}

/** Whether `promise` settles within `ms`. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let settled = false;
  const watched = promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  await Promise.race([watched, new Promise((resolve) => setTimeout(resolve, ms))]);
  return settled;
}

describeOnPostgres(
  {
    title: "a flow code exchanged while its exemption is revoked on another instance",
    skippedTitle: "a flow code exchanged while its exemption is revoked",
    tests: "the multi-instance exchange and revocation race tests",
  },
  () => {
    let two: TwoInstances | undefined;
    let first: Harness;
    let service: Caller;
    let raw: Store;
    let paused: ReturnType<typeof pausable>;
    let third: Application & { close(): Promise<void> };
    const browser: FlowBrowser = { cookie: "exchange-race-browser-cookie-0123" };

    beforeEach(async () => {
      two = await openTwoInstances({ principals: ["alice"] });
      ({ first, service } = two);
      await first.app.tenants.setReturnUrls(first.admin, "acme", { returnUrls: [RETURN] });
      await replacePolicy(first, "acme", { posture: "platform_mfa" });
      raw = await openStore(two.database.url);
      paused = pausable(raw);
      third = first.application({ store: paused.store, random: new CountingRandom(2_000_000) });
    });
    afterEach(async () => {
      await third.close();
      await raw.close();
      await two?.close();
    });

    /** A sign-in that a break-glass exemption of an hour let through: the exemption and code. */
    const exemptedSignIn = () =>
      signedInUnderExemption(first, service, { browser, returnTo: RETURN });

    /** The types of acme's audit events that are about the exchange or the revocation, in order. */
    const raceEvents = async () =>
      (
        await first.store.read(({ audit }) =>
          audit.read(chainOf("acme"), { afterSeq: 0, limit: 500 }),
        )
      )
        .filter((e) => e.type.startsWith("flow.exchange") || e.type === "exemption.revoked")
        .map((e) =>
          e.type === "flow.exchange_refused" ? `${e.type}:${String(e.payload["reason"])}` : e.type,
        );

    it("makes a revocation that starts after the exchange's check wait for the spend", async () => {
      const { exemption, code } = await exemptedSignIn();
      const gate = paused.pauseAt("hold");
      const exchanging = third.flows.exchange(service, { code });
      await gate.reached;
      // The exchange has spent the code (uncommitted) and checked the exemption: a revocation on
      // another instance now would commit before the spend, unseen, were the row not held.
      const revoking = first.app.exemptions.revoke(first.admin, "acme", exemption, {
        reason: "incident over",
      });
      const revokedWhileHeld = await settlesWithin(revoking, 500);
      gate.release();
      const exchanged = await exchanging;
      await revoking;
      expect(revokedWhileHeld).toBe(false);
      expect(exchanged.principal).toBe("alice");
      expect(await raceEvents()).toEqual(["flow.exchanged", "exemption.revoked"]);
    });

    it("makes an exchange wait for a revocation under way, and refuses it once that commits", async () => {
      const { exemption, code } = await exemptedSignIn();
      const gate = paused.pauseAt("update");
      const revoking = third.exemptions.revoke(first.admin, "acme", exemption, {
        reason: "incident over",
      });
      await gate.reached;
      // The revocation has written the exemption but not committed: the exchange's early look
      // sees it standing, and its check in the spending transaction must wait for the outcome.
      const exchanging = first.app.flows.exchange(service, { code });
      const exchangedMeanwhile = await settlesWithin(exchanging, 500);
      gate.release();
      await revoking;
      await expect(exchanging).rejects.toMatchObject({ code: "flow.code_invalid" });
      expect(exchangedMeanwhile).toBe(false);
      expect(await raceEvents()).toEqual([
        "exemption.revoked",
        "flow.exchange_refused:exemption_ended",
      ]);
    });
  },
);
