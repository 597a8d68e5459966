import { oathtoolCode } from "../../verifiers/totp/test-support/oathtool.js";
import type { Caller } from "../application.js";
import { AppError } from "../errors.js";
import { provedMfaJustNow } from "./fresh-mfa.js";
import type { Harness } from "./harness.js";

/** A principal's confirmed TOTP authenticator, with its secret for computing codes. */
export interface EnrolledTotp {
  readonly tenant: string;
  readonly principal: string;
  readonly id: string;
  readonly secret: string;
}

/**
 * Registers `principal` (population `direct`) and enrols and confirms a TOTP authenticator for
 * it. The confirmation uses the current step: move the clock on before verifying a right code.
 */
export async function enrolTotp(
  h: Harness,
  service: Caller,
  tenant: string,
  principal: string,
): Promise<EnrolledTotp> {
  await h.app.principals.upsert(h.admin, tenant, principal, { population: "direct" });
  await provedMfaJustNow(h, tenant, principal);
  const begun = await h.app.authenticators.beginTotp(service, tenant, principal, {});
  const { secret } = begun;
  const { id } = begun.authenticator;
  await h.app.authenticators.confirmTotp(service, tenant, principal, id, {
    code: oathtoolCode(secret, h.clock.now()),
  });
  return { tenant, principal, id, secret };
}

/** The right code now. */
export const rightCode = (h: Harness, totp: EnrolledTotp): string =>
  oathtoolCode(totp.secret, h.clock.now());

/** A code that is not valid now: the one of ten steps ago. */
export const wrongCode = (h: Harness, totp: EnrolledTotp): string =>
  oathtoolCode(totp.secret, new Date(h.clock.now().getTime() - 300_000));

/** What a call ended with: `accepted`, or the error's code and details. */
export async function outcomeOf(
  promise: Promise<unknown>,
): Promise<{ code: string; details?: Readonly<Record<string, unknown>> }> {
  try {
    await promise;
    return { code: "accepted" };
  } catch (error) {
    if (error instanceof AppError) {
      return error.details === undefined
        ? { code: error.code }
        : { code: error.code, details: error.details };
    }
    throw error;
  }
}

/** Verifies `code` with `totp`, from `clientAddress` when given; returns the outcome. */
export const verifyWith = (
  h: Harness,
  service: Caller,
  totp: EnrolledTotp,
  code: string,
  clientAddress?: string,
) =>
  outcomeOf(
    h.app.authenticators.verifyTotp(service, totp.tenant, totp.principal, totp.id, {
      code,
      ...(clientAddress === undefined ? {} : { clientAddress }),
    }),
  );
