/**
 * The federation use cases' checks, pinned where a mutation survey of src/app/federation found
 * them unpinned (each mutant, applied alone, passed every federation and flow test): an IdP is
 * reached only through the endpoints of its own protocol (a mismatch answered 500); an answer to
 * a flow that ended while the user was at the IdP is refused and audited (it was sent on to the
 * flow unaudited); a held SAML answer is claimed only at the completion of the IdP that answered
 * (another of the tenant's IdPs decided it), only under the registration that verified it, and
 * once when two claims race, as is a held "MFA unavailable"; and a start asks no older
 * authentication than the IdP's registration accepts. End to end through the HTTP server, against
 * the stub OIDC IdP on loopback (real signed ID tokens) and the real samlify IdP.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  mfaClaims,
  startStubIdp,
  type StubIdp,
} from "../../verifiers/oidc/test-support/stub-idp.js";
import { noAuthnContext } from "../../verifiers/saml/test-support/tamper.js";
import { REFEDS_MFA, TestIdp } from "../../verifiers/saml/test-support/test-idp.js";
import {
  browserAfter,
  createTenant,
  registerStubIdp,
  RETURN_URL,
  startSignIn,
  syncClock,
} from "../../http/test-support/oidc-federation.js";
import { openTestServer, type TestServer } from "../../http/test-support/open-test-server.js";
import { openingOf } from "../test-support/flow-opening.js";
import {
  answerAtAcs,
  followCompletion,
  must,
  postToAcs,
  registerSamlTenant,
} from "../../http/test-support/saml-federation.js";

const GLOBEX_RETURN = "https://app.globex.example/signed-in";
const idp = new TestIdp({ entityId: "https://idp.corp.example/saml" });
const partner = new TestIdp({ entityId: "https://idp.partner.example/saml" });
let stub: StubIdp;
let t: TestServer;
beforeAll(async () => {
  stub = await startStubIdp();
  t = await openTestServer({ federation: { publicUrl: "https://mfa.test" } });
  // ID tokens carry the real time; the server reads its test clock.
  syncClock(t);
  await createTenant(t, "acme", "idp_mfa");
  must(await registerStubIdp(t, t.adminKey, "acme", stub), 201);
  // globex signs in at its SAML IdP corp, and registers a partner's SAML IdP beside it.
  await registerSamlTenant(t, idp, "globex", { posture: "idp_mfa", returnUrls: [GLOBEX_RETURN] });
  must(
    await t.call("PUT", "/v1/tenants/globex/idps/partner", {
      key: t.adminKey,
      body: { protocol: "saml", saml: { metadataXml: partner.metadataXml() } },
    }),
    201,
  );
});
afterAll(async () => {
  await t.close();
  await stub.close();
});

describe("an OIDC IdP reached through the SAML endpoints", () => {
  it("has no SAML metadata: 404 not_found, never a 500", async () => {
    const response = await t.call("GET", "/t/acme/idps/corp/saml/metadata", {
      headers: { accept: "application/json" },
    });
    expect(response.statusCode, response.body).toBe(404);
    expect(response.json()).toMatchObject({ code: "not_found" });
  });

  it("takes no SAML answer at its ACS: 404 not_found, never a 500, nothing decided", async () => {
    // Signed by a registered SAML IdP, for the SP metadata of another tenant's registration.
    const other = must(await t.call("GET", "/t/globex/idps/corp/saml/metadata"), 200).body;
    const answer = await idp.login(
      {
        entityId: "https://mfa.test/t/acme/idps/corp/saml/metadata",
        acsUrl: "https://mfa.test/t/acme/idps/corp/saml/acs",
      },
      other,
      undefined,
      { issuedAt: t.clock.now(), nameId: "alice", authnContextClassRef: REFEDS_MFA },
    );
    const acs = await postToAcs(t, answer, RETURN_URL, {
      headers: { accept: "application/json" },
    });
    expect(acs.statusCode, acs.body).toBe(404);
    expect(acs.json()).toMatchObject({ code: "not_found" });
  });
});

describe("an IdP's answer to a hosted flow's sign-in", () => {
  const browser = { cookie: "carol-browser-cookie-0123456789abcdef" };

  /** A flow for carol (60 s to finish) sent to the IdP: the authorization request's URL. */
  async function flowAtIdp(): Promise<{ flow: string; authorization: URL }> {
    const service = await t.key(["platform_service"], ["acme"]);
    const created = must(
      await t.call("POST", "/v1/tenants/acme/flows", {
        key: service,
        body: {
          principal: { id: "carol", population: "sso" },
          return_to: RETURN_URL,
          ttl_seconds: 60,
        },
      }),
      201,
    );
    const started = created.json<{ flow: string; url: string }>();
    const { flow } = started;
    const challenge = await t.app.flows.show("acme", flow, browser, {
      opening: openingOf(started),
    });
    if (challenge.kind !== "challenge") throw new Error(`no challenge: ${challenge.kind}`);
    const sent = await t.app.flows.act("acme", flow, browser, {
      kind: "idp",
      idp: "corp",
      csrf: challenge.frame.csrfToken,
    });
    if (sent.kind !== "redirect") throw new Error(`not sent to the IdP: ${sent.kind}`);
    return { flow, authorization: new URL(sent.location) };
  }

  it("is refused, audited, and sent back with a notice when the flow ended while the user was at the IdP", async () => {
    syncClock(t);
    const { flow, authorization } = await flowAtIdp();
    // The flow's minute runs out; the sign-in's ten minutes do not.
    t.clock.advance(61);
    const now = Math.floor(t.clock.now().getTime() / 1000);
    stub.nextIdToken = await stub.sign(mfaClaims(stub, authorization, "carol", now));
    const state = authorization.searchParams.get("state") ?? "";
    const callback = must(
      await t.call("GET", `/t/acme/idps/corp/oidc/callback?code=c&state=${state}`),
      303,
    );
    const back = new URL(String(callback.headers.location));
    expect(`${back.origin}${back.pathname}`).toBe(`https://mfa.test/t/acme/flows/${flow}`);
    expect(back.searchParams.get("notice")).toBe("idp.rejected");
    expect(back.searchParams.has("answer")).toBe(false);
    const auditor = await t.key(["tenant_auditor"], ["acme"]);
    const refused = must(
      await t.call("GET", "/v1/tenants/acme/audit?type=federation.rejected", { key: auditor }),
      200,
    ).json<{ items: { payload: Record<string, unknown> }[] }>().items;
    expect(refused.at(-1)?.payload).toMatchObject({
      idp: "corp",
      reason: "federation.request_unknown",
      principal: "carol",
    });
  });
});

describe("a direct SAML sign-in's answer held for its browser", () => {
  it("is claimed only at the completion of the IdP that answered, not at another of the tenant's IdPs", async () => {
    const { acs, cookie } = await answerAtAcs(
      t,
      idp,
      GLOBEX_RETURN,
      {
        nameId: "alice@globex.example",
        authnContextClassRef: REFEDS_MFA,
      },
      "globex",
    );
    const completion = new URL(String(must(acs, 303).headers.location));
    expect(completion.pathname).toBe("/t/globex/idps/corp/saml/complete");
    const auditor = await t.key(["tenant_auditor"], ["globex"]);
    const decisions = async () =>
      must(
        await t.call("GET", "/v1/tenants/globex/audit?type=decision.recorded", { key: auditor }),
        200,
      ).json<{ items: unknown[] }>().items.length;
    const before = await decisions();
    const elsewhere = await t.call(
      "GET",
      `/t/globex/idps/partner/saml/complete${completion.search}`,
      { headers: { cookie, accept: "application/json" } },
    );
    expect(elsewhere.statusCode, elsewhere.body).toBe(400);
    expect(elsewhere.json()).toMatchObject({ code: "federation.answer_unknown" });
    expect(await decisions()).toBe(before);
    // The answer stays for its own IdP's completion.
    const own = await followCompletion(t, acs, cookie);
    expect(new URL(String(must(own, 303).headers.location)).searchParams.has("decision")).toBe(
      true,
    );
    expect(await decisions()).toBe(before + 1);
  });

  it("earns nothing once the IdP's registration changed while it waited", async () => {
    const { acs, cookie } = await answerAtAcs(
      t,
      idp,
      GLOBEX_RETURN,
      { nameId: "alice@globex.example", authnContextClassRef: REFEDS_MFA },
      "globex",
    );
    must(acs, 303);
    // Registered again (new keys, say) between the ACS and the browser's claim.
    const current = must(
      await t.call("GET", "/v1/tenants/globex/idps/corp", { key: t.adminKey }),
      200,
    );
    must(
      await t.call("PUT", "/v1/tenants/globex/idps/corp", {
        key: t.adminKey,
        headers: { "if-match": String(current.headers.etag) },
        body: { protocol: "saml", saml: { metadataXml: idp.metadataXml() } },
      }),
      200,
    );
    const claimed = await followCompletion(t, acs, cookie, { accept: "application/json" });
    expect(claimed.statusCode, claimed.body).toBe(400);
    expect(claimed.json()).toMatchObject({
      code: "federation.answer_unknown",
      details: { reason: "federation.answer_unknown" },
    });
  });

  it("is claimed once when its browser comes back twice at the same moment: one decision", async () => {
    const { acs, cookie } = await answerAtAcs(
      t,
      idp,
      GLOBEX_RETURN,
      { nameId: "alice@globex.example", authnContextClassRef: REFEDS_MFA },
      "globex",
    );
    must(acs, 303);
    const claims = await Promise.all([
      followCompletion(t, acs, cookie, { accept: "application/json" }),
      followCompletion(t, acs, cookie, { accept: "application/json" }),
    ]);
    expect(claims.map((c) => c.statusCode).sort()).toEqual([303, 400]);
    const refused = claims.find((c) => c.statusCode === 400);
    expect(refused?.json()).toMatchObject({ code: "federation.answer_unknown" });
  });
});

describe('a direct SAML sign-in\'s "MFA unavailable" held for its browser', () => {
  it("is claimed once when its browser comes back twice at the same moment", async () => {
    const { acs, cookie } = await answerAtAcs(
      t,
      idp,
      GLOBEX_RETURN,
      { nameId: "alice@globex.example" },
      "globex",
      // Unsigned, but it answers this sign-in's own request (RelayState and InResponseTo).
      { edit: noAuthnContext },
    );
    must(acs, 303);
    const claims = await Promise.all([
      followCompletion(t, acs, cookie, { accept: "application/json" }),
      followCompletion(t, acs, cookie, { accept: "application/json" }),
    ]);
    expect(claims.map((c) => c.statusCode).sort()).toEqual([303, 400]);
    const back = claims.find((c) => c.statusCode === 303);
    expect(new URL(String(back?.headers.location)).searchParams.get("error")).toBe(
      "idp_mfa_unavailable",
    );
  });
});

describe("what a start asks of the IdP", () => {
  it("asks no older authentication than the IdP's registration accepts, whatever longer age the policy allows", async () => {
    await createTenant(t, "initech", "idp_mfa", { maxAgeSeconds: 7200 });
    must(
      await registerStubIdp(t, t.adminKey, "initech", stub, { maxAuthenticationAgeSeconds: 600 }),
      201,
    );
    const started = must(
      await t.call("GET", `/t/initech/idps/corp/start?return_to=${encodeURIComponent(RETURN_URL)}`),
      303,
    );
    expect(new URL(String(started.headers.location)).searchParams.get("max_age")).toBe("600");
  });
});

// A sign-in waits ten minutes for the IdP's answer: 1 ms before then the answer is taken, at
// that instant it is not (a `<` for the `<=` took it, and no test saw it).
describe("an answer at the end of its sign-in's ten minutes", () => {
  /** Starts a direct sign-in, waits `seconds`, and brings the IdP's MFA answer back. */
  async function answerAfter(seconds: number) {
    syncClock(t);
    const started = must(await startSignIn(t, "acme", { principal: "carol" }), 303);
    const authorization = new URL(String(started.headers.location));
    t.clock.advance(seconds);
    const now = Math.floor(t.clock.now().getTime() / 1000);
    stub.nextIdToken = await stub.sign(mfaClaims(stub, authorization, "carol", now));
    const state = authorization.searchParams.get("state") ?? "";
    return t.call("GET", `/t/acme/idps/corp/oidc/callback?code=c&state=${state}`, {
      headers: { cookie: browserAfter(started), accept: "application/json" },
    });
  }

  it("is taken 1 ms before the sign-in expires", async () => {
    const answered = must(await answerAfter(599.999), 303);
    const back = new URL(String(answered.headers.location));
    expect(`${back.origin}${back.pathname}`).toBe(RETURN_URL);
    expect(back.searchParams.get("decision")).toMatch(/\S/);
  });

  it("is refused at the instant the sign-in expires: federation.request_unknown", async () => {
    const refused = must(await answerAfter(600), 400);
    expect(refused.json()).toMatchObject({ code: "federation.request_unknown" });
  });
});
