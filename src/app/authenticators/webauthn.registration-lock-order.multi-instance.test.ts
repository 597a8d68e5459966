// Threat: two writes on one principal deadlock on PostgreSQL, and the loser answers a 500. Every
// binding of a method takes the principal's throttle row first (removal-rules.ts); beginning a
// passkey registration then stores its challenge, and now and then purges the expired challenges
// of everyone, the principal's own among them. Finishing a registration used to consume its
// challenge (deleting the row) before claiming the principal's row: a finish whose ceremony was
// alive when it was verified, and expired by the time another registration of the principal
// began on another instance, held the challenge and waited for the principal's row, while the
// beginning held the principal's row and waited in its purge for that challenge. Both orders are
// forced here, on two instances sharing PostgreSQL: the finish paused just after its challenge's
// delete, the beginning started and seen waiting on a lock, then the finish released.
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { SoftAuthenticator } from "../../verifiers/webauthn/test-support/soft-authenticator.js";
import { openStore } from "../../storage/open-store.js";
import { untilWaitingOnLock } from "../../storage/postgres/test-support/test-database.js";
import type { Application, Caller } from "../application.js";
import type { Repositories, Store } from "../ports.js";
import { CountingRandom, type Harness } from "../test-support/harness.js";
import {
  describeOnPostgres,
  openTwoInstances,
  type TwoInstances,
} from "../test-support/postgres-instances.js";
import { outcomeOf } from "../test-support/totp-principals.js";
import { principalKey } from "./verification-throttle.js";

vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 });

/** A gate a transaction waits at: `reached` when it gets there, it goes on at `release`. */
interface Gate {
  readonly reached: Promise<void>;
  readonly release: () => void;
}

/**
 * `accepted`, or the error's code; a store failure (a deadlock the database broke, answered as
 * `store.unavailable`, a 503) with its cause.
 */
async function outcome(promise: Promise<unknown>): Promise<string> {
  const { code, details } = await outcomeOf(promise);
  const cause = details?.cause;
  return typeof cause === "string" ? `${code}: ${cause}` : code;
}

describeOnPostgres(
  {
    title: "The lock order of passkey registrations on two instances sharing PostgreSQL",
    skippedTitle: "The lock order of passkey registrations",
    tests: "multi-instance registration lock-order tests",
  },
  () => {
    let two: TwoInstances | undefined;
    let first: Harness;
    let service: Caller;
    let raw: Store | undefined;
    let finisher: (Application & { close(): Promise<void> }) | undefined;
    /** Set while the finisher's next challenge delete should pause after it. */
    let gate: (Gate & { arrive: () => void; go: Promise<void> }) | undefined;

    beforeAll(async () => {
      two = await openTwoInstances({ principals: ["alice"] });
      ({ first, service } = two);
      // A second instance whose store pauses a transaction just after it deletes a challenge.
      const store = await openStore(two.database.url);
      raw = store;
      const paused: Store = {
        ...store,
        transaction: (work) =>
          store.transaction((r) =>
            work(
              new Proxy(r, {
                get(target, key) {
                  const value = target[key as keyof Repositories];
                  if (key !== "webauthnChallenges") return value;
                  const challenges = value as Repositories["webauthnChallenges"];
                  return {
                    ...challenges,
                    consume: async (tenant: string, id: string) => {
                      const consumed = await challenges.consume(tenant, id);
                      const g = gate;
                      gate = undefined;
                      if (g !== undefined) {
                        g.arrive();
                        await g.go;
                      }
                      return consumed;
                    },
                  };
                },
              }),
            ),
          ),
        read: (work) => store.read(work),
        notify: (change) => store.notify(change),
        onChange: (listener) => store.onChange(listener),
        ping: () => store.ping(),
        close: () => store.close(),
      };
      finisher = first.application({ store: paused, random: new CountingRandom(2_000_000) });
    });
    afterAll(async () => {
      await finisher?.close();
      await raw?.close();
      await two?.close();
    });

    const newGate = (): Gate => {
      let arrive!: () => void;
      let go!: () => void;
      const reached = new Promise<void>((resolve) => (arrive = resolve));
      const released = new Promise<void>((resolve) => (go = resolve));
      gate = { reached, release: go, arrive, go: released };
      return gate;
    };

    it("finishes a registration while another of the principal begins and purges its expired challenge", async () => {
      if (two === undefined || finisher === undefined) throw new Error("no instances");
      const begun = await first.app.webauthn.beginRegistration(service, "acme", "alice");
      const response = new SoftAuthenticator({ origin: "https://mfa.test" }).register(
        begun.options,
      );
      // The principal proved MFA just before beginning the second registration below (set up
      // now: the finish will hold the principal's row then), which binds another method on its
      // behalf after the first.
      const ttl = Date.parse(begun.expiresAt) - first.clock.now().getTime();
      const secondBegins = new Date(first.clock.now().getTime() + ttl + 1000);
      await first.store.transaction((r) =>
        r.verificationThrottles.recordSuccess(
          "acme",
          principalKey("alice"),
          secondBegins.toISOString(),
        ),
      );

      // Verified while its ceremony is alive; paused once its challenge is deleted.
      const at = newGate();
      const finishing = outcome(
        finisher.webauthn.finishRegistration(service, "acme", "alice", begun.registration, {
          response,
        }),
      );
      await at.reached;
      // The ceremony has expired by the time the principal begins another, on the first
      // instance, whose purge (due: its last ran at the first beginning) deletes it.
      first.clock.advance((secondBegins.getTime() - first.clock.now().getTime()) / 1000);
      const beginning = outcome(first.app.webauthn.beginRegistration(service, "acme", "alice"));
      // The beginning queues on a row the paused finish holds: which one depends on the order.
      await untilWaitingOnLock(two.database.name);
      at.release();

      expect([await finishing, await beginning]).toEqual(["accepted", "accepted"]);
      const registered = await first.app.authenticators.list(service, "acme", "alice");
      expect(registered.map((a) => a.kind)).toEqual(["webauthn"]);
      expect((await first.app.audit.verify(first.admin, { tenant: "acme" })).ok).toBe(true);
    });
  },
);
