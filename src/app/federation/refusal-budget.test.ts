// Threat: anyone on the internet grows a tenant's audit chain without bound. A refused answer
// (a forged SAML response, an OIDC error callback) needs no account, and each one was appended
// to the tenant's chain; the per-address limit on unauthenticated routes does not bound many
// addresses together (an IPv6 range, a botnet). Past a budget per tenant, IdP and minute, the
// refusals are counted instead, the minute's last recorded one says so, and the count (with its
// reasons) is recorded when the minute ends: a flood is seen, and bounded. And the budget hides
// nothing: one address (300 requests a minute) cannot use it up and keep the refusals of others
// (an attacker's replay of a stolen answer, say) out of the chain, as it gets a share of it only;
// and a minute's count is recorded when the minute ends, though no refusal follows it.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { openTestServer, type TestServer } from "../../http/test-support/open-test-server.js";
import { must, registerSamlTenant } from "../../http/test-support/saml-federation.js";
import { TestIdp } from "../../verifiers/saml/test-support/test-idp.js";
import { ManualClock, ManualTimers } from "../test-support/harness.js";
import {
  CLOSE_WAIT_MS,
  RECORDED_AT_ONCE,
  REFUSALS_RECORDED_PER_ADDRESS,
  REFUSALS_RECORDED_PER_MINUTE,
  RefusalBudget,
  type ClosedWindow,
} from "./refusal-budget.js";

describe("the refusal budget", () => {
  const open = (limits = { perMinute: 3, perAddress: 3 }) => {
    const clock = new ManualClock();
    const timers = new ManualTimers();
    const recorded: ClosedWindow[] = [];
    /** How many counts each call to `record` handed on together. */
    const calls: number[] = [];
    const budget = new RefusalBudget(
      clock,
      timers,
      (closed) => {
        recorded.push(...closed);
        calls.push(closed.length);
        return Promise.resolve();
      },
      limits,
    );
    return { clock, timers, recorded, calls, budget };
  };

  it("records the first refusals of a minute, says which is the last, then counts the rest", () => {
    const { clock, budget } = open();
    const first = clock.now().getTime();
    const admitted = [1, 2, 3, 4, 5].map(() => budget.admit("acme", "corp", "saml.malformed"));
    expect(admitted).toEqual([
      { record: true },
      { record: true },
      { record: true, countedUntil: new Date(first + 60_000).toISOString() },
      { record: false },
      { record: false },
    ]);
    // Another IdP, and another tenant, have budgets of their own.
    expect(budget.admit("acme", "other", "saml.malformed")).toEqual({ record: true });
    expect(budget.admit("globex", "corp", "saml.malformed")).toEqual({ record: true });
    clock.advance(59.999);
    expect(budget.admit("acme", "corp", "oidc.state_unknown")).toEqual({ record: false });
    clock.advance(0.001);
    // The minute is over and its timer has not run yet: this refusal hands its count on.
    expect(budget.admit("acme", "corp", "saml.malformed")).toEqual({
      record: true,
      closed: {
        tenant: "acme",
        idp: "corp",
        suppressed: {
          count: 3,
          reasons: { "saml.malformed": 2, "oidc.state_unknown": 1 },
          from: new Date(first).toISOString(),
          to: new Date(first + 60_000).toISOString(),
        },
      },
    });
    // The count is recorded once.
    expect(budget.admit("acme", "corp", "saml.malformed")).toEqual({ record: true });
  });

  it("records a minute's count when the minute ends, though no refusal follows", async () => {
    const { clock, timers, recorded, budget } = open();
    const first = clock.now().getTime();
    for (let n = 0; n < 3; n++) budget.admit("acme", "corp", "saml.malformed");
    // A minute that counted nothing sets no timer.
    expect(timers.pending).toEqual([]);
    clock.advance(20);
    budget.admit("acme", "corp", "saml.malformed");
    budget.admit("acme", "corp", "oidc.state_unknown");
    // One timer, at the minute's end.
    expect(timers.pending).toEqual([40_000]);
    clock.advance(40);
    await timers.runAll();
    expect(recorded).toEqual([
      {
        tenant: "acme",
        idp: "corp",
        suppressed: {
          count: 2,
          reasons: { "saml.malformed": 1, "oidc.state_unknown": 1 },
          from: new Date(first).toISOString(),
          to: new Date(first + 60_000).toISOString(),
        },
      },
    ]);
    // The next minute starts afresh, with nothing to hand on.
    expect(budget.admit("acme", "corp", "saml.malformed")).toEqual({ record: true });
  });

  it("records a count once: a refusal that closes the minute first stops its timer", async () => {
    const { clock, timers, recorded, budget } = open();
    for (let n = 0; n < 4; n++) budget.admit("acme", "corp", "saml.malformed");
    clock.advance(60);
    expect(budget.admit("acme", "corp", "saml.malformed").closed?.suppressed.count).toBe(1);
    expect(timers.pending).toEqual([]);
    await timers.runAll();
    expect(recorded).toEqual([]);
  });

  it("records the counts of the minutes under way when closed, up to the close time, and stops their timers", async () => {
    const { clock, timers, recorded, budget } = open();
    const first = clock.now().getTime();
    for (let n = 0; n < 4; n++) budget.admit("acme", "corp", "saml.malformed");
    budget.admit("acme", "corp", "oidc.state_unknown");
    // A minute within its budget has no count to record.
    budget.admit("globex", "corp", "saml.malformed");
    expect(timers.pending).toHaveLength(1);
    clock.advance(20);
    await budget.close();
    expect(recorded).toEqual([
      {
        tenant: "acme",
        idp: "corp",
        suppressed: {
          count: 2,
          reasons: { "saml.malformed": 1, "oidc.state_unknown": 1 },
          from: new Date(first).toISOString(),
          to: new Date(first + 20_000).toISOString(),
        },
      },
    ]);
    expect(timers.pending).toEqual([]);
    // Recorded once: a second close has nothing left.
    await budget.close();
    expect(recorded).toHaveLength(1);
  });

  it("records thousands of minutes under way at close in a few calls, each count once", async () => {
    // Past the budget at 4,999 tenants' IdPs: a flood spread over many tenants as the instance
    // stops. One call (one transaction) each took longer than the close may wait.
    const { timers, recorded, calls, budget } = open({ perMinute: 1, perAddress: 1 });
    const minutes = 4_999;
    for (let n = 0; n < minutes; n++) {
      budget.admit(`tenant-${String(n)}`, "corp", "saml.malformed");
      budget.admit(`tenant-${String(n)}`, "corp", "saml.malformed");
    }
    await budget.close();
    expect(calls).toEqual([
      RECORDED_AT_ONCE,
      RECORDED_AT_ONCE,
      RECORDED_AT_ONCE,
      RECORDED_AT_ONCE,
      minutes - 4 * RECORDED_AT_ONCE,
    ]);
    expect(new Set(recorded.map((closed) => closed.tenant)).size).toBe(minutes);
    expect(recorded.every((closed) => closed.suppressed.count === 1)).toBe(true);
    expect(timers.pending).toEqual([]);
  });

  it("starts again past 10,000 minutes under way, recording their counts a batch at a time", async () => {
    const { recorded, calls, budget } = open({ perMinute: 1, perAddress: 1 });
    for (let n = 0; n <= 10_000; n++) {
      budget.admit(`tenant-${String(n)}`, "corp", "saml.malformed");
      budget.admit(`tenant-${String(n)}`, "corp", "saml.malformed");
    }
    // The 10,001st minute found 10,000 under way: they were closed and handed on in batches.
    await vi.waitFor(() => {
      expect(recorded).toHaveLength(10_000);
    });
    expect(calls).toEqual(Array.from({ length: 10 }, () => RECORDED_AT_ONCE));
  });

  it("still closes when a count cannot be recorded, and says what was lost without any answer's content", async () => {
    const warnings = vi.spyOn(process, "emitWarning").mockImplementation(() => undefined);
    try {
      const clock = new ManualClock();
      const timers = new ManualTimers();
      const budget = new RefusalBudget(
        clock,
        timers,
        () => Promise.reject(new Error("The service cannot reach its store.")),
        { perMinute: 1, perAddress: 1 },
      );
      budget.admit("acme", "corp", "saml.malformed");
      budget.admit("acme", "corp", "saml.signature_invalid");
      await budget.close();
      expect(warnings.mock.calls.map((call) => String(call[0]))).toEqual([
        `1 federation refusals of tenant acme at IdP corp counted past the audit budget (${clock.now().toISOString()} to ${clock.now().toISOString()}) were lost: The service cannot reach its store.`,
      ]);
      expect(timers.pending).toEqual([]);
    } finally {
      warnings.mockRestore();
    }
  });

  it("waits for a store that does not answer no longer than its close wait", async () => {
    const warnings = vi.spyOn(process, "emitWarning").mockImplementation(() => undefined);
    try {
      const timers = new ManualTimers();
      const budget = new RefusalBudget(
        new ManualClock(),
        timers,
        () => new Promise<void>(() => undefined),
        { perMinute: 1, perAddress: 1 },
      );
      budget.admit("acme", "corp", "saml.malformed");
      budget.admit("acme", "corp", "saml.malformed");
      let closed = false;
      const closing = budget.close().then(() => (closed = true));
      // The minute's timer is gone; the close's own wait is all that is left.
      expect(timers.pending).toEqual([CLOSE_WAIT_MS]);
      await timers.runAll();
      await closing;
      expect(closed).toBe(true);
      expect(String(warnings.mock.calls[0]?.[0])).toMatch(
        /^1 federation refusals of tenant acme at IdP corp .* were lost: not recorded within 5000 ms of closing$/,
      );
    } finally {
      warnings.mockRestore();
    }
  });

  it("gives each client address a share of the minute, and counts its refusals past it", () => {
    const { budget } = open({ perMinute: 5, perAddress: 2 });
    const by = (address: string | undefined) =>
      budget.admit("acme", "corp", "saml.malformed", address).record;
    expect([by("a"), by("a"), by("a"), by("a")]).toEqual([true, true, false, false]);
    // Another address's refusals, and those of no known address, are still recorded.
    expect([by("b"), by(undefined), by("b"), by("b")]).toEqual([true, true, true, false]);
    // The minute's budget bounds them all together.
    expect([by("c"), by("d")]).toEqual([false, false]);
  });

  it("has defaults: 100 a minute, 10 of them from one address", () => {
    expect([REFUSALS_RECORDED_PER_MINUTE, REFUSALS_RECORDED_PER_ADDRESS]).toEqual([100, 10]);
  });
});

describe("refused SAML answers from many addresses", () => {
  let t: TestServer;
  let timers: ManualTimers;
  beforeEach(async () => {
    timers = new ManualTimers();
    t = await openTestServer({ timers });
    await registerSamlTenant(
      t,
      new TestIdp({ entityId: "https://idp.corp.example/saml" }),
      "acme",
      {
        posture: "idp_mfa",
        returnUrls: ["https://app.acme.example/signed-in"],
      },
    );
  });
  afterEach(() => t.close());

  /** A forged answer from `remoteAddress` (each n its own /64 by default). */
  const forge = (n: number, remoteAddress = `2001:db8:${n.toString(16)}::1`) =>
    t.server.inject({
      method: "POST",
      url: "/t/acme/idps/corp/saml/acs",
      remoteAddress,
      headers: { "content-type": "application/x-www-form-urlencoded" },
      payload: new URLSearchParams({
        SAMLResponse: Buffer.from("<not-a-response/>").toString("base64"),
      }).toString(),
    });

  const inChain = async (type: string) => {
    const events = await t.app.audit.list(
      await t.app.authenticate(t.adminKey),
      "acme",
      { type },
      { limit: 500 },
    );
    return events.items;
  };
  const refusalsInChain = () => inChain("federation.rejected");

  it("appends at most the budget's refusals a minute, and then the count of the others", async () => {
    const sent = REFUSALS_RECORDED_PER_MINUTE + 20;
    const start = t.clock.now();
    for (let n = 0; n < sent; n++) must(await forge(n), 400);
    const recorded = await refusalsInChain();
    expect(recorded).toHaveLength(REFUSALS_RECORDED_PER_MINUTE);
    expect(recorded.at(-1)?.payload).toMatchObject({ countedUntil: expect.any(String) });
    t.clock.advance(60);
    // A refusal in the next minute, before the minute's timer ran: the count is appended first.
    must(await forge(sent), 400);
    const after = await refusalsInChain();
    expect(after).toHaveLength(REFUSALS_RECORDED_PER_MINUTE + 1);
    expect(after.at(-1)?.payload).not.toHaveProperty("suppressedBefore");
    const counts = await inChain("federation.refusals_suppressed");
    expect(counts.map((event) => [event.actor, event.payload])).toEqual([
      [
        "idp:corp",
        {
          idp: "corp",
          count: 20,
          reasons: { [String(recorded[0]?.payload.reason)]: 20 },
          from: start.toISOString(),
          to: new Date(start.getTime() + 60_000).toISOString(),
        },
      ],
    ]);
    expect(counts[0]?.seq).toBeLessThan(after.at(-1)?.seq ?? 0);
    // Its timer was stopped: the count is not appended twice.
    await timers.runAll();
    expect(await inChain("federation.refusals_suppressed")).toHaveLength(1);
  });

  it("appends the count of a minute's unrecorded refusals when the minute ends, though no refusal follows", async () => {
    const sent = REFUSALS_RECORDED_PER_MINUTE + 20;
    for (let n = 0; n < sent; n++) must(await forge(n), 400);
    expect(await inChain("federation.refusals_suppressed")).toEqual([]);
    t.clock.advance(60);
    await timers.runAll();
    const counts = await inChain("federation.refusals_suppressed");
    expect(counts.map((event) => event.payload)).toMatchObject([{ idp: "corp", count: 20 }]);
    expect(await refusalsInChain()).toHaveLength(REFUSALS_RECORDED_PER_MINUTE);
  });

  it("records the refusals of other addresses after one address sent more than the budget", async () => {
    const flooding = "2001:db8:bad::1";
    for (let n = 0; n < REFUSALS_RECORDED_PER_MINUTE + 50; n++) {
      // Addresses of its /64 are the same client.
      must(await forge(n, n % 2 === 0 ? flooding : "2001:db8:bad::2"), 400);
    }
    expect(await refusalsInChain()).toHaveLength(REFUSALS_RECORDED_PER_ADDRESS);
    // Someone else's refusal (a replayed answer, say) is still seen one by one.
    must(await forge(0, "198.51.100.7"), 400);
    expect(await refusalsInChain()).toHaveLength(REFUSALS_RECORDED_PER_ADDRESS + 1);
    t.clock.advance(60);
    await timers.runAll();
    const counts = await inChain("federation.refusals_suppressed");
    expect(counts.map((event) => event.payload)).toMatchObject([
      { count: REFUSALS_RECORDED_PER_MINUTE + 50 - REFUSALS_RECORDED_PER_ADDRESS },
    ]);
  });

  it("gives an address on an internal network no share of its own: a proxy's is every client's", async () => {
    for (let n = 0; n < 2 * REFUSALS_RECORDED_PER_ADDRESS; n++) {
      must(await forge(n, "10.0.0.5"), 400);
    }
    expect(await refusalsInChain()).toHaveLength(2 * REFUSALS_RECORDED_PER_ADDRESS);
  });
});
