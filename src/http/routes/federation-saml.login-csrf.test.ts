// Threat: login CSRF through a direct SAML sign-in. Mallory starts a sign-in, signs in at the IdP
// as himself, and instead of posting the signed response makes the victim's browser auto-post it
// to the ACS: the victim would land at the platform with a decision about mallory. A SAML answer
// is a cross-site POST that carries no SameSite=Lax cookie, so the ACS cannot tell whose browser
// posted it: it verifies the answer, holds it, and redirects (303) to a same-origin GET carrying
// a one-time answer id, which completes (decides, redirects to return_to) only in the browser
// whose cookie the start bound the request to, once. Against the real samlify IdP.
import type { LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuditEvent } from "../../app/records.js";
import { REFEDS_MFA, TestIdp } from "../../verifiers/saml/test-support/test-idp.js";
import { noAuthnContext } from "../../verifiers/saml/test-support/tamper.js";
import {
  browserCookie,
  browserCookieAttributes,
  cookieOf,
  setBrowserCookie,
} from "../test-support/browser-cookie.js";
import { openTestServer, type TestServer } from "../test-support/open-test-server.js";
import { must, registerSamlTenant } from "../test-support/saml-federation.js";

const ACME_RETURN = "https://app.acme.example/signed-in";
const INITECH_RETURN = "https://app.initech.example/signed-in";
const COMPLETION = "https://mfa.test/t/acme/idps/corp/saml/complete";
const ANSWER_TTL_SECONDS = 300;
const MALLORYS_BROWSER = browserCookie("M", "__Host-tmfa_browser");
const VICTIMS_BROWSER = browserCookie("V", "__Host-tmfa_browser");
const JSON_ACCEPT = { accept: "application/json" };

let t: TestServer;
let idp: TestIdp;
let auditor: string;

beforeAll(async () => {
  t = await openTestServer({ bodyLimitBytes: 256 * 1024 });
  idp = new TestIdp({ entityId: "https://idp.corp.example/saml" });
  await registerSamlTenant(t, idp, "acme", { posture: "idp_mfa", returnUrls: [ACME_RETURN] });
  await registerSamlTenant(t, idp, "globex", {
    posture: "idp_mfa",
    returnUrls: ["https://app.globex.example/signed-in"],
  });
  await registerSamlTenant(t, idp, "initech", {
    posture: "idp_mfa",
    returnUrls: [INITECH_RETURN],
    allowUnsolicited: true,
  });
  auditor = await t.key(["tenant_auditor"], ["acme", "globex", "initech"]);
});

afterAll(async () => {
  await t.close();
});

async function spOf(tenant: string) {
  const metadata = must(await t.call("GET", `/t/${tenant}/idps/corp/saml/metadata`), 200);
  return {
    metadata: metadata.body,
    identity: {
      entityId: `https://mfa.test/t/${tenant}/idps/corp/saml/metadata`,
      acsUrl: `https://mfa.test/t/${tenant}/idps/corp/saml/acs`,
    },
  };
}

/**
 * A sign-in at acme started in the browser holding `cookie` (or a new one), answered by the IdP
 * about `nameId`: the form the IdP's page posts, and the browser cookie of the starting browser.
 */
async function answered(nameId: string, cookie?: string) {
  const started = must(
    await t.call("GET", `/t/acme/idps/corp/start?return_to=${encodeURIComponent(ACME_RETURN)}`, {
      ...(cookie === undefined ? {} : { headers: { cookie } }),
    }),
    303,
  );
  const sp = await spOf("acme");
  const request = await idp.receiveAuthnRequest(sp.metadata, String(started.headers.location));
  const samlResponse = await idp.login(sp.identity, sp.metadata, request.id, {
    issuedAt: t.clock.now(),
    nameId,
    authnContextClassRef: REFEDS_MFA,
  });
  return {
    form: { SAMLResponse: samlResponse, RelayState: request.relayState ?? "" },
    cookie: cookie ?? cookieOf(started),
    request: request.relayState ?? "",
  };
}

/** The IdP's page auto-posts the answer: a cross-site POST, which carries no Lax cookie. */
function acs(tenant: string, form: Record<string, string>) {
  return t.call("POST", `/t/${tenant}/idps/corp/saml/acs`, {
    body: new URLSearchParams(form).toString(),
    headers: { "content-type": "application/x-www-form-urlencoded" },
  });
}

/** The completion URL the ACS redirected to, after checking that it is one. */
function completionOf(response: Awaited<ReturnType<typeof acs>>): string {
  must(response, 303);
  const location = new URL(String(response.headers.location));
  expect(`${location.origin}${location.pathname}`).toBe(COMPLETION);
  expect([...location.searchParams.keys()]).toEqual(["answer"]);
  expect(location.searchParams.get("answer")).toMatch(/^[A-Za-z0-9_-]{32}$/);
  return `${location.pathname}${location.search}`;
}

/** The completion GET, from the browser holding `cookie` ("" for none). */
function complete(path: string, cookie: string, headers: Record<string, string> = {}) {
  return t.call("GET", path, { headers: { ...headers, ...(cookie === "" ? {} : { cookie }) } });
}

async function audit(tenant: string, type: string): Promise<AuditEvent[]> {
  const response = await t.call("GET", `/v1/tenants/${tenant}/audit?type=${type}&limit=500`, {
    key: auditor,
  });
  return must(response, 200).json<{ items: AuditEvent[] }>().items;
}

const codeOf = (response: LightMyRequestResponse) => [
  response.statusCode,
  response.json<{ code: string }>().code,
];

describe("a direct SAML sign-in completes only in the browser that started it", () => {
  it("sets the browser cookie at the start as __Host-, Secure, HttpOnly, SameSite=Lax behind https", async () => {
    const started = await t.call(
      "GET",
      `/t/acme/idps/corp/start?return_to=${encodeURIComponent(ACME_RETURN)}`,
    );
    must(started, 303);
    const attributes = browserCookieAttributes(started);
    expect(attributes[0]).toMatch(/^__Host-tmfa_browser=[A-Za-z0-9_-]{43}$/);
    expect(
      attributes
        .map((a) => a.toLowerCase())
        .slice(1)
        .sort(),
    ).toEqual(["httponly", "path=/", "samesite=lax", "secure"]);
    // A browser that has one keeps it.
    const again = await t.call(
      "GET",
      `/t/acme/idps/corp/start?return_to=${encodeURIComponent(ACME_RETURN)}`,
      { headers: { cookie: setBrowserCookie(started) ?? "" } },
    );
    expect(setBrowserCookie(must(again, 303))).toBeUndefined();
  });

  it("holds the verified answer at the ACS and redirects to a same-origin completion; deciding waits for the browser", async () => {
    const decided = (await audit("acme", "decision.recorded")).length;
    const { form } = await answered("alice@example.org");
    const path = completionOf(await acs("acme", form));
    expect(path).not.toContain("decision=");
    expect(await audit("acme", "decision.recorded")).toHaveLength(decided);
  });

  it("refuses mallory's answer, auto-posted through the victim's browser, at the victim's completion (federation.browser_mismatch), audited", async () => {
    const decided = (await audit("acme", "decision.recorded")).length;
    const refusedBefore = (await audit("acme", "federation.rejected")).length;
    const { form, request } = await answered("mallory@example.org", MALLORYS_BROWSER);
    // The victim's browser posts mallory's answer, and follows the redirect with its own cookie.
    const path = completionOf(await acs("acme", form));
    const page = await complete(path, VICTIMS_BROWSER);
    expect(page.statusCode).toBe(403);
    expect(page.headers.location).toBeUndefined();
    expect(page.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(page.body).toContain("<code>federation.browser_mismatch</code>");
    expect(codeOf(await complete(path, VICTIMS_BROWSER, JSON_ACCEPT))).toEqual([
      403,
      "federation.browser_mismatch",
    ]);
    // Without any cookie (a browser that keeps none, a script): the same.
    expect(codeOf(await complete(path, "", JSON_ACCEPT))).toEqual([
      403,
      "federation.browser_mismatch",
    ]);
    const refused = (await audit("acme", "federation.rejected")).slice(refusedBefore);
    expect(refused.map((e) => e.payload)).toEqual(
      Array.from({ length: 3 }, () => ({
        idp: "corp",
        protocol: "saml",
        reason: "federation.browser_mismatch",
        detail: "the answer came back to another browser than the one that started the sign-in",
        request,
      })),
    );
    expect(await audit("acme", "decision.recorded")).toHaveLength(decided);
    expect(JSON.stringify(refused)).not.toContain("mallory");
  });

  it("completes in the starting browser, once: decides, and returns to return_to with the decision", async () => {
    const { form, cookie } = await answered("alice@example.org");
    const path = completionOf(await acs("acme", form));
    // Another browser tried first: refused, and the answer is still there for its own browser.
    expect((await complete(path, MALLORYS_BROWSER)).statusCode).toBe(403);
    const done = await complete(path, cookie);
    must(done, 303);
    const location = new URL(String(done.headers.location));
    expect(`${location.origin}${location.pathname}`).toBe(ACME_RETURN);
    expect([...location.searchParams.keys()]).toEqual(["decision"]);
    const receipt = await t.call(
      "GET",
      `/v1/decisions/${location.searchParams.get("decision") ?? ""}`,
      { key: auditor },
    );
    expect(receipt.json()).toMatchObject({ principal: "alice@example.org", outcome: "allow" });

    // The answer id is used up: a second claim, even from the same browser, is refused.
    const refusedBefore = (await audit("acme", "federation.rejected")).length;
    const again = await complete(path, cookie, JSON_ACCEPT);
    expect(codeOf(again)).toEqual([400, "federation.answer_unknown"]);
    expect(again.headers.location).toBeUndefined();
    const [refused] = (await audit("acme", "federation.rejected")).slice(refusedBefore);
    expect(refused?.payload).toMatchObject({
      idp: "corp",
      protocol: "saml",
      reason: "federation.answer_unknown",
    });
  });

  it("answers an unknown, expired, foreign or malformed answer id with a 4xx and a stable code, never a 500", async () => {
    const unknown = await complete(
      "/t/acme/idps/corp/saml/complete?answer=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
      VICTIMS_BROWSER,
      JSON_ACCEPT,
    );
    expect(codeOf(unknown)).toEqual([400, "federation.answer_unknown"]);
    for (const query of [
      "answer=x",
      `answer=${"A".repeat(5000)}`,
      "answer=%00",
      "answer=a&answer=b",
    ]) {
      const bad = await complete(
        `/t/acme/idps/corp/saml/complete?${query}`,
        VICTIMS_BROWSER,
        JSON_ACCEPT,
      );
      expect(bad.statusCode, query).toBeGreaterThanOrEqual(400);
      expect(bad.statusCode, query).toBeLessThan(500);
    }
    expect(
      codeOf(await complete("/t/acme/idps/corp/saml/complete", VICTIMS_BROWSER, JSON_ACCEPT)),
    ).toEqual([400, "request.invalid"]);
    // An IdP that is not there: 404, as at its ACS.
    expect(
      codeOf(
        await complete(
          "/t/acme/idps/nope/saml/complete?answer=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
          VICTIMS_BROWSER,
          JSON_ACCEPT,
        ),
      ),
    ).toEqual([404, "not_found"]);

    // acme's answer is acme's: presented at globex's completion, it is unknown there.
    const foreign = await answered("alice@example.org");
    const foreignPath = completionOf(await acs("acme", foreign.form));
    const atGlobex = foreignPath.replace("/t/acme/", "/t/globex/");
    expect(codeOf(await complete(atGlobex, foreign.cookie, JSON_ACCEPT))).toEqual([
      400,
      "federation.answer_unknown",
    ]);

    // An answer not claimed in time is gone.
    const late = await answered("alice@example.org");
    const latePath = completionOf(await acs("acme", late.form));
    t.clock.advance(ANSWER_TTL_SECONDS + 1);
    try {
      expect(codeOf(await complete(latePath, late.cookie, JSON_ACCEPT))).toEqual([
        400,
        "federation.answer_unknown",
      ]);
    } finally {
      t.clock.advance(-(ANSWER_TTL_SECONDS + 1));
    }
  });

  // "MFA was not possible" sends the browser on to return_to?error=idp_mfa_unavailable, where the
  // platform continues with its own MFA: an outcome in the platform's sign-in as much as a
  // decision is, so it too counts only in the browser that started the sign-in (as an OIDC
  // error answer does: the callback checks the cookie first). Unbound, mallory's own sign-in's
  // NoAuthnContext, auto-posted through the victim's browser, drove the victim's sign-in at the
  // platform into that fallback.
  it("holds a NoAuthnContext answer for the starting browser: another browser is refused, the starting one returns with error=idp_mfa_unavailable, once", async () => {
    const unavailableBefore = (await audit("acme", "federation.mfa_unavailable")).length;
    const { form, request } = await answered("mallory@example.org", MALLORYS_BROWSER);
    const noMfa = { ...form, SAMLResponse: noAuthnContext(form.SAMLResponse) };
    const path = completionOf(await acs("acme", noMfa));
    // The IdP's word is recorded where it arrived, once.
    const recorded = (await audit("acme", "federation.mfa_unavailable")).slice(unavailableBefore);
    expect(recorded.map((e) => e.payload)).toMatchObject([
      { reason: "saml.no_authn_context", statusSigned: false, request },
    ]);

    const refusedBefore = (await audit("acme", "federation.rejected")).length;
    expect(codeOf(await complete(path, VICTIMS_BROWSER, JSON_ACCEPT))).toEqual([
      403,
      "federation.browser_mismatch",
    ]);
    const page = await complete(path, VICTIMS_BROWSER);
    expect(page.statusCode).toBe(403);
    expect(page.headers.location).toBeUndefined();
    const refused = (await audit("acme", "federation.rejected")).slice(refusedBefore);
    expect(refused.map((e) => e.payload["reason"])).toEqual([
      "federation.browser_mismatch",
      "federation.browser_mismatch",
    ]);

    const back = must(await complete(path, MALLORYS_BROWSER), 303);
    expect(back.headers.location).toBe(`${ACME_RETURN}?error=idp_mfa_unavailable`);
    expect(codeOf(await complete(path, MALLORYS_BROWSER, JSON_ACCEPT))).toEqual([
      400,
      "federation.answer_unknown",
    ]);
    expect(await audit("acme", "federation.mfa_unavailable")).toHaveLength(unavailableBefore + 1);
  });

  // Fail closed across the upgrade: a direct request remembered by a version that bound nothing
  // (within its 10 minutes) cannot be told from mallory's; its answer is refused at the ACS,
  // before it is verified, held or decided.
  it("refuses an answer to a direct sign-in remembered without a browser binding (started before the binding existed)", async () => {
    const { form, request } = await answered("alice@example.org");
    const remembered = await t.store.transaction((r) => r.federationRequests.get(request));
    if (remembered === undefined) throw new Error("the start remembered no request");
    const { browserHash: _bound, ...unbound } = remembered;
    const legacy = { ...unbound, id: `${request}_legacy` };
    await t.store.transaction((r) => r.federationRequests.insert(legacy));
    const decided = (await audit("acme", "decision.recorded")).length;
    const refusedBefore = (await audit("acme", "federation.rejected")).length;

    const posted = await acs("acme", { ...form, RelayState: legacy.id });
    expect(posted.statusCode).toBe(403);
    expect(posted.headers.location).toBeUndefined();
    expect(posted.body).toContain("<code>federation.browser_mismatch</code>");
    const refused = (await audit("acme", "federation.rejected")).slice(refusedBefore);
    expect(refused.map((e) => e.payload)).toEqual([
      {
        idp: "corp",
        protocol: "saml",
        reason: "federation.browser_mismatch",
        detail: "the sign-in was started before sign-ins were bound to the browser; start again",
        request: legacy.id,
      },
    ]);
    expect(await audit("acme", "decision.recorded")).toHaveLength(decided);
  });

  it("completes two sign-ins started in two tabs of one browser, in either order", async () => {
    const first = await answered("alice@example.org");
    const second = await answered("bob@example.org", first.cookie);
    const firstPath = completionOf(await acs("acme", first.form));
    const secondPath = completionOf(await acs("acme", second.form));
    const bob = must(await complete(secondPath, first.cookie), 303);
    const alice = must(await complete(firstPath, first.cookie), 303);
    for (const response of [alice, bob]) {
      expect(String(response.headers.location)).toMatch(
        /^https:\/\/app\.acme\.example\/signed-in\?decision=dec_/,
      );
    }
  });

  it("decides an unsolicited answer (allowUnsolicited) at the ACS as before: it has no request, so no browser to bind", async () => {
    const sp = await spOf("initech");
    const samlResponse = await idp.login(sp.identity, sp.metadata, undefined, {
      issuedAt: t.clock.now(),
      nameId: "alice@example.org",
      authnContextClassRef: REFEDS_MFA,
    });
    const direct = must(
      await acs("initech", { SAMLResponse: samlResponse, RelayState: INITECH_RETURN }),
      303,
    );
    expect(String(direct.headers.location)).toMatch(
      /^https:\/\/app\.initech\.example\/signed-in\?decision=dec_/,
    );
  });
});
