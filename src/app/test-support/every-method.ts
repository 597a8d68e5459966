import type { SoftAuthenticator } from "../../verifiers/webauthn/test-support/soft-authenticator.js";
import type { WebAuthnAuthenticatorView } from "../application.js";
import type { VerificationThrottleRecord } from "../records.js";
import { provedMfaJustNow } from "./fresh-mfa.js";
import {
  enrolTotp,
  outcomeOf,
  rightCode,
  wrongCode,
  type EnrolledTotp,
} from "./totp-principals.js";
import { openWebAuthnWorld, type WebAuthnWorld } from "./webauthn-world.js";

/** The verification methods a principal holds on the platform. */
export type Method = "totp" | "webauthn" | "recovery_code";
export const METHODS: readonly Method[] = ["totp", "webauthn", "recovery_code"];

/** A recovery code that is never issued: its locator is not in the set, its secret is wrong. */
export const WRONG_RECOVERY_CODE = "ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ";

/**
 * The WebAuthn world's alice (tenant acme) holding every method: a confirmed TOTP
 * authenticator, a WebAuthn credential of a software authenticator, and ten recovery codes;
 * with helpers to fail or succeed once with a method, and to read her throttle state.
 */
export interface EveryMethod {
  readonly w: WebAuthnWorld;
  readonly totp: EnrolledTotp;
  readonly key: SoftAuthenticator;
  readonly credential: WebAuthnAuthenticatorView;
  /** The recovery codes not used yet, in issue order (a success takes the first). */
  readonly codes: string[];
  /** One failed verification with `method`; the outcome's code and details. */
  fail(
    method: Method,
    clientAddress?: string,
  ): Promise<{ code: string; details?: Readonly<Record<string, unknown>> }>;
  /**
   * One verification with `method` and a right secret; the outcome's code and details. For
   * TOTP the clock moves to the next time step when the current one was accepted already.
   */
  succeed(
    method: Method,
    clientAddress?: string,
  ): Promise<{ code: string; details?: Readonly<Record<string, unknown>> }>;
  /** Alice's throttle row (`principal:alice`), if any. */
  principalState(): Promise<VerificationThrottleRecord | undefined>;
  close(): Promise<void>;
}

export async function openEveryMethod(): Promise<EveryMethod> {
  const w = await openWebAuthnWorld();
  const service = w.service.acme;
  const totp = await enrolTotp(w.h, service, "acme", "alice");
  const key = w.authenticator();
  const credential = await w.register(key);
  await provedMfaJustNow(w.h, "acme", "alice");
  const { codes } = await w.h.app.recoveryCodes.generate(service, "acme", "alice");
  // The set-up's proof of MFA is stale from here: tests start from no fresh MFA.
  w.h.clock.advance(1);
  const unused = [...codes];
  // Each TOTP time step is accepted once: a success moves the clock to a step not used yet.
  const stepOf = () => Math.floor(w.h.clock.now().getTime() / 30_000);
  let lastStep = stepOf();
  const from = (clientAddress: string | undefined) =>
    clientAddress === undefined ? {} : { clientAddress };

  async function assertion(bogus: boolean, clientAddress: string | undefined) {
    const begun = await w.h.app.webauthn.beginAuthentication(service, "acme", "alice");
    return w.h.app.webauthn.finishAuthentication(service, "acme", "alice", begun.authentication, {
      response: key.authenticate(begun.options, bogus ? { bogusSignature: true } : undefined),
      ...from(clientAddress),
    });
  }

  return {
    w,
    totp,
    key,
    credential,
    codes: unused,
    fail(method, clientAddress) {
      switch (method) {
        case "totp":
          return outcomeOf(
            w.h.app.authenticators.verifyTotp(service, "acme", "alice", totp.id, {
              code: wrongCode(w.h, totp),
              ...from(clientAddress),
            }),
          );
        case "webauthn":
          return outcomeOf(assertion(true, clientAddress));
        case "recovery_code":
          return outcomeOf(
            w.h.app.recoveryCodes.verify(service, "acme", "alice", {
              code: WRONG_RECOVERY_CODE,
              ...from(clientAddress),
            }),
          );
      }
    },
    async succeed(method, clientAddress) {
      switch (method) {
        case "totp": {
          if (stepOf() <= lastStep) {
            w.h.clock.advance((lastStep + 1) * 30 - w.h.clock.now().getTime() / 1000);
          }
          const result = await outcomeOf(
            w.h.app.authenticators.verifyTotp(service, "acme", "alice", totp.id, {
              code: rightCode(w.h, totp),
              ...from(clientAddress),
            }),
          );
          if (result.code === "accepted") lastStep = stepOf();
          return result;
        }
        case "webauthn":
          return outcomeOf(assertion(false, clientAddress));
        case "recovery_code": {
          const code = unused[0];
          if (code === undefined) throw new Error("alice has no recovery code left");
          const result = await outcomeOf(
            w.h.app.recoveryCodes.verify(service, "acme", "alice", {
              code,
              ...from(clientAddress),
            }),
          );
          if (result.code === "accepted") unused.shift();
          return result;
        }
      }
    },
    principalState: () =>
      w.h.store.read((r) => r.verificationThrottles.get("acme", "principal:alice")),
    close: () => w.close(),
  };
}
