// Threat: a tenant tightens its WebAuthn settings through one server instance (requires user
// verification, drops an origin) and another instance keeps judging ceremonies by the settings it
// cached. Two instances share one PostgreSQL database; the change must bind the instance that
// made it at once (its own change notice comes back only after a round trip, and here never: it
// hears no notice at all) and the other within a second. The clock is frozen, so the caches'
// one-second expiry cannot be what makes it pass: only the change feed can.
import { afterAll, beforeAll, expect, it } from "vitest";
import { SoftAuthenticator } from "../../verifiers/webauthn/test-support/soft-authenticator.js";
import type { Application, Caller, WebAuthnSettingsInput } from "../application.js";
import type { Store } from "../ports.js";
import { CountingRandom } from "../test-support/harness.js";
import {
  describeOnPostgres,
  openTwoInstances,
  type TwoInstances,
} from "../test-support/postgres-instances.js";
import { outcomeOf } from "../test-support/totp-principals.js";

const ORIGIN = "https://mfa.test";
const SECOND_ORIGIN = "https://login.mfa.test";

/** `store`, except that its listeners hear no change, its own included. */
const deafTo = (store: Store): Store => ({
  transaction: (work) => store.transaction(work),
  read: (work) => store.read(work),
  notify: (change) => store.notify(change),
  onChange: () => () => undefined,
  ping: () => store.ping(),
  close: () => store.close(),
});

describeOnPostgres(
  {
    title: "a WebAuthn settings change on two instances sharing PostgreSQL",
    skippedTitle: "a WebAuthn settings change on two instances",
    tests: "multi-instance WebAuthn settings tests",
  },
  () => {
    let two: TwoInstances | undefined;
    /** The instance the change is made through; it never hears a change notice. */
    let first: Application;
    let closeFirst = (): Promise<void> => Promise.resolve();
    let admin: Caller;
    let second: Application;
    let service: Caller;
    const key = new SoftAuthenticator({ origin: ORIGIN });

    const configure = (settings: Partial<WebAuthnSettingsInput>) =>
      first.webauthn.putSettings(admin, "acme", {
        rpId: "mfa.test",
        origins: [ORIGIN, SECOND_ORIGIN],
        ...settings,
      });

    /** A whole ceremony through `app`, from `origin`, with UV as `uv`: `accepted` or the code. */
    async function signIn(app: Application, origin: string, uv = true): Promise<string> {
      const begun = await app.webauthn.beginAuthentication(service, "acme", "alice");
      const response = key.authenticate(begun.options, { origin, uv });
      return (
        await outcomeOf(
          app.webauthn.finishAuthentication(service, "acme", "alice", begun.authentication, {
            response,
          }),
        )
      ).code;
    }

    /** How long `second` took to refuse sign-ins from the second origin, polling every 20 ms. */
    async function timeUntilRefused(): Promise<number> {
      const started = performance.now();
      for (;;) {
        if ((await signIn(second, SECOND_ORIGIN)) === "webauthn.origin_not_allowed") {
          return performance.now() - started;
        }
        if (performance.now() - started > 3000) return Infinity;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }

    beforeAll(async () => {
      two = await openTwoInstances({ principals: ["alice"] });
      ({ second, service } = two);
      admin = two.first.admin;
      const deaf = two.first.application({
        store: deafTo(two.first.store),
        random: new CountingRandom(2_000_000),
      });
      first = deaf;
      closeFirst = () => deaf.close();
      await configure({ userVerification: "preferred" });
      const begun = await first.webauthn.beginRegistration(service, "acme", "alice");
      await first.webauthn.finishRegistration(service, "acme", "alice", begun.registration, {
        response: key.register(begun.options, { uv: false }),
      });
    });
    afterAll(async () => {
      await closeFirst();
      await two?.close();
    });

    it("binds the instance that made the change at once and the other within a second", async () => {
      // Both instances hold the loose settings: UV preferred, both origins.
      expect(await signIn(first, SECOND_ORIGIN, false)).toBe("accepted");
      expect(await signIn(second, SECOND_ORIGIN, false)).toBe("accepted");
      const begun = await first.webauthn.beginAuthentication(service, "acme", "alice");
      await configure({ origins: [ORIGIN], userVerification: "required" });
      // The very next finish on this instance, of a ceremony begun before the change.
      const finished = await outcomeOf(
        first.webauthn.finishAuthentication(service, "acme", "alice", begun.authentication, {
          response: key.authenticate(begun.options, { uv: false }),
        }),
      );
      expect(finished.code).toBe("webauthn.user_not_verified");
      expect(await signIn(first, SECOND_ORIGIN)).toBe("webauthn.origin_not_allowed");
      expect(await timeUntilRefused()).toBeLessThan(1000);
      expect(await signIn(second, ORIGIN, false)).toBe("webauthn.user_not_verified");
      expect(await signIn(second, ORIGIN)).toBe("accepted");
    });
  },
);
