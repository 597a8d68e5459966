// Threat: a WebAuthn assertion replayed to another server instance, or sent to two at once, is
// accepted twice (checklist W1, W6, DESIGN invariant 7). Two instances share one PostgreSQL
// database: of concurrent finishes of one ceremony through both, exactly one succeeds; a
// ceremony finished on one is refused by the other; a cloned counter is caught across them.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore } from "../../storage/open-store.js";
import {
  createTestDatabase,
  findUnreachableReason,
  type TestDatabase,
} from "../../storage/postgres/test-support/test-database.js";
import { createWebAuthnProtocol } from "../../verifiers/webauthn/index.js";
import { SoftAuthenticator } from "../../verifiers/webauthn/test-support/soft-authenticator.js";
import type { Application, Caller } from "../application.js";
import { DEFAULT_SETTINGS } from "../context.js";
import { createApplication } from "../create-application.js";
import { AppError } from "../errors.js";
import type { Store } from "../ports.js";
import { CountingRandom, openHarness, type Harness } from "../test-support/harness.js";

const unreachable = await findUnreachableReason();
const inCi = (process.env.CI ?? "") !== "" && process.env.CI !== "false";
if (unreachable !== undefined && !inCi) {
  console.warn(
    `\n!!! PostgreSQL unreachable (${unreachable}): multi-instance WebAuthn tests skipped\n`,
  );
}

const outcome = async (promise: Promise<unknown>): Promise<string> => {
  try {
    await promise;
    return "accepted";
  } catch (error) {
    if (error instanceof AppError) return error.code;
    throw error;
  }
};

const skipped = unreachable !== undefined && !inCi;
(skipped ? describe.skip : describe)(
  skipped
    ? `WebAuthn on two instances (skipped: no PostgreSQL reachable: ${unreachable})`
    : "WebAuthn on two instances sharing PostgreSQL",
  () => {
    let database: TestDatabase;
    let first: Harness;
    let secondStore: Store;
    let second: Application & { close(): void };
    let service: Caller;
    const key = new SoftAuthenticator({ origin: "https://mfa.test", initialSignCount: 1 });

    beforeAll(async () => {
      if (unreachable !== undefined)
        throw new Error(`PostgreSQL unreachable in CI: ${unreachable}`);
      database = await createTestDatabase();
      first = await openHarness({ url: database.url });
      secondStore = await openStore(database.url);
      second = createApplication({
        store: secondStore,
        clock: first.clock,
        random: new CountingRandom(1_000_000),
        settings: DEFAULT_SETTINGS,
        webauthn: { protocol: createWebAuthnProtocol(), publicUrl: "https://mfa.test" },
      });
      await first.app.tenants.create(first.admin, { id: "acme", name: "Acme" });
      await first.app.principals.upsert(first.admin, "acme", "alice", { population: "direct" });
      service = await first.caller(["platform_service"], ["acme"]);
      const begun = await first.app.webauthn.beginRegistration(service, "acme", "alice");
      await second.webauthn.finishRegistration(service, "acme", "alice", begun.registration, {
        response: key.register(begun.options),
      });
    });
    afterAll(async () => {
      second.close();
      await secondStore.close();
      await first.close();
      await database.drop();
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
