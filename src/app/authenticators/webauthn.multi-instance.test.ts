// Threat: a WebAuthn assertion replayed to another server instance, or sent to two at once, is
// accepted twice (checklist W1, W6, DESIGN invariant 7). Two instances share one PostgreSQL
// database: of concurrent finishes of one ceremony through both, exactly one succeeds; a
// ceremony finished on one is refused by the other; a cloned counter is caught across them.
import { afterAll, beforeAll, expect, it } from "vitest";
import { SoftAuthenticator } from "../../verifiers/webauthn/test-support/soft-authenticator.js";
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
    title: "WebAuthn on two instances sharing PostgreSQL",
    skippedTitle: "WebAuthn on two instances",
    tests: "multi-instance WebAuthn tests",
  },
  () => {
    let two: TwoInstances | undefined;
    let first: Harness;
    let second: Application;
    let service: Caller;
    const key = new SoftAuthenticator({ origin: "https://mfa.test", initialSignCount: 1 });

    beforeAll(async () => {
      two = await openTwoInstances({ principals: ["alice"] });
      ({ first, second, service } = two);
      const begun = await first.app.webauthn.beginRegistration(service, "acme", "alice");
      await second.webauthn.finishRegistration(service, "acme", "alice", begun.registration, {
        response: key.register(begun.options),
      });
    });
    afterAll(async () => {
      await two?.close();
    });

    it("accepts exactly one of concurrent finishes of one ceremony through both instances", async () => {
      for (let round = 0; round < 3; round += 1) {
        const begun = await first.app.webauthn.beginAuthentication(service, "acme", "alice");
        const response = key.authenticate(begun.options);
        const outcomes = await Promise.all(
          [first.app, second, first.app, second].map((app) =>
            outcome(
              app.webauthn.finishAuthentication(service, "acme", "alice", begun.authentication, {
                response,
              }),
            ),
          ),
        );
        expect(outcomes.filter((o) => o === "accepted")).toHaveLength(1);
        expect(outcomes.filter((o) => o === "webauthn.challenge_unknown")).toHaveLength(3);
      }
    });

    it("refuses on one instance a ceremony the other finished", async () => {
      const begun = await second.webauthn.beginAuthentication(service, "acme", "alice");
      const response = key.authenticate(begun.options);
      const finish = (app: Application) =>
        outcome(
          app.webauthn.finishAuthentication(service, "acme", "alice", begun.authentication, {
            response,
          }),
        );
      expect([await finish(first.app), await finish(second)]).toEqual([
        "accepted",
        "webauthn.challenge_unknown",
      ]);
    });

    it("lets exactly one of two assertions with one counter value through, on different instances", async () => {
      const a = await first.app.webauthn.beginAuthentication(service, "acme", "alice");
      const b = await second.webauthn.beginAuthentication(service, "acme", "alice");
      const credential = [...key.credentials.values()][0];
      const next = (credential?.signCount ?? 0) + 1;
      const responses = [
        key.authenticate(a.options, { signCount: next }),
        key.authenticate(b.options, { signCount: next }),
      ];
      const outcomes = await Promise.all([
        outcome(
          first.app.webauthn.finishAuthentication(service, "acme", "alice", a.authentication, {
            response: responses[0],
          }),
        ),
        outcome(
          second.webauthn.finishAuthentication(service, "acme", "alice", b.authentication, {
            response: responses[1],
          }),
        ),
      ]);
      expect(outcomes.filter((o) => o === "accepted")).toHaveLength(1);
      expect(outcomes.filter((o) => o !== "accepted")[0]).toMatch(
        /^webauthn\.(clone_detected|concurrent_use)$/,
      );
    });
  },
);
