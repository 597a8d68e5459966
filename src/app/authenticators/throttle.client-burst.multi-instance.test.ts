// Threat: credential stuffing or password spraying from one client address, sent as a burst of
// concurrent guesses against many principals through several instances sharing PostgreSQL, so
// that the guesses in flight together all read the address's count from before the burst and
// all get checked, past the address's backoff. The guard claims the principal's row, then the
// address's (the order of every path, before the audit chain's head): attempts from one address
// queue on its row on every instance, so at most freeFailures + 1 of a burst are checked;
// several principals attacked from several addresses at once, some lifting an expired lock on
// the way, never deadlock; and the attacker's success on its own account does not reset the
// address's count.
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import type { Application, Caller } from "../application.js";
import type { Harness } from "../test-support/harness.js";
import {
  describeOnPostgres,
  openTwoInstances,
  type TwoInstances,
} from "../test-support/postgres-instances.js";
import {
  enrolTotp,
  outcomeOf,
  rightCode,
  wrongCode,
  type EnrolledTotp,
} from "../test-support/totp-principals.js";
import { VERIFICATION_THROTTLE_DEFAULTS } from "./verification-throttle.js";

// Many verifications per test: generous limits for a loaded machine (no timing is asserted).
vi.setConfig({ testTimeout: 120_000, hookTimeout: 120_000 });

const { client: CLIENT, principal: PRINCIPAL } = VERIFICATION_THROTTLE_DEFAULTS;

describeOnPostgres(
  {
    title: "Client-address throttle under a burst through two instances sharing PostgreSQL",
    skippedTitle: "Client-address burst on two instances",
    tests: "multi-instance client-burst throttle tests",
  },
  () => {
    let two: TwoInstances | undefined;
    let first: Harness;
    let second: Application;
    let service: Caller;
    let n = 0;

    /** The instance that takes the `k`th attempt of a burst: each takes every other one. */
    const instance = (k: number) => (k % 2 === 0 ? first.app : second);
    const verify = (app: Application, totp: EnrolledTotp, code: string, clientAddress: string) =>
      outcomeOf(
        app.authenticators.verifyTotp(service, "acme", totp.principal, totp.id, {
          code,
          clientAddress,
        }),
      );
    const enrol = async (count: number) => {
      const enrolled: EnrolledTotp[] = [];
      for (let k = 0; k < count; k += 1) {
        enrolled.push(await enrolTotp(first, service, "acme", `user-${String(++n)}`));
      }
      // Past the step each confirmation used: a right code is then a fresh one.
      first.clock.advance(60);
      return enrolled;
    };
    const row = (key: string) => first.store.read((r) => r.verificationThrottles.get("acme", key));
    const codes = (outcomes: readonly { code: string }[]) => outcomes.map((o) => o.code);

    beforeAll(async () => {
      two = await openTwoInstances();
      ({ first, second, service } = two);
    });
    afterAll(async () => {
      await two?.close();
    });

    it("checks freeFailures + 1 guesses from one address in a burst over many principals, and throttles the rest", async () => {
      const victims = await enrol(40);
      const address = "203.0.113.77";
      const outcomes = codes(
        await Promise.all(
          victims.map((victim, k) =>
            verify(instance(k), victim, wrongCode(first, victim), address),
          ),
        ),
      );
      // Twenty free failures and the 21st, which set a wait that every later one meets.
      expect(outcomes.filter((o) => o === "totp.wrong_code")).toHaveLength(CLIENT.freeFailures + 1);
      expect(outcomes.filter((o) => o === "authenticator.throttled")).toHaveLength(
        victims.length - CLIENT.freeFailures - 1,
      );
      expect((await row(`client:${address}`))?.consecutiveFailures).toBe(CLIENT.freeFailures + 1);
    });

    it("keeps the address's count through the attacker's own success, in a later burst too", async () => {
      const [own, ...others] = (await enrol(1 + CLIENT.freeFailures + 10)) as [
        EnrolledTotp,
        ...EnrolledTotp[],
      ];
      const [sprayed, victims] = [
        others.slice(0, CLIENT.freeFailures),
        others.slice(CLIENT.freeFailures),
      ];
      const address = "203.0.113.78";
      const spray = (targets: readonly EnrolledTotp[]) =>
        Promise.all(
          targets.map((victim, k) =>
            verify(instance(k), victim, wrongCode(first, victim), address),
          ),
        );
      // Twenty failures: the free ones, with no wait yet.
      expect(new Set(codes(await spray(sprayed)))).toEqual(new Set(["totp.wrong_code"]));
      expect(await verify(second, own, rightCode(first, own), address)).toEqual({
        code: "accepted",
      });
      // Had the success reset the address, ten more guesses would all be checked.
      const outcomes = codes(await spray(victims));
      expect(outcomes.filter((o) => o === "totp.wrong_code")).toHaveLength(1);
      expect(outcomes.filter((o) => o === "authenticator.throttled")).toHaveLength(
        victims.length - 1,
      );
      expect((await row(`client:${address}`))?.consecutiveFailures).toBe(CLIENT.freeFailures + 1);
      // The success reset its principal's count, as it should.
      expect((await row(`principal:${own.principal}`))?.consecutiveFailures).toBe(0);
    });

    it("attacks on several principals from several addresses through both instances at once deadlock nowhere, expired locks lifted among them", async () => {
      const victims = await enrol(8);
      const locked = victims.slice(0, 4);
      // Half the principals locked until a second from now: the first attempt on each lifts the
      // lock and audits it, taking the audit chain's head while attempts on the others, from the
      // same addresses, hold their rows and are on their way to it.
      const at = first.clock.now().toISOString();
      const expiresAt = new Date(first.clock.now().getTime() + 1000).toISOString();
      await first.store.transaction(async (r) => {
        for (const victim of locked) {
          const key = `principal:${victim.principal}`;
          await r.verificationThrottles.recordFailure("acme", key, { at, forgetBefore: at });
          expect(
            await r.verificationThrottles.lock("acme", key, { threshold: 1, at, expiresAt }),
          ).toBe(true);
        }
      });
      first.clock.advance(2);
      const addresses = ["198.51.100.31", "198.51.100.32", "198.51.100.33", "198.51.100.34"];
      // Eight rounds over every principal, each round from one address (16 attempts per
      // address, below its 20 free failures), alternating instances, all in flight together.
      const attempts = Array.from({ length: 8 * victims.length }, (_, k) => {
        const round = Math.floor(k / victims.length);
        return {
          victim: victims[k % victims.length] as EnrolledTotp,
          address: addresses[round % addresses.length] as string,
          app: instance(k + round),
        };
      });
      const outcomes = await Promise.all(
        attempts.map(async ({ victim, address, app }) => ({
          victim,
          address,
          code: (await verify(app, victim, wrongCode(first, victim), address)).code,
        })),
      );
      expect(new Set(codes(outcomes))).toEqual(
        new Set(["totp.wrong_code", "authenticator.throttled"]),
      );
      for (const victim of victims) {
        const checked = outcomes.filter(
          (o) => o.victim === victim && o.code === "totp.wrong_code",
        ).length;
        // Five free failures and the sixth (lifting a lock forgets the failures before it).
        expect(checked).toBe(PRINCIPAL.freeFailures + 1);
        const state = await row(`principal:${victim.principal}`);
        expect(state?.lockedAt).toBeUndefined();
        expect(state?.consecutiveFailures).toBe(PRINCIPAL.freeFailures + 1);
      }
      // Each address counted exactly the guesses checked from it.
      for (const address of addresses) {
        const checked = outcomes.filter(
          (o) => o.address === address && o.code === "totp.wrong_code",
        ).length;
        expect((await row(`client:${address}`))?.consecutiveFailures).toBe(checked);
      }
      const unlocked = await first.app.audit.list(
        first.admin,
        "acme",
        { type: "authenticator.unlocked" },
        { limit: 10 },
      );
      expect(unlocked.items.map((e) => e.payload["by"])).toEqual(locked.map(() => "timeout"));
      expect(await first.app.audit.verify(first.admin, { tenant: "acme" })).toMatchObject({
        ok: true,
      });
    });
  },
);
