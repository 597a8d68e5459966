// Threat: an attacker spreads guesses over several server instances behind a load balancer, so
// that no instance sees enough failures to slow them down, or a lock set on one instance is
// ignored by another. Two instances share one PostgreSQL database: failures through both count
// toward one backoff, concurrent attempts through both are checked one after another (no burst
// slips past the backoff), and a lock set through one is honoured, and lifted, through the other.
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
import { backoffSeconds, VERIFICATION_THROTTLE_DEFAULTS } from "./verification-throttle.js";

// Many verifications per test: generous limits for a loaded machine (no timing is asserted).
vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 });

describeOnPostgres(
  {
    title: "Throttling on two instances sharing PostgreSQL",
    skippedTitle: "Throttling on two instances",
    tests: "multi-instance throttle tests",
  },
  () => {
    let two: TwoInstances | undefined;
    let first: Harness;
    let second: Application;
    let service: Caller;
    let n = 0;

    const verify = (app: Application, totp: EnrolledTotp, code: string, clientAddress?: string) =>
      outcomeOf(
        app.authenticators.verifyTotp(service, "acme", totp.principal, totp.id, {
          code,
          ...(clientAddress === undefined ? {} : { clientAddress }),
        }),
      );
    const fresh = async () => {
      const totp = await enrolTotp(first, service, "acme", `user-${++n}`);
      first.clock.advance(60);
      return totp;
    };
    const failures = async (principal: string) =>
      (
        await first.store.transaction((r) =>
          r.verificationThrottles.get("acme", `principal:${principal}`),
        )
      )?.consecutiveFailures;

    beforeAll(async () => {
      two = await openTwoInstances();
      ({ first, second, service } = two);
    });
    afterAll(async () => {
      await two?.close();
    });

    it("counts failures through both instances toward one backoff", async () => {
      const totp = await fresh();
      const wrong = wrongCode(first, totp);
      for (const app of [first.app, second, first.app, second, first.app, second]) {
        expect((await verify(app, totp, wrong)).code).toBe("totp.wrong_code");
      }
      for (const app of [first.app, second]) {
        expect(await verify(app, totp, rightCode(first, totp))).toEqual({
          code: "authenticator.throttled",
          details: { retryAfter: 1 },
        });
      }
      expect(await failures(totp.principal)).toBe(6);
    });

    it("checks concurrent attempts through both instances one after another", async () => {
      const totp = await fresh();
      const wrong = wrongCode(first, totp);
      const outcomes = await Promise.all(
        Array.from({ length: 12 }, (_, k) => verify(k % 2 === 0 ? first.app : second, totp, wrong)),
      );
      // Five free failures and the sixth are checked; the sixth set a wait that every later
      // attempt, on either instance, meets.
      const free = VERIFICATION_THROTTLE_DEFAULTS.principal.freeFailures;
      expect(outcomes.filter((o) => o.code === "totp.wrong_code")).toHaveLength(free + 1);
      expect(outcomes.filter((o) => o.code === "authenticator.throttled")).toHaveLength(
        12 - free - 1,
      );
      expect(await failures(totp.principal)).toBe(free + 1);
    });

    it("counts a client address across both instances", async () => {
      const address = "198.51.100.20";
      const victims: EnrolledTotp[] = [];
      for (let k = 0; k < 22; k += 1) victims.push(await fresh());
      for (const [k, victim] of victims.slice(0, 21).entries()) {
        await verify(k % 2 === 0 ? first.app : second, victim, wrongCode(first, victim), address);
      }
      const last = victims[21] as EnrolledTotp;
      for (const app of [first.app, second]) {
        expect((await verify(app, last, rightCode(first, last), address)).code).toBe(
          "authenticator.throttled",
        );
      }
    });

    it("honours through one instance the lock set through the other, and an unlock", async () => {
      const totp = await fresh();
      const wrong = wrongCode(first, totp);
      for (let k = 1; k <= 100; k += 1) {
        expect((await verify(k % 2 === 0 ? first.app : second, totp, wrong)).code).toBe(
          "totp.wrong_code",
        );
        first.clock.advance(backoffSeconds(VERIFICATION_THROTTLE_DEFAULTS.principal, k));
      }
      // The 100th failure went through the first instance.
      expect((await verify(second, totp, rightCode(first, totp))).code).toBe(
        "authenticator.locked",
      );
      await second.authenticators.unlock(first.admin, "acme", totp.principal, {
        reason: "Checked with the user",
      });
      first.clock.advance(30);
      expect((await verify(first.app, totp, rightCode(first, totp))).code).toBe("accepted");
    });
  },
);
