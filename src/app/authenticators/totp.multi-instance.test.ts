// Threat: a TOTP code replayed to another server instance, or submitted to two at once, is
// accepted twice (RFC 6238 §5.2, DESIGN invariant 7). Two instances share one PostgreSQL
// database and one sealing key; of concurrent submissions of one code through both, exactly one
// succeeds, and a code accepted by one is refused by the other.
import { afterAll, beforeAll, expect, it } from "vitest";
import { oathtoolCode } from "../../verifiers/totp/test-support/oathtool.js";
import type { Application, Caller } from "../application.js";
import type { Harness } from "../test-support/harness.js";
import {
  describeOnPostgres,
  openTwoInstances,
  type TwoInstances,
} from "../test-support/postgres-instances.js";
import { outcomeOf } from "../test-support/totp-principals.js";

/** What a call ended with: `accepted`, or the error's code. */
const outcome = async (promise: Promise<unknown>): Promise<string> =>
  (await outcomeOf(promise)).code;

describeOnPostgres(
  {
    title: "TOTP on two instances sharing PostgreSQL",
    skippedTitle: "TOTP on two instances",
    tests: "multi-instance TOTP tests",
  },
  () => {
    let two: TwoInstances | undefined;
    let first: Harness;
    let second: Application;
    let service: Caller;
    let secret: string;
    let id: string;

    beforeAll(async () => {
      two = await openTwoInstances({ principals: ["alice"] });
      ({ first, second, service } = two);
      const enrolment = await first.app.authenticators.beginTotp(service, "acme", "alice", {});
      ({ secret } = enrolment);
      id = enrolment.authenticator.id;
      await second.authenticators.confirmTotp(service, "acme", "alice", id, {
        code: oathtoolCode(secret, first.clock.now()),
      });
    });
    afterAll(async () => {
      await two?.close();
    });

    it("accepts exactly one of concurrent submissions of one code through both instances", async () => {
      for (let round = 0; round < 3; round += 1) {
        first.clock.advance(30);
        const code = oathtoolCode(secret, first.clock.now());
        const outcomes = await Promise.all(
          [first.app, second, first.app, second].map((app) =>
            outcome(app.authenticators.verifyTotp(service, "acme", "alice", id, { code })),
          ),
        );
        expect(outcomes.filter((o) => o === "accepted")).toHaveLength(1);
        expect(outcomes.filter((o) => o === "totp.replayed")).toHaveLength(3);
      }
    });

    it("refuses on one instance a code the other accepted", async () => {
      first.clock.advance(30);
      const code = oathtoolCode(secret, first.clock.now());
      expect([
        await outcome(first.app.authenticators.verifyTotp(service, "acme", "alice", id, { code })),
        await outcome(second.authenticators.verifyTotp(service, "acme", "alice", id, { code })),
      ]).toEqual(["accepted", "totp.replayed"]);
    });
  },
);
