// Threat: anyone on the internet grows a tenant's audit chain without bound. A refused answer
// (a forged SAML response, an OIDC error callback) needs no account, and each one was appended
// to the tenant's chain; the per-address limit on unauthenticated routes does not bound many
// addresses together (an IPv6 range, a botnet). Past a budget per tenant, IdP and minute, the
// refusals are counted instead, the minute's last recorded one says so, and the count (with its
// reasons) is recorded with the next refusal: a flood is seen, and bounded.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openTestServer, type TestServer } from "../../http/test-support/open-test-server.js";
import { must, registerSamlTenant } from "../../http/test-support/saml-federation.js";
import { TestIdp } from "../../verifiers/saml/test-support/test-idp.js";
import { ManualClock } from "../test-support/harness.js";
import { REFUSALS_RECORDED_PER_MINUTE, RefusalBudget } from "./refusal-budget.js";

describe("the refusal budget", () => {
  it("records the first refusals of a minute, says which is the last, then counts the rest", () => {
    const clock = new ManualClock();
    const budget = new RefusalBudget(clock, 3);
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
    expect(budget.admit("acme", "corp", "saml.malformed")).toEqual({
      record: true,
      suppressed: {
        count: 3,
        reasons: { "saml.malformed": 2, "oidc.state_unknown": 1 },
        from: new Date(first).toISOString(),
        to: new Date(first + 60_000).toISOString(),
      },
    });
    // The count is recorded once.
    expect(budget.admit("acme", "corp", "saml.malformed")).toEqual({ record: true });
  });
});

describe("refused SAML answers from many addresses", () => {
  let t: TestServer;
  beforeEach(async () => {
    t = await openTestServer({});
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

  const forge = (n: number) =>
    t.server.inject({
      method: "POST",
      url: "/t/acme/idps/corp/saml/acs",
      remoteAddress: `2001:db8:${n.toString(16)}::1`,
      headers: { "content-type": "application/x-www-form-urlencoded" },
      payload: new URLSearchParams({
        SAMLResponse: Buffer.from("<not-a-response/>").toString("base64"),
      }).toString(),
    });

  const refusalsInChain = async () => {
    const events = await t.app.audit.list(
      await t.app.authenticate(t.adminKey),
      "acme",
      { type: "federation.rejected" },
      { limit: 500 },
    );
    return events.items;
  };

  it("appends at most the budget's refusals a minute, and then the count of the others", async () => {
    const sent = REFUSALS_RECORDED_PER_MINUTE + 20;
    for (let n = 0; n < sent; n++) must(await forge(n), 400);
    const recorded = await refusalsInChain();
    expect(recorded).toHaveLength(REFUSALS_RECORDED_PER_MINUTE);
    expect(recorded.at(-1)?.payload).toMatchObject({ countedUntil: expect.any(String) });
    t.clock.advance(60);
    must(await forge(sent), 400);
    const after = await refusalsInChain();
    expect(after).toHaveLength(REFUSALS_RECORDED_PER_MINUTE + 1);
    expect(after.at(-1)?.payload).toMatchObject({
      suppressedBefore: { count: 20, reasons: { [String(recorded[0]?.payload.reason)]: 20 } },
    });
  });
});
