// Threat: an attacker who sees a TOTP code (shoulder-surfing, a phishing relay, a log) uses it
// again while it is still valid. RFC 6238 §5.2 and SECURITY-CHECKLIST §6 T3: each time step is
// accepted once per authenticator; an older step after a newer one is refused even inside the
// window; of two concurrent submissions of one code exactly one succeeds (DESIGN invariant 7).
import fc from "fast-check";
import { Secret, TOTP } from "otpauth";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { oathtoolCode } from "../../verifiers/totp/test-support/oathtool.js";
import type { Caller } from "../application.js";
import { AppError } from "../errors.js";
import { openHarness, type Harness } from "../test-support/harness.js";

const outcome = async (promise: Promise<unknown>): Promise<string> => {
  try {
    await promise;
    return "accepted";
  } catch (error) {
    if (error instanceof AppError) return error.code;
    throw error;
  }
};

describe("TOTP: each step accepted once", () => {
  let h: Harness;
  let service: Caller;
  let secret: string;
  let id: string;
  const at = (offsetSteps: number) => new Date(h.clock.now().getTime() + offsetSteps * 30_000);
  const verify = (totp: string) =>
    outcome(h.app.authenticators.verifyTotp(service, "acme", "alice", id, { code: totp }));

  beforeEach(async () => {
    h = await openHarness();
    await h.app.tenants.create(h.admin, { id: "acme", name: "Acme Corp" });
    await h.app.principals.upsert(h.admin, "acme", "alice", { population: "direct" });
    service = await h.caller(["platform_service"], ["acme"]);
    const enrolment = await h.app.authenticators.beginTotp(service, "acme", "alice", {});
    secret = enrolment.secret;
    id = enrolment.authenticator.id;
    await h.app.authenticators.confirmTotp(service, "acme", "alice", id, {
      code: oathtoolCode(secret, h.clock.now()),
    });
    h.clock.advance(90);
  });
  afterEach(() => h.close());

  it("refuses the same code twice", async () => {
    const totp = oathtoolCode(secret, h.clock.now());
    expect([await verify(totp), await verify(totp)]).toEqual(["accepted", "totp.replayed"]);
  });

  it("refuses the confirmation code again after confirmation", async () => {
    h.clock.advance(-90);
    expect(await verify(oathtoolCode(secret, h.clock.now()))).toBe("totp.replayed");
  });

  it("refuses the previous step's code once the current step was accepted", async () => {
    const current = oathtoolCode(secret, at(0));
    const previous = oathtoolCode(secret, at(-1));
    expect([await verify(current), await verify(previous)]).toEqual(["accepted", "totp.replayed"]);
  });

  it("accepts the previous step, then the current one, then the next one (one step of drift)", async () => {
    expect([
      await verify(oathtoolCode(secret, at(-1))),
      await verify(oathtoolCode(secret, at(0))),
      await verify(oathtoolCode(secret, at(1))),
    ]).toEqual(["accepted", "accepted", "accepted"]);
  });

  it("refuses codes two steps away", async () => {
    expect([
      await verify(oathtoolCode(secret, at(-2))),
      await verify(oathtoolCode(secret, at(2))),
    ]).toEqual(["totp.wrong_code", "totp.wrong_code"]);
  });

  it("accepts exactly one of several concurrent submissions of one code", async () => {
    const totp = oathtoolCode(secret, h.clock.now());
    const outcomes = await Promise.all([1, 2, 3, 4, 5].map(() => verify(totp)));
    expect(outcomes.filter((o) => o === "accepted")).toHaveLength(1);
    expect(outcomes.filter((o) => o === "totp.replayed")).toHaveLength(4);
  });

  it("accepts a step exactly when it is later than every step accepted before (any sequence)", async () => {
    const totp = new TOTP({ secret: Secret.fromBase32(secret) });
    const step = (time: Date) => Math.floor(time.getTime() / 30_000);
    // The confirmation accepted the step 90 s before the beforeEach's end.
    let last = step(h.clock.now()) - 3;
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            advance: fc.integer({ min: 0, max: 2 }),
            offset: fc.integer({ min: -1, max: 1 }),
          }),
          {
            maxLength: 12,
          },
        ),
        async (submissions) => {
          for (const { advance, offset } of submissions) {
            h.clock.advance(advance * 30);
            const submitted = step(h.clock.now()) + offset;
            const code = totp.generate({ timestamp: submitted * 30_000 });
            const expected = submitted > last ? "accepted" : "totp.replayed";
            // Replays count as failures and would soon meet the principal's backoff; lifting it
            // keeps this property about steps alone (the throttle has its own tests).
            await h.store.transaction((r) =>
              r.verificationThrottles.clear("acme", "principal:alice"),
            );
            expect(await verify(code)).toBe(expected);
            if (expected === "accepted") last = submitted;
          }
        },
      ),
      { numRuns: 40 },
    );
  });
});
