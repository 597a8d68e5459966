import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { FlowBrowser } from "../application.js";
import { chainOf } from "../audit/audit-chain.js";
import { exemptedSignIn as signedInUnderExemption } from "../test-support/exempted-sign-in.js";
import { openWebAuthnWorld, type WebAuthnWorld } from "../test-support/webauthn-world.js";

const RETURN = "https://app.example/signed-in";

// Threat: a break-glass exemption ends or is revoked, yet the sign-in it let through is vouched
// for after that: by a token that outlives it, or by a flow code exchanged once it has ended.
describe("an assurance token earned through an exemption", () => {
  let w: WebAuthnWorld;
  const browser: FlowBrowser = { cookie: "exemption-expiry-browser-cookie-0123" };

  beforeEach(async () => {
    w = await openWebAuthnWorld();
    await w.h.app.tenants.setReturnUrls(w.h.admin, "acme", { returnUrls: [RETURN] });
    const { record } = await w.h.app.policies.current(w.h.admin, "acme");
    await w.h.app.policies.replace(w.h.admin, "acme", {
      policy: { posture: "platform_mfa" } as never,
      rationale: "test policy",
      ifMatch: record.version,
    });
  });
  afterEach(() => w.close());

  let exemptionId = "";
  const exchangeRefusals = async () =>
    (await w.h.store.read(({ audit }) => audit.read(chainOf("acme"), { afterSeq: 0, limit: 500 })))
      .filter((e) => e.type === "flow.exchange_refused")
      .map((e) => e.payload["reason"]);

  /** A sign-in let through by a break-glass exemption that ends in `seconds`; its code. */
  async function exemptedSignIn(seconds: number, principal = "alice"): Promise<string> {
    const signedIn = await signedInUnderExemption(w.h, w.service.acme, {
      browser,
      returnTo: RETURN,
      principal,
      seconds,
    });
    exemptionId = signedIn.exemption;
    return signedIn.code;
  }

  it("expires when the exemption ends, sooner than a token's usual five minutes", async () => {
    const code = await exemptedSignIn(90);
    w.h.clock.advance(10);
    const exchanged = await w.h.app.flows.exchange(w.service.acme, { code });
    expect(exchanged.expiresIn).toBe(80);
    const [, payload] = exchanged.token.split(".");
    const claims = JSON.parse(Buffer.from(payload ?? "", "base64url").toString()) as {
      exp: number;
      exemption: { expires_at: number };
    };
    expect(claims.exp).toBe(claims.exemption.expires_at);
  });

  it("is not issued for a code exchanged after the exemption ended: refused and audited", async () => {
    const code = await exemptedSignIn(30);
    w.h.clock.advance(30);
    for (let attempt = 0; attempt < 2; attempt++) {
      await expect(w.h.app.flows.exchange(w.service.acme, { code })).rejects.toMatchObject({
        code: "flow.code_invalid",
      });
    }
    // Audited once: a refusal of the same reason within the minute adds no row.
    expect(await exchangeRefusals()).toEqual(["exemption_ended"]);
  });

  it("is not issued once a mandate that no exemption excuses binds the person since", async () => {
    const code = await exemptedSignIn(3600);
    // An exemptible mandate changes nothing: the exemption excuses it.
    await w.h.app.mandates.create(w.h.admin, {
      id: "baseline",
      mandate: { scope: { tenants: "all" }, require: { minAal: 2 }, exemptible: true },
      rationale: "baseline",
    });
    const later = await exemptedSignIn(3600);
    await w.h.app.mandates.create(w.h.admin, {
      id: "uplift",
      mandate: { scope: { tenants: "all" }, require: { minAal: 2 }, exemptible: false },
      rationale: "phishing campaign",
    });
    for (const stale of [code, later]) {
      await expect(w.h.app.flows.exchange(w.service.acme, { code: stale })).rejects.toMatchObject({
        code: "flow.code_invalid",
      });
    }
    expect(await exchangeRefusals()).toEqual(["mandate_changed", "mandate_changed"]);
  });

  it("is issued after a new version of an applied mandate that changes only its title, not after one that asks more", async () => {
    const floor = {
      scope: { tenants: "all" as const },
      require: { minAal: 1 as const },
      exemptible: false,
    };
    const created = await w.h.app.mandates.create(w.h.admin, {
      id: "floor",
      mandate: { ...floor, title: "Old name" },
      rationale: "floor",
    });
    const renamedCode = await exemptedSignIn(3600);
    const renamed = await w.h.app.mandates.update(w.h.admin, "floor", {
      mandate: { ...floor, title: "New name" },
      rationale: "rename",
      ifMatch: created.version,
    });
    expect((await w.h.app.flows.exchange(w.service.acme, { code: renamedCode })).expiresIn).toBe(
      300,
    );
    const raisedCode = await exemptedSignIn(3600);
    await w.h.app.mandates.update(w.h.admin, "floor", {
      mandate: { ...floor, require: { minAal: 2 }, title: "New name" },
      rationale: "uplift",
      ifMatch: renamed.version,
    });
    await expect(
      w.h.app.flows.exchange(w.service.acme, { code: raisedCode }),
    ).rejects.toMatchObject({ code: "flow.code_invalid" });
    expect(await exchangeRefusals()).toEqual(["mandate_changed"]);
  });

  it("is not issued once a new mandate binds the population an integration signing in with a password belongs to", async () => {
    await w.h.app.principals.upsert(w.h.admin, "acme", "bot", { population: "integration" });
    const code = await exemptedSignIn(3600, "bot");
    await w.h.app.mandates.create(w.h.admin, {
      id: "integrations",
      mandate: {
        scope: { tenants: "all", populations: ["integration"] },
        require: { minAal: 2 },
        exemptible: false,
      },
      rationale: "integrations with passwords",
    });
    await expect(w.h.app.flows.exchange(w.service.acme, { code })).rejects.toMatchObject({
      code: "flow.code_invalid",
    });
    expect(await exchangeRefusals()).toEqual(["mandate_changed"]);
  });

  it("is issued under an exemptible mandate created since: the exemption excuses it", async () => {
    const code = await exemptedSignIn(3600);
    await w.h.app.mandates.create(w.h.admin, {
      id: "baseline",
      mandate: { scope: { tenants: "all" }, require: { minAal: 2 }, exemptible: true },
      rationale: "baseline",
    });
    expect((await w.h.app.flows.exchange(w.service.acme, { code })).expiresIn).toBe(300);
  });

  it("is not issued once the exemption was revoked, however long it had to run", async () => {
    const code = await exemptedSignIn(3600);
    await w.h.app.exemptions.revoke(w.h.admin, "acme", exemptionId, { reason: "incident over" });
    await expect(w.h.app.flows.exchange(w.service.acme, { code })).rejects.toMatchObject({
      code: "flow.code_invalid",
    });
    expect(await exchangeRefusals()).toEqual(["exemption_ended"]);
  });

  it("is not issued once the principal was marked as a shared login, which no exemption excuses", async () => {
    const code = await exemptedSignIn(3600);
    await w.h.app.principals.upsert(w.h.admin, "acme", "alice", {
      population: "direct",
      sharedLogin: true,
    });
    await expect(w.h.app.flows.exchange(w.service.acme, { code })).rejects.toMatchObject({
      code: "flow.code_invalid",
    });
    expect(await exchangeRefusals()).toEqual(["shared_login"]);
  });
});
