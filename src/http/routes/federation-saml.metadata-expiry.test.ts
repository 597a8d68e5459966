// Threat: a SAML IdP registered from metadata that has since expired keeps being trusted (SAML
// Metadata §2.3.1, §2.3.2: past `validUntil` the metadata, and so the signing keys it names, must
// not be relied on). A registration made in time must stop sign-ins once the metadata expires, at
// both ends (starting one, and an answer arriving at the ACS), to the second of the server's own
// clock, until the IdP is registered again with current metadata. Real samlify IdP, real server.
import { randomBytes } from "node:crypto";
import type { LightMyRequestResponse } from "fastify";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { FlowBrowser } from "../../app/application.js";
import { openingOf } from "../../app/test-support/flow-opening.js";
import type { AuditEvent, ReceiptRecord } from "../../app/records.js";
import { TestIdp } from "../../verifiers/saml/test-support/test-idp.js";
import { openTestServer, type TestServer } from "../test-support/open-test-server.js";
import { browserCookie } from "../test-support/browser-cookie.js";
import { followCompletion, must, registerSamlTenant } from "../test-support/saml-federation.js";

const ALICE = "alice@example.org";
const RETURN_TO = "https://app.acme.example/signed-in";
const INITECH_RETURN = "https://app.initech.example/signed-in";
/** The metadata's `validUntil`: an hour after the test server's clock starts (12:00 Z). */
const EXPIRY = "2026-11-23T13:00:00.000Z";
const JSON_ONLY = { accept: "application/json" };
/** The browser the sign-ins here are started and completed in (its cookie). */
const BROWSER = browserCookie("B", "__Host-tmfa_browser");

let t: TestServer;
let idp: TestIdp;
let auditor: string;

/** The IdP's own metadata, stating `validUntil` on its EntityDescriptor when given. */
const metadataXml = (validUntil?: string) =>
  validUntil === undefined
    ? idp.metadataXml()
    : idp
        .metadataXml()
        .replace(/^<EntityDescriptor /, `<EntityDescriptor validUntil="${validUntil}" `);

/** Replaces tenant's IdP `corp` with one registered from metadata valid until `validUntil`. */
async function register(tenant: string, validUntil: string | undefined, allowUnsolicited = false) {
  const current = must(
    await t.call("GET", `/v1/tenants/${tenant}/idps/corp`, { key: t.adminKey }),
    200,
  );
  const { version } = current.json<{ version: number }>();
  return must(
    await t.call("PUT", `/v1/tenants/${tenant}/idps/corp`, {
      key: t.adminKey,
      headers: { "if-match": `"${String(version)}"` },
      body: { protocol: "saml", saml: { metadataXml: metadataXml(validUntil), allowUnsolicited } },
    }),
    200,
  );
}

/** Moves the server's clock to `at`. */
function setClock(at: string): void {
  t.clock.advance((Date.parse(at) - t.clock.now().getTime()) / 1000);
}

const secondsBefore = (at: string, seconds: number) =>
  new Date(Date.parse(at) - seconds * 1000).toISOString();

async function spOf(tenant: string) {
  const metadata = must(await t.call("GET", `/t/${tenant}/idps/corp/saml/metadata`), 200).body;
  const identity = {
    entityId: `https://mfa.test/t/${tenant}/idps/corp/saml/metadata`,
    acsUrl: `https://mfa.test/t/${tenant}/idps/corp/saml/acs`,
  };
  return { metadata, identity };
}

function start(headers: Record<string, string> = JSON_ONLY): Promise<LightMyRequestResponse> {
  const query = `return_to=${encodeURIComponent(RETURN_TO)}&principal=${encodeURIComponent(ALICE)}`;
  return t.call("GET", `/t/acme/idps/corp/start?${query}`, {
    headers: { ...headers, cookie: BROWSER },
  });
}

/** The IdP's signed answer, now, to the sign-in whose AuthnRequest the browser carries to `location`. */
async function answer(tenant: string, location: string) {
  const sp = await spOf(tenant);
  const request = await idp.receiveAuthnRequest(sp.metadata, location);
  const samlResponse = await idp.login(sp.identity, sp.metadata, request.id, {
    issuedAt: t.clock.now(),
    nameId: ALICE,
  });
  return { SAMLResponse: samlResponse, RelayState: request.relayState ?? "" };
}

/** Starts a sign-in at acme and lets the IdP answer it, now. */
async function signIn() {
  return answer("acme", must(await start(), 303).headers.location as string);
}

/** The answer posted to the ACS (without the cookie), and the completion followed with it. */
async function post(
  tenant: string,
  form: Record<string, string>,
  headers: Record<string, string> = JSON_ONLY,
) {
  const acs = await t.call("POST", `/t/${tenant}/idps/corp/saml/acs`, {
    body: new URLSearchParams(form).toString(),
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
  });
  return followCompletion(t, acs, BROWSER, headers);
}

async function outcomeOf(response: LightMyRequestResponse): Promise<string> {
  const location = new URL(must(response, 303).headers.location as string);
  const id = location.searchParams.get("decision") ?? "";
  const receipt = must(await t.call("GET", `/v1/decisions/${id}`, { key: t.adminKey }), 200);
  return receipt.json<ReceiptRecord>().outcome;
}

async function audit(tenant: string, type: string): Promise<AuditEvent[]> {
  const response = await t.call("GET", `/v1/tenants/${tenant}/audit?type=${type}`, {
    key: auditor,
  });
  return must(response, 200).json<{ items: AuditEvent[] }>().items;
}

/** Expects `response` to be the ACS's refusal for expired metadata, audited once, deciding nothing. */
async function expectRefusedAsExpired(
  tenant: string,
  response: LightMyRequestResponse,
  before: { refused: number; decided: number },
) {
  expect(response.statusCode, response.body).toBe(400);
  expect(response.headers.location).toBeUndefined();
  expect(response.json()).toMatchObject({
    code: "federation.rejected",
    details: { reason: "saml.metadata_expired" },
  });
  const refused = (await audit(tenant, "federation.rejected")).slice(before.refused);
  expect(refused.map((e) => e.payload)).toMatchObject([
    { idp: "corp", protocol: "saml", reason: "saml.metadata_expired" },
  ]);
  expect(String(refused[0]?.payload["detail"])).toContain(EXPIRY);
  expect(await audit(tenant, "decision.recorded")).toHaveLength(before.decided);
}

async function counts(tenant: string) {
  return {
    refused: (await audit(tenant, "federation.rejected")).length,
    decided: (await audit(tenant, "decision.recorded")).length,
  };
}

beforeEach(async () => {
  t = await openTestServer({ bodyLimitBytes: 256 * 1024 });
  idp = new TestIdp({ entityId: "https://idp.corp.example/saml" });
  await registerSamlTenant(t, idp, "acme", { posture: "idp_mfa", returnUrls: [RETURN_TO] });
  await registerSamlTenant(t, idp, "initech", {
    posture: "idp_mfa",
    returnUrls: [INITECH_RETURN],
    allowUnsolicited: true,
  });
  await register("acme", EXPIRY);
  await register("initech", EXPIRY, true);
  auditor = await t.key(["tenant_auditor"], ["acme", "initech"]);
});

afterEach(async () => {
  await t.close();
});

describe("a SAML IdP whose metadata expires at T (validUntil)", () => {
  it("keeps the metadata's validUntil with the registration, shown and audited", async () => {
    const view = must(await t.call("GET", "/v1/tenants/acme/idps/corp", { key: t.adminKey }), 200);
    expect(view.json()).toMatchObject({ saml: { metadataValidUntil: EXPIRY } });
    const updated = await audit("acme", "idp.updated");
    expect(updated.at(-1)?.payload).toMatchObject({ metadataValidUntil: EXPIRY });
  });

  it("accepts an answer arriving at T - 1 s, and refuses one arriving at T", async () => {
    setClock(secondsBefore(EXPIRY, 60));
    const early = await signIn();
    const late = await signIn();
    setClock(secondsBefore(EXPIRY, 1));
    expect(await outcomeOf(await post("acme", early))).toBe("allow");
    const before = await counts("acme");
    setClock(EXPIRY);
    await expectRefusedAsExpired("acme", await post("acme", late), before);
  });

  it("accepts an unsolicited answer arriving at T - 1 s, and refuses one arriving at T", async () => {
    setClock(secondsBefore(EXPIRY, 60));
    const sp = await spOf("initech");
    const mint = () =>
      idp.login(sp.identity, sp.metadata, undefined, { issuedAt: t.clock.now(), nameId: ALICE });
    const early = { SAMLResponse: await mint(), RelayState: INITECH_RETURN };
    const late = { SAMLResponse: await mint(), RelayState: INITECH_RETURN };
    setClock(secondsBefore(EXPIRY, 1));
    expect(await outcomeOf(await post("initech", early))).toBe("allow");
    const before = await counts("initech");
    setClock(EXPIRY);
    await expectRefusedAsExpired("initech", await post("initech", late), before);
  });

  it("starts a sign-in at T - 1 s, and refuses to start one at T or after with idp.metadata_expired", async () => {
    setClock(secondsBefore(EXPIRY, 1));
    must(await start(), 303);
    for (const seconds of [1, 3600, 30 * 24 * 3600]) {
      t.clock.advance(seconds);
      const refused = await start();
      expect(refused.statusCode, refused.body).toBe(422);
      expect(refused.headers.location).toBeUndefined();
      expect(refused.json()).toMatchObject({
        code: "idp.metadata_expired",
        details: { validUntil: EXPIRY },
      });
    }
    // A browser is shown the explanation, not sent to the IdP.
    const page = await start({ accept: "text/html" });
    expect(page.statusCode).toBe(422);
    expect(page.headers["content-type"]).toContain("text/html");
    expect(page.body).toContain("idp.metadata_expired");
  });

  it("audits each refused start as federation.rejected (idp.metadata_expired), keeping nothing the request carried", async () => {
    setClock(secondsBefore(EXPIRY, 1));
    must(await start(), 303);
    expect(await audit("acme", "federation.rejected")).toEqual([]);
    setClock(EXPIRY);
    must(await start(), 422);
    must(await start({ accept: "text/html" }), 422);
    const refused = await audit("acme", "federation.rejected");
    expect(refused.map((e) => ({ actor: e.actor, payload: e.payload }))).toEqual(
      Array.from({ length: 2 }, () => ({
        actor: "idp:corp",
        payload: {
          idp: "corp",
          protocol: "saml",
          reason: "idp.metadata_expired",
          detail: `the IdP metadata expired at ${EXPIRY} (its validUntil); register current metadata`,
        },
      })),
    );
    expect(JSON.stringify(refused)).not.toContain(ALICE);
    expect(JSON.stringify(refused)).not.toContain(RETURN_TO);
    // Only acme's chain: the refusal is the tenant's evidence, on the tenant's chain.
    expect(await audit("initech", "federation.rejected")).toEqual([]);
  });

  it("in a hosted flow: starts no IdP sign-in after T, and brings an answer arriving at T back refused", async () => {
    setClock(secondsBefore(EXPIRY, 1));
    must(
      await t.call("PUT", `/v1/tenants/acme/principals/${encodeURIComponent(ALICE)}`, {
        key: t.adminKey,
        body: { population: "sso" },
      }),
      200,
    );
    const service = await t.key(["platform_service"], ["acme"]);
    const created = must(
      await t.call("POST", "/v1/tenants/acme/flows", {
        key: service,
        body: { principal: { id: ALICE }, return_to: RETURN_TO },
      }),
      201,
    );
    const { flow, url } = created.json<{ flow: string; url: string }>();
    const browser: FlowBrowser = { cookie: randomBytes(32).toString("base64url") };
    // The first visit, at the URL the API gave: with the flow's opening secret.
    const challengeCsrf = async () => {
      const screen = await t.app.flows.show("acme", flow, browser, { opening: openingOf({ url }) });
      if (screen.kind !== "challenge") throw new Error(screen.kind);
      return screen.frame.csrfToken;
    };
    const toIdp = async () =>
      t.app.flows.act("acme", flow, browser, {
        kind: "idp",
        idp: "corp",
        csrf: await challengeCsrf(),
      });

    const started = await toIdp();
    if (started.kind !== "redirect") throw new Error(started.kind);
    const form = await answer("acme", started.location);
    const before = await counts("acme");
    setClock(EXPIRY);
    expect(must(await post("acme", form, {}), 303).headers.location).toBe(
      `https://mfa.test/t/acme/flows/${flow}?notice=idp.rejected`,
    );
    const refused = (await audit("acme", "federation.rejected")).slice(before.refused);
    expect(refused.map((e) => e.payload["reason"])).toEqual(["saml.metadata_expired"]);
    // The IdP was this sso principal's only way in: the flow no longer offers it, and says that
    // no way is left (the administrator must register current metadata).
    const screen = await t.app.flows.show("acme", flow, browser);
    if (screen.kind !== "denied") throw new Error(screen.kind);
    expect(screen.reasons.map((r) => r.code)).toContain("challenge.unavailable");
    expect(JSON.stringify(screen)).not.toContain(idp.ssoUrl);
    const csrf = async () => {
      const shown = await t.app.flows.show("acme", flow, browser);
      return "frame" in shown ? shown.frame.csrfToken : "";
    };
    // The page's own button: an explanation, not a 500, and no one sent to the IdP.
    const page = await t.call("POST", `/t/acme/flows/${flow}`, {
      body: new URLSearchParams({ action: "idp", idp: "corp", csrf: await csrf() }).toString(),
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        cookie: `__Host-tmfa_browser=${browser.cookie}`,
      },
    });
    expect(page.statusCode, page.body).toBeLessThan(500);
    expect(page.headers.location).toBeUndefined();
    expect(page.body).not.toContain(idp.ssoUrl);
  });

  it("signs in again once registered again with metadata valid later, or stating no validUntil", async () => {
    setClock("2026-11-23T13:01:00.000Z");
    must(await start(), 422);
    const later = "2026-12-23T13:00:00.000Z";
    const replaced = await register("acme", later);
    expect(replaced.json()).toMatchObject({ saml: { metadataValidUntil: later } });
    expect(await outcomeOf(await post("acme", await signIn()))).toBe("allow");

    const unbounded = await register("acme", undefined);
    expect(unbounded.json<{ saml: Record<string, unknown> }>().saml).not.toHaveProperty(
      "metadataValidUntil",
    );
    setClock("2027-06-01T00:00:00.000Z");
    expect(await outcomeOf(await post("acme", await signIn()))).toBe("allow");
  });
});
