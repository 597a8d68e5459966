// Threat (and availability): a hosted flow's TOTP enrolment page left open past the enrolment's
// time (`totp.enrolmentTtlSeconds`, ten minutes), within a flow that lasts longer. The API
// refuses and removes the expired enrolment (`authenticator.enrolment_expired`); the flow must
// not offer it again, nor call it a wrong code: it begins a new one, with a new key and a notice
// that says the old one was cancelled. A failed confirmation still begins a new one, as before.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { oathtoolCode } from "../../verifiers/totp/test-support/oathtool.js";
import type { Caller, FlowBrowser } from "../application.js";
import { openingOf } from "../test-support/flow-opening.js";
import type { Harness } from "../test-support/harness.js";
import { csrfOf, openPlatformMfaTenant } from "../test-support/platform-mfa-flows.js";
import {
  MAX_PENDING_ENROLMENTS,
  purgeExpiredEnrolmentsIfDue,
} from "../authenticators/pending-enrolments.js";
import type { FlowScreen } from "./flow-screens.js";

const RETURN = "https://app.acme.example/signed-in";

describe("a TOTP enrolment in a hosted flow", () => {
  let h: Harness;
  let service: Caller;
  const browser: FlowBrowser = { cookie: "browser-one-cookie-value-0123456789" };

  beforeEach(async () => {
    ({ h, service } = await openPlatformMfaTenant(RETURN));
    await h.app.principals.upsert(h.admin, "acme", "bob", { population: "direct" });
  });
  afterEach(() => h.close());

  /** A flow for bob, who holds no method, on the TOTP enrolment screen. */
  async function enrolmentScreen() {
    const started = await h.app.flows.create(service, "acme", {
      principal: { id: "bob" },
      verified: [{ method: "password", source: "platform", at: h.clock.now().toISOString() }],
      returnTo: RETURN,
      ttlSeconds: 3600,
    });
    const { flow } = started;
    const challenge = await h.app.flows.show("acme", flow, browser, {
      opening: openingOf(started),
    });
    const screen = await h.app.flows.act("acme", flow, browser, {
      kind: "enroll_totp",
      csrf: csrfOf(challenge),
    });
    return { flow, screen: enrolment(screen) };
  }

  function enrolment(screen: FlowScreen) {
    if (screen.kind !== "enroll_totp") throw new Error(`a ${screen.kind} screen, not enroll_totp`);
    return screen;
  }

  const confirm = (flow: string, screen: ReturnType<typeof enrolment>, code?: string) =>
    h.app.flows.act("acme", flow, browser, {
      kind: "confirm_totp",
      csrf: csrfOf(screen),
      authenticator: screen.authenticator,
      code: code ?? oathtoolCode(screen.secret, h.clock.now()),
    });

  const pending = async () =>
    (await h.store.read((r) => r.authenticators.list("acme", "bob"))).map((a) => a.id);

  it("begins a new one, saying the old one was cancelled, when the page was left open too long", async () => {
    const { flow, screen } = await enrolmentScreen();
    h.clock.advance(15 * 60);
    const again = await confirm(flow, screen);
    expect(again).toMatchObject({
      kind: "enroll_totp",
      notice: { code: "enrolment.expired", tone: "error" },
    });
    const renewed = enrolment(again);
    expect(renewed.authenticator).not.toBe(screen.authenticator);
    expect(renewed.secret).not.toBe(screen.secret);
    // The expired one is gone: only the new one waits.
    expect(await pending()).toEqual([renewed.authenticator]);
    // The new one is confirmed and the flow goes on.
    expect(await confirm(flow, renewed)).toMatchObject({ kind: "redirect" });
  });

  it("still begins a new one after a wrong code, within the time", async () => {
    const { flow, screen } = await enrolmentScreen();
    h.clock.advance(5 * 60);
    const wrong = oathtoolCode(screen.secret, new Date(h.clock.now().getTime() - 300_000));
    const again = enrolment(await confirm(flow, screen, wrong));
    expect(again.notice).toEqual({ code: "enrolment.confirm_failed", tone: "error" });
    // The abandoned one waits out its time; the next enrolment begun after it removes it.
    h.clock.advance(10 * 60);
    const third = enrolment(await confirm(flow, again));
    expect(third.notice).toEqual({ code: "enrolment.expired", tone: "error" });
    expect(await pending()).toEqual([third.authenticator]);
    expect(await confirm(flow, third)).toMatchObject({ kind: "redirect" });
  });

  it("still begins a new one after many wrong codes, keeping only the newest few waiting", async () => {
    const begun = await enrolmentScreen();
    const { flow } = begun;
    let { screen } = begun;
    for (let n = 0; n < MAX_PENDING_ENROLMENTS + 2; n += 1) {
      const wrong = oathtoolCode(screen.secret, new Date(h.clock.now().getTime() - 300_000));
      screen = enrolment(await confirm(flow, screen, wrong));
      expect(screen.notice).toEqual({ code: "enrolment.confirm_failed", tone: "error" });
      h.clock.advance(5);
    }
    const waiting = await pending();
    expect(waiting).toHaveLength(MAX_PENDING_ENROLMENTS);
    expect(waiting.at(-1)).toBe(screen.authenticator);
    expect(await confirm(flow, screen)).toMatchObject({ kind: "redirect" });
  });

  it("begins a new one, saying the old one was cancelled, when the old one was purged meanwhile", async () => {
    const { flow, screen } = await enrolmentScreen();
    h.clock.advance(20 * 60);
    // Another request's purge removed it while the page stayed open.
    expect(await purgeExpiredEnrolmentsIfDue(h.context)).toBe(1);
    const again = await confirm(flow, screen);
    expect(again).toMatchObject({
      kind: "enroll_totp",
      notice: { code: "enrolment.expired", tone: "error" },
    });
    const renewed = enrolment(again);
    expect(await pending()).toEqual([renewed.authenticator]);
    expect(await confirm(flow, renewed)).toMatchObject({ kind: "redirect" });
  });
});
