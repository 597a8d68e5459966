/**
 * The hosted flows' checks, pinned where a mutation survey of src/app/flows found them unpinned
 * (each mutant, applied alone, passed every flow test): a flow that has ended takes no more
 * actions (a verification was still tried, and counted); a flow belongs to one browser even when
 * two open it at the same moment (both were shown it); a browser session past its end lends
 * nothing to a flow created before that end (it lent its evidence); and an enrolment begun on the
 * password alone is not finished in the flow once the principal holds a method. And only the
 * platform backend creates a flow, in its own tenants (no route checks the role but the use case),
 * vouching for nothing but its own password check.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Caller, FlowBrowser, FlowStart } from "../application.js";
import { chainOf } from "../audit/audit-chain.js";
import { openingOf } from "../test-support/flow-opening.js";
import type { Harness } from "../test-support/harness.js";
import { openPlatformMfaTenant } from "../test-support/platform-mfa-flows.js";
import { enrolTotp, rightCode, type EnrolledTotp } from "../test-support/totp-principals.js";
import type { FlowScreen } from "./flow-screens.js";
import { oathtoolCode } from "../../verifiers/totp/test-support/oathtool.js";

const RETURN = "https://app.acme.example/signed-in";

let h: Harness;
let service: Caller;
let totp: EnrolledTotp;
const browser: FlowBrowser = { cookie: "browser-one-cookie-value-0123456789" };
const otherBrowser: FlowBrowser = { cookie: "browser-two-cookie-value-9876543210" };

beforeEach(async () => {
  ({ h, service } = await openPlatformMfaTenant(RETURN));
  totp = await enrolTotp(h, service, "acme", "alice");
  h.clock.advance(60);
});
afterEach(() => h.close());

const create = (ttlSeconds?: number) =>
  h.app.flows.create(service, "acme", {
    principal: { id: "alice" },
    ...(ttlSeconds === undefined ? {} : { ttlSeconds }),
    verified: [{ method: "password", source: "platform", at: h.clock.now().toISOString() }],
    returnTo: RETURN,
  });
/** A visit to a created flow in `who`, with the opening secret its URL carries (binds it first). */
const open = (started: FlowStart, who = browser) =>
  h.app.flows.show("acme", started.flow, who, { opening: openingOf(started) });
const csrfOf = (screen: FlowScreen): string => {
  if (!("frame" in screen)) throw new Error(`no frame on a ${screen.kind} screen`);
  return screen.frame.csrfToken;
};
const verifyTotp = (flow: string, csrf: string, code = rightCode(h, totp)) =>
  h.app.flows.act("acme", flow, browser, {
    kind: "verify_totp",
    csrf,
    authenticator: totp.id,
    code,
  });
const auditTypes = async () =>
  (await h.store.read(({ audit: a }) => a.read(chainOf("acme"), { afterSeq: 0, limit: 500 }))).map(
    (e) => e.type,
  );

/** Walks a flow with TOTP to its code; returns the CSRF token its pages carried. */
async function complete(started: FlowStart): Promise<string> {
  const { flow } = started;
  const challenge = await open(started);
  expect(challenge.kind).toBe("challenge");
  const csrf = csrfOf(challenge);
  expect((await verifyTotp(flow, csrf)).kind).toBe("redirect");
  const done = await h.app.flows.show("acme", flow, browser);
  expect(done.kind === "redirect" && done.location.startsWith(`${RETURN}?code=`)).toBe(true);
  return csrf;
}

describe("a flow that has ended", () => {
  it("takes no more actions from its own browser: no verification is tried, nothing is audited", async () => {
    const started = await create();
    const { flow } = started;
    const csrf = await complete(started);
    h.clock.advance(30);
    const before = await auditTypes();
    // A wrong code: tried, it would count against the principal's verification throttle.
    const acted = await verifyTotp(flow, csrf, "000000");
    expect(acted).toMatchObject({ kind: "failed", code: "flow.used" });
    expect(await auditTypes()).toEqual(before);
  });
});

describe("a flow opened by two browsers at the same moment", () => {
  it("belongs to one of them: the other is refused", async () => {
    // Both bring the opening secret: the flow's URL reached both.
    const started = await create();
    const screens = await Promise.all([open(started, browser), open(started, otherBrowser)]);
    const kinds = screens.map((s) => (s.kind === "failed" ? s.code : s.kind)).sort();
    expect(kinds).toEqual(["challenge", "flow.other_browser"]);
  });
});

describe("a browser session", () => {
  it("lends nothing once past its end (12 hours), though used within the idle timeout all along", async () => {
    await complete(await create());
    // Used every 50 minutes (AAL2's idle timeout is an hour; its overall limit a day).
    for (let used = 50; used < 12 * 60; used += 50) {
      h.clock.advance(50 * 60);
      const reused = await open(await create());
      expect(reused.kind === "redirect" && reused.location.startsWith(`${RETURN}?code=`)).toBe(
        true,
      );
    }
    // A flow created while the session stands (creating one purges the sessions past their end),
    // shown once it has ended.
    const started = await create(3600);
    h.clock.advance(50 * 60);
    const later = await open(started);
    expect(later.kind).toBe("challenge");
  });
});

describe("an enrolment begun in a flow on the password alone", () => {
  it("is not finished once the principal holds a method, the flow having proved none: the page says enrolment is not allowed (the API would refuse it too)", async () => {
    await h.app.principals.upsert(h.admin, "acme", "bob", { population: "direct" });
    const started = await h.app.flows.create(service, "acme", {
      principal: { id: "bob" },
      verified: [{ method: "password", source: "platform", at: h.clock.now().toISOString() }],
      returnTo: RETURN,
    });
    const { flow } = started;
    const challenge = await open(started);
    const begun = await h.app.flows.act("acme", flow, browser, {
      kind: "enroll_totp",
      csrf: csrfOf(challenge),
    });
    if (begun.kind !== "enroll_totp") throw new Error(`no enrolment: ${begun.kind}`);
    // Meanwhile bob's first method is bound elsewhere (recovery codes, on his password alone).
    await h.app.recoveryCodes.generate(service, "acme", "bob");
    const confirmed = await h.app.flows.act("acme", flow, browser, {
      kind: "confirm_totp",
      csrf: csrfOf(challenge),
      authenticator: begun.authenticator,
      code: oathtoolCode(begun.secret, h.clock.now()),
    });
    expect(confirmed).toMatchObject({ notice: { code: "enrolment.not_allowed" } });
    const listed = await h.app.authenticators.list(service, "acme", "bob");
    expect(listed.filter((a) => a.status === "active")).toEqual([]);
  });
});

describe("creating a flow", () => {
  it("is the platform backend's, in its own tenants only: another role, or another tenant's key, is refused", async () => {
    await h.app.tenants.create(h.admin, { id: "globex", name: "Globex", returnUrls: [RETURN] });
    const request = {
      principal: { id: "alice" },
      verified: [
        {
          method: "password" as const,
          source: "platform" as const,
          at: h.clock.now().toISOString(),
        },
      ],
      returnTo: RETURN,
    };
    const auditor = await h.caller(["tenant_auditor"], ["acme"]);
    await expect(h.app.flows.create(auditor, "acme", request)).rejects.toMatchObject({
      code: "auth.forbidden",
    });
    const globexService = await h.caller(["platform_service"], ["globex"]);
    await expect(h.app.flows.create(globexService, "acme", request)).rejects.toMatchObject({
      code: "not_found",
    });
  });

  it("takes only the platform's own password check as verified", async () => {
    await expect(
      h.app.flows.create(service, "acme", {
        principal: { id: "alice" },
        verified: [
          // Not the platform's word: its schema refuses it over HTTP, the use case for any caller.
          { method: "password", source: "idp" as "platform", at: h.clock.now().toISOString() },
        ],
        returnTo: RETURN,
      }),
    ).rejects.toMatchObject({ code: "request.invalid" });
  });
});

// The code lives 60 seconds: spent 1 ms before its end it is exchanged, at its end it has
// expired (a `<` for the `<=` left one more instant for a leaked code, and no test saw it).
describe("a flow's one-time code at the end of its life", () => {
  /** Completes a flow, waits `seconds`, then exchanges its code. */
  async function exchangeAfter(seconds: number) {
    const started = await create();
    const { flow } = started;
    const challenge = await open(started);
    await verifyTotp(flow, csrfOf(challenge));
    const done = await h.app.flows.show("acme", flow, browser);
    const code = done.kind === "redirect" ? new URL(done.location).searchParams.get("code") : null;
    if (code === null) throw new Error(`the flow ended in a ${done.kind} screen, not a code`);
    h.clock.advance(seconds);
    return h.app.flows.exchange(service, { code });
  }

  it("is exchanged 1 ms before it expires", async () => {
    const { token } = await exchangeAfter(59.999);
    expect(token.split(".")).toHaveLength(3);
  });

  it("is refused at the instant it expires, and the refusal says why", async () => {
    await expect(exchangeAfter(60)).rejects.toMatchObject({ code: "flow.code_invalid" });
    const refused = await h.app.audit.list(h.admin, "acme", { type: "flow.exchange_refused" }, {});
    expect(refused.items.at(-1)?.payload).toMatchObject({ reason: "expired" });
  });
});
