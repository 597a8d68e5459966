// Threat: two bindings of one principal's methods, on the password alone, committing together
// on two instances so that neither sees the other. Binding a further method on the principal's
// behalf needs a fresh MFA once it holds one, and completing an enrolment needs one if a method
// was bound since it began (removal-rules.ts, binding.late-completion.test.ts). Whoever holds
// only the password could begin a passkey ceremony while the principal, holding nothing yet,
// begins its TOTP enrolment, and finish theirs at the moment the principal confirms: each
// transaction reads the other's method as not yet there. Bindings of one principal queue on its
// throttle row in the shared PostgreSQL database (as removals do): the second sees the first.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { oathtoolCode } from "../../verifiers/totp/test-support/oathtool.js";
import { SoftAuthenticator } from "../../verifiers/webauthn/test-support/soft-authenticator.js";
import type { Application, Caller } from "../application.js";
import type { Harness } from "../test-support/harness.js";
import {
  describeOnPostgres,
  openTwoInstances,
  type TwoInstances,
} from "../test-support/postgres-instances.js";
import { outcomeOf } from "../test-support/totp-principals.js";

// Many ceremonies per test: generous limits for a loaded machine (no timing is asserted).
vi.setConfig({ testTimeout: 120_000, hookTimeout: 60_000 });

const ROUNDS = 8;

describeOnPostgres(
  {
    title: "Binding methods on two instances sharing PostgreSQL",
    skippedTitle: "Binding methods on two instances",
    tests: "multi-instance binding tests",
  },
  () => {
    let two: TwoInstances | undefined;
    let first: Harness;
    let second: Application;
    let service: Caller;

    beforeAll(async () => {
      two = await openTwoInstances();
      ({ first, second, service } = two);
    });
    afterAll(async () => {
      await two?.close();
    });

    const newPrincipal = async (round: number) => {
      const principal = `p-${String(round)}-${randomBytes(3).toString("hex")}`;
      await first.app.principals.upsert(first.admin, "acme", principal, { population: "direct" });
      return principal;
    };

    it("binds only one of a TOTP confirmation and a passkey registration completed together", async () => {
      const outcomes: string[][] = [];
      for (let round = 0; round < ROUNDS; round += 1) {
        const principal = await newPrincipal(round);
        // Both begun while the principal holds nothing: allowed on the first factor alone.
        const totp = await first.app.authenticators.beginTotp(service, "acme", principal, {});
        const passkey = await first.app.webauthn.beginRegistration(service, "acme", principal);
        const response = new SoftAuthenticator({ origin: "https://mfa.test" }).register(
          passkey.options,
        );
        first.clock.advance(1);
        const [confirmed, registered] = await Promise.all([
          outcomeOf(
            first.app.authenticators.confirmTotp(
              service,
              "acme",
              principal,
              totp.authenticator.id,
              {
                code: oathtoolCode(totp.secret, first.clock.now()),
              },
            ),
          ),
          outcomeOf(
            second.webauthn.finishRegistration(service, "acme", principal, passkey.registration, {
              response,
            }),
          ),
        ]);
        outcomes.push([confirmed.code, registered.code].sort());
      }
      expect(outcomes).toEqual(
        Array.from({ length: ROUNDS }, () => ["accepted", "authenticator.fresh_mfa_required"]),
      );
    });

    it("binds only one of two passkey registrations completed together", async () => {
      const outcomes: string[][] = [];
      for (let round = 0; round < ROUNDS; round += 1) {
        const principal = await newPrincipal(100 + round);
        const ceremonies = [
          await first.app.webauthn.beginRegistration(service, "acme", principal),
          await first.app.webauthn.beginRegistration(service, "acme", principal),
        ];
        first.clock.advance(1);
        const finished = await Promise.all(
          ceremonies.map((begun, n) =>
            outcomeOf(
              (n === 0 ? first.app : second).webauthn.finishRegistration(
                service,
                "acme",
                principal,
                begun.registration,
                {
                  response: new SoftAuthenticator({ origin: "https://mfa.test" }).register(
                    begun.options,
                  ),
                },
              ),
            ),
          ),
        );
        outcomes.push(finished.map((o) => o.code).sort());
      }
      expect(outcomes).toEqual(
        Array.from({ length: ROUNDS }, () => ["accepted", "authenticator.fresh_mfa_required"]),
      );
    });

    it("binds only one of recovery codes and a passkey registration when both start from nothing", async () => {
      const outcomes: string[][] = [];
      for (let round = 0; round < ROUNDS; round += 1) {
        const principal = await newPrincipal(200 + round);
        const passkey = await first.app.webauthn.beginRegistration(service, "acme", principal);
        const response = new SoftAuthenticator({ origin: "https://mfa.test" }).register(
          passkey.options,
        );
        first.clock.advance(1);
        const [generated, registered] = await Promise.all([
          outcomeOf(first.app.recoveryCodes.generate(service, "acme", principal)),
          outcomeOf(
            second.webauthn.finishRegistration(service, "acme", principal, passkey.registration, {
              response,
            }),
          ),
        ]);
        outcomes.push([generated.code, registered.code].sort());
      }
      expect(outcomes).toEqual(
        Array.from({ length: ROUNDS }, () => ["accepted", "authenticator.fresh_mfa_required"]),
      );
    });
  },
);
