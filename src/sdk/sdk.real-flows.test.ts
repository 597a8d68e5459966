// The SDK against the real flow endpoints, not a stand-in: a platform starts a step-up with
// `startStepUp`, the user walks the hosted flow (driven here through the application, as the
// pages would), the platform exchanges the code with `exchangeCode`, verifies the token with
// `verifyAssuranceToken` and the keys served at /.well-known/jwks.json, and judges it with
// `checkAssurance`. Threat: an SDK that agrees with its own stand-in but not with the server.
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FlowBrowser } from "../app/application.js";
import { openingOf } from "../app/test-support/flow-opening.js";
import { oathtoolCode } from "../verifiers/totp/test-support/oathtool.js";
import { openTestServer, type TestServer } from "../http/test-support/open-test-server.js";
import {
  checkAssurance,
  exchangeCode,
  startStepUp,
  TenantMfaApiError,
  verifyAssuranceToken,
} from "./index.js";

const RETURN = "https://platform.example/signed-in";

describe("the SDK against the real flow API", () => {
  let t: TestServer;
  let baseUrl: string;
  let apiKey: string;
  const browser: FlowBrowser = { cookie: "sdk-real-flows-browser-0123456789" };

  beforeAll(async () => {
    t = await openTestServer();
    await t.call("POST", "/v1/tenants", {
      key: t.adminKey,
      body: { id: "acme", name: "Acme", returnUrls: [RETURN] },
    });
    apiKey = await t.key(["platform_service"], ["acme"]);
    await t.server.listen({ host: "127.0.0.1", port: 0 });
    baseUrl = `http://127.0.0.1:${String((t.server.server.address() as AddressInfo).port)}`;
  });
  afterAll(() => t.close());

  it("starts a flow, exchanges its code, verifies and checks the token", async () => {
    const client = { baseUrl, apiKey };
    const started = await startStepUp(client, {
      tenant: "acme",
      principal: { id: "dana", population: "direct" },
      returnTo: RETURN,
      state: "s-1",
      verified: [{ method: "password", source: "platform", at: t.clock.now().toISOString() }],
      audience: "platform-web",
    });
    // The flow's page, with the opening secret its first visit must bring.
    const [page, query] = started.url.split("?");
    expect(page).toBe(`https://mfa.test/t/acme/flows/${started.flow}`);
    expect(query).toMatch(/^open=[\w-]{32}$/);
    const flow = started.flow;
    const challenge = await t.app.flows.show("acme", flow, browser, {
      opening: openingOf(started),
    });
    if (challenge.kind !== "challenge") throw new Error(challenge.kind);
    const csrf = challenge.frame.csrfToken;
    const enrolment = await t.app.flows.act("acme", flow, browser, { kind: "enroll_totp", csrf });
    if (enrolment.kind !== "enroll_totp") throw new Error(enrolment.kind);
    await t.app.flows.act("acme", flow, browser, {
      kind: "confirm_totp",
      csrf,
      authenticator: enrolment.authenticator,
      code: oathtoolCode(enrolment.secret, t.clock.now()),
    });
    const done = await t.app.flows.show("acme", flow, browser);
    if (done.kind !== "redirect") throw new Error(done.kind);
    const back = new URL(done.location);
    expect(back.searchParams.get("state")).toBe("s-1");

    const exchanged = await exchangeCode(client, back.searchParams.get("code") ?? "");
    const claims = await verifyAssuranceToken(exchanged.token, {
      jwksUrl: `${baseUrl}/.well-known/jwks.json`,
      issuer: "https://mfa.test",
      audience: "platform-web",
      tenant: "acme",
      currentDate: t.clock.now(),
    });
    expect(claims).toMatchObject({ sub: "dana", tenant: "acme", aal: 2, phr: false });
    expect(checkAssurance(claims, { minAal: 2 }, t.clock.now())).toEqual({ ok: true });
    const short = checkAssurance(claims, { phishingResistant: true }, t.clock.now());
    expect(short.ok).toBe(false);

    // The same code again: the server's stable code comes through the SDK's typed error.
    await expect(exchangeCode(client, back.searchParams.get("code") ?? "")).rejects.toSatisfy(
      (error) => error instanceof TenantMfaApiError && error.code === "flow.code_invalid",
    );
  });

  it("surfaces the server's refusal of an unregistered return URL", async () => {
    await expect(
      startStepUp(
        { baseUrl, apiKey },
        { tenant: "acme", principal: { id: "dana" }, returnTo: "https://evil.example/x" },
      ),
    ).rejects.toSatisfy(
      (error) => error instanceof TenantMfaApiError && error.code === "flow.return_to_not_allowed",
    );
  });
});
