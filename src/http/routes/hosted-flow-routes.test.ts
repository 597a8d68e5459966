/**
 * Threat: a hosted flow page is driven from another site (a cross-origin form post), a flow is
 * walked without binding it to one browser, a malformed form or an outage leaks a stack or a
 * 500, a page's script is blocked or an inline one allowed, or a posted form is re-posted on a
 * redirect. These tests run the routes through `server.inject` over an application whose
 * `flows` is a small hand-written fake returning fixed screens: the real flow use cases are being
 * written in parallel (src/app/flows/), and these tests pin only what the HTTP layer does.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import type { FastifyInstance, LightMyRequestResponse } from "fastify";
import { pino, type Logger } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import type { Application, FlowAction, FlowBrowser } from "../../app/application.js";
import { AppError } from "../../app/errors.js";
import type { FlowScreen } from "../../app/flows/flow-screens.js";
import { FRAME } from "../../pages/test-support/sample-screens.js";
import { buildServer } from "../build-server.js";
import { HTTP_PROBLEMS } from "../error-statuses.js";
import { tamperingOf } from "../problem.js";
import { capturedLog } from "../test-support/captured-log.js";

type Flows = Application["flows"];

interface Calls {
  show: { tenant: string; flow: string; browser: FlowBrowser; notice?: string }[];
  act: { tenant: string; flow: string; browser: FlowBrowser; action: FlowAction }[];
  options: { tenant: string; flow: string; browser: FlowBrowser; input: unknown }[];
}

const CHALLENGE: FlowScreen = {
  kind: "challenge",
  frame: FRAME,
  options: [{ kind: "verify_totp", authenticators: [{ id: "auth_1", name: "Phone" }] }],
  proven: [],
};

/** What the fake answers; each test sets what it needs. */
interface Script {
  show?: () => Promise<FlowScreen>;
  act?: () => Promise<FlowScreen>;
  options?: () => Promise<Awaited<ReturnType<Flows["webauthnOptions"]>>>;
}

let server: FastifyInstance | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

function open(
  script: Script = {},
  publicUrl = "http://localhost:8080",
  logger: Logger = pino({ level: "silent" }),
) {
  const calls: Calls = { show: [], act: [], options: [] };
  const unused = () => Promise.reject(new Error("not used by the hosted pages"));
  const flows: Flows = {
    create: unused,
    exchange: unused,
    show: (tenant, flow, browser, options = {}) => {
      calls.show.push({ tenant, flow, browser, ...options });
      return (script.show ?? (() => Promise.resolve(CHALLENGE)))();
    },
    // No test here brings an opening secret (hosted-flow-routes.opening.test.ts does).
    enter: unused,
    act: (tenant, flow, browser, action) => {
      calls.act.push({ tenant, flow, browser, action });
      return (script.act ?? (() => Promise.resolve(CHALLENGE)))();
    },
    webauthnOptions: (tenant, flow, browser, input) => {
      calls.options.push({ tenant, flow, browser, input });
      return (
        script.options ??
        (() =>
          Promise.resolve({
            ceremony: "cer_1",
            options: { challenge: "abc", rpId: "localhost" } as never,
          }))
      )();
    },
  };
  server = buildServer({
    app: { flows } as unknown as Application,
    config: { bodyLimitBytes: 16 * 1024, logLevel: "silent", publicUrl },
    logger,
  });
  return { server, calls };
}

const URL_PATH = "/t/acme/flows/flw_7Hk2pQ";
const FORM = "application/x-www-form-urlencoded";

function post(
  s: FastifyInstance,
  fields: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<LightMyRequestResponse> {
  return s.inject({
    method: "POST",
    url: URL_PATH,
    headers: { "content-type": FORM, ...headers },
    payload: new URLSearchParams(fields).toString(),
  });
}

function setCookie(response: LightMyRequestResponse): string | undefined {
  const header = response.headers["set-cookie"];
  return Array.isArray(header) ? header[0] : header;
}

function expectFailurePage(response: LightMyRequestResponse, status: number, code: string) {
  expect(response.statusCode).toBe(status);
  expect(response.headers["content-type"]).toBe("text/html; charset=utf-8");
  expect(response.body).toContain(`<code>${code}</code>`);
  expect(response.body).not.toMatch(/at .*\.(ts|js):\d+/);
}

describe("the flow page", () => {
  it("renders the screen with its own CSP, no caching, as HTML", async () => {
    const { server: s, calls } = open();
    const response = await s.inject({ url: URL_PATH });
    expect(response.statusCode).toBe(200);
    expect(response.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(response.headers["cache-control"]).toBe("no-store");
    const csp = String(response.headers["content-security-policy"]);
    expect(csp).toContain("form-action 'self' https://app.example.com https://idp.acme.example");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain("unsafe-inline");
    expect(response.body).toContain('<form method="post" action="/t/acme/flows/flw_7Hk2pQ"');
    expect(calls.show).toEqual([
      { tenant: "acme", flow: "flw_7Hk2pQ", browser: expect.objectContaining({}) },
    ]);
  });

  it("passes on a notice from the IdP's return, and nothing it does not know", async () => {
    const { server: s, calls } = open();
    await s.inject({ url: `${URL_PATH}?notice=idp.mfa_unavailable` });
    await s.inject({ url: `${URL_PATH}?notice=%3Cscript%3E` });
    await s.inject({ url: `${URL_PATH}?notice=idp.rejected&notice=idp.rejected` });
    expect(calls.show.map((call) => call.notice)).toEqual([
      "idp.mfa_unavailable",
      undefined,
      undefined,
    ]);
  });

  it("keeps the global CSP and referrer policy on every other route", async () => {
    const { server: s } = open();
    const response = await s.inject({ url: "/healthz" });
    expect(response.headers["content-security-policy"]).toBe(
      "default-src 'none'; frame-ancestors 'none'",
    );
    expect(response.headers["referrer-policy"]).toBe("no-referrer");
  });

  // Under `no-referrer` a browser posts with `Origin: null`, which the Origin check refuses: the
  // pages would refuse their own forms (the browser test shows it).
  it("lets the browser send the page's origin with its posts, and nothing to other sites", async () => {
    const { server: s } = open();
    const response = await s.inject({ url: URL_PATH });
    expect(response.headers["referrer-policy"]).toBe("same-origin");
    expect(response.body).toContain('<meta name="referrer" content="same-origin">');
  });

  it("gives a new browser a random HttpOnly, Lax cookie and binds the flow to it", async () => {
    const { server: s, calls } = open();
    const first = await s.inject({ url: URL_PATH, remoteAddress: "203.0.113.9" });
    const cookie = setCookie(first);
    expect(cookie).toMatch(/^tmfa_browser=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Lax$/);
    const value = /^tmfa_browser=([^;]+)/.exec(cookie!)![1]!;
    expect(calls.show[0]!.browser).toEqual({ cookie: value, clientAddress: "203.0.113.9" });

    const again = await s.inject({ url: URL_PATH, cookies: { tmfa_browser: value } });
    expect(setCookie(again)).toBeUndefined();
    expect(calls.show[1]!.browser.cookie).toBe(value);

    const other = await s.inject({ url: URL_PATH });
    expect(calls.show[2]!.browser.cookie).not.toBe(value);
    expect(setCookie(other)).toBeDefined();
  });

  // A HEAD (a link checker, a prefetcher) would otherwise run the page: bind the flow to a new
  // browser, claim an IdP answer, complete the flow.
  it("refuses a HEAD as a method the page lacks, showing nothing and setting no cookie", async () => {
    const { server: s, calls } = open();
    const answer = "A".repeat(32);
    const head = await s.inject({ method: "HEAD", url: `${URL_PATH}?answer=${answer}` });
    expect([head.statusCode, head.headers.allow]).toEqual([405, "GET, POST"]);
    expect(String(head.headers["content-type"])).toMatch(/^application\/problem\+json/);
    expect(setCookie(head)).toBeUndefined();
    expect(calls.show).toEqual([]);
  });

  // Threat: another site embeds the URL of a flow not yet opened (<img src=…>); the request
  // carries no Lax cookie and would bind the flow to a cookie no browser keeps.
  it("binds nothing when the page is fetched as anything but a document, and says it must be opened as a page (request.not_a_navigation, as the federation routes say)", async () => {
    const { server: s, calls } = open();
    for (const destination of ["image", "iframe", "script", "empty"]) {
      const response = await s.inject({
        url: URL_PATH,
        headers: { "sec-fetch-dest": destination },
      });
      expectFailurePage(response, 400, "request.not_a_navigation");
      expect(setCookie(response)).toBeUndefined();
    }
    expect(calls.show).toEqual([]);
    const navigated = await s.inject({ url: URL_PATH, headers: { "sec-fetch-dest": "document" } });
    expect(navigated.statusCode).toBe(200);
    expect(calls.show).toHaveLength(1);
  });

  it("replaces a malformed cookie instead of trusting it", async () => {
    const { server: s, calls } = open();
    const response = await s.inject({ url: URL_PATH, cookies: { tmfa_browser: "short" } });
    expect(setCookie(response)).toMatch(/^tmfa_browser=[A-Za-z0-9_-]{43};/);
    expect(calls.show[0]!.browser.cookie).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it("names the cookie __Host- and marks it Secure behind an https public URL", async () => {
    const { server: s, calls } = open({}, "https://mfa.example.com");
    const response = await s.inject({ url: URL_PATH });
    expect(setCookie(response)).toMatch(
      /^__Host-tmfa_browser=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; Secure; SameSite=Lax$/,
    );
    const value = /=([^;]+)/.exec(setCookie(response)!)![1]!;
    await s.inject({ url: URL_PATH, cookies: { "__Host-tmfa_browser": value } });
    expect(calls.show[1]!.browser.cookie).toBe(value);
  });

  it("sends a redirect screen as a 303", async () => {
    const { server: s } = open({
      show: () => Promise.resolve({ kind: "redirect", location: "https://idp.acme.example/auth" }),
    });
    const response = await s.inject({ url: URL_PATH });
    expect(response.statusCode).toBe(303);
    expect(response.headers.location).toBe("https://idp.acme.example/auth");
  });

  it.each([
    ["flow.not_found", 404],
    ["flow.expired", 410],
    ["flow.used", 410],
    ["flow.other_browser", 403],
    ["flow.csrf", 403],
    ["flow.return_to_not_allowed", 400],
    ["flow.unavailable", 503],
    ["flow.cannot_complete", 500],
  ] as const)("answers a failed screen %s with status %i", async (code, status) => {
    const { server: s } = open({ show: () => Promise.resolve({ kind: "failed", code }) });
    expectFailurePage(await s.inject({ url: URL_PATH }), status, code);
  });

  it.each([
    ["store.unavailable", new AppError("store.unavailable"), 503, "flow.unavailable"],
    ["not_found", new AppError("not_found"), 404, "flow.not_found"],
    [
      "federation.return_to_not_allowed",
      new AppError("federation.return_to_not_allowed"),
      400,
      "flow.return_to_not_allowed",
    ],
    ["a flow failure code", new AppError("flow.expired" as never), 410, "flow.expired"],
    ["an unexpected error", new Error("boom at /srv/app.js:12"), 503, "flow.unavailable"],
  ])("turns %s thrown by the application into a failure page", async (_, error, status, code) => {
    const { server: s } = open({
      show: () => Promise.reject(error),
      act: () => Promise.reject(error),
    });
    const shown = await s.inject({ url: URL_PATH });
    expectFailurePage(shown, status, code);
    expect(shown.body).not.toContain("boom");
    expect(String(shown.headers["content-security-policy"])).toContain("default-src 'none'");
    expectFailurePage(await post(s, { action: "continue", csrf: "t" }), status, code);
  });

  // A record altered outside the service: retrying will not help, so the page promises no retry
  // (no "try again later", no Retry-After), and names no table or row, which go to the log only,
  // at error level, as the JSON API logs tampering.
  it.each([
    [
      "store.record_damaged",
      new AppError(
        "store.record_damaged",
        "DAMAGED: idps row corp of tenant acme: its stored text is not JSON (altered outside the service).",
        { damaged: [{ table: "idps", tenant: "acme", id: "corp" }] },
      ),
    ],
    ["receipt.tampered", new AppError("receipt.tampered", undefined, { decision: "dec_42" })],
    [
      "audit.chain_damaged",
      new AppError("audit.chain_damaged", "Event 7 of tenant:acme cannot be read", { seq: 7 }),
    ],
  ])(
    "answers %s thrown by the application with a page that cannot complete the sign-in, logged as an error",
    async (_, error) => {
      const { logger, lines } = capturedLog();
      const { server: s } = open(
        { show: () => Promise.reject(error), act: () => Promise.reject(error) },
        undefined,
        logger,
      );
      for (const shown of [
        await s.inject({ url: URL_PATH }),
        await post(s, { action: "continue", csrf: "t" }),
      ]) {
        expectFailurePage(shown, 500, "flow.cannot_complete");
        expect(shown.headers["retry-after"]).toBeUndefined();
        expect(shown.body).toContain("This sign-in cannot be completed");
        expect(shown.body).not.toMatch(/try again later|wait a minute|sign in again/i);
        for (const internal of ["idps", "corp", "dec_42", "tenant:acme", "DAMAGED", error.code]) {
          expect(shown.body).not.toContain(internal);
        }
      }
      const logged = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
      const errors = logged.filter((line) => line.level === 50 && line.code === error.code);
      expect(errors).toHaveLength(2);
      expect(errors[0]).toMatchObject({ detail: error.message, details: error.details });
      expect(logged.filter((line) => line.level === 40)).toEqual([]);
    },
  );

  it("asks an unavailable page's visitor to retry later", async () => {
    const { server: s } = open({ show: () => Promise.reject(new AppError("store.unavailable")) });
    expect((await s.inject({ url: URL_PATH })).headers["retry-after"]).toBe("5");
  });
});

describe("a posted form", () => {
  const response = JSON.stringify({ id: "cred", rawId: "cred", type: "public-key", response: {} });
  it.each<[string, Record<string, string>, FlowAction]>([
    [
      "verify_totp",
      { action: "verify_totp", csrf: "t", authenticator: "auth_1", code: "123456" },
      { kind: "verify_totp", csrf: "t", authenticator: "auth_1", code: "123456" },
    ],
    [
      "verify_recovery_code",
      { action: "verify_recovery_code", csrf: "t", code: "ABCD-EFGH" },
      { kind: "verify_recovery_code", csrf: "t", code: "ABCD-EFGH" },
    ],
    [
      "verify_webauthn",
      { action: "verify_webauthn", csrf: "t", ceremony: "cer_1", response },
      { kind: "verify_webauthn", csrf: "t", ceremony: "cer_1", response: JSON.parse(response) },
    ],
    ["enroll_totp", { action: "enroll_totp", csrf: "t" }, { kind: "enroll_totp", csrf: "t" }],
    [
      "confirm_totp",
      { action: "confirm_totp", csrf: "t", authenticator: "auth_3", code: "654321" },
      { kind: "confirm_totp", csrf: "t", authenticator: "auth_3", code: "654321" },
    ],
    [
      "enroll_webauthn",
      { action: "enroll_webauthn", csrf: "t" },
      { kind: "enroll_webauthn", csrf: "t" },
    ],
    [
      "register_webauthn with a name",
      { action: "register_webauthn", csrf: "t", ceremony: "cer_2", response, name: " Blue key " },
      {
        kind: "register_webauthn",
        csrf: "t",
        ceremony: "cer_2",
        response: JSON.parse(response),
        name: "Blue key",
      },
    ],
    [
      "register_webauthn with the name left empty",
      { action: "register_webauthn", csrf: "t", ceremony: "cer_2", response, name: "" },
      { kind: "register_webauthn", csrf: "t", ceremony: "cer_2", response: JSON.parse(response) },
    ],
    ["idp", { action: "idp", csrf: "t", idp: "corp" }, { kind: "idp", csrf: "t", idp: "corp" }],
    ["continue", { action: "continue", csrf: "t" }, { kind: "continue", csrf: "t" }],
  ])("%s reaches the application as its FlowAction", async (_, fields, action) => {
    const { server: s, calls } = open({
      act: () => Promise.resolve({ kind: "redirect", location: "/t/acme/flows/flw_7Hk2pQ" }),
    });
    const answer = await post(s, fields, { origin: "http://localhost:8080" });
    expect(answer.statusCode).toBe(303);
    expect(answer.headers.location).toBe("/t/acme/flows/flw_7Hk2pQ");
    expect(calls.act).toEqual([
      {
        tenant: "acme",
        flow: "flw_7Hk2pQ",
        browser: {
          cookie: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
          clientAddress: "127.0.0.1",
        },
        action,
      },
    ]);
  });

  it("renders the next screen when the application answers with a page", async () => {
    const { server: s } = open({
      act: () =>
        Promise.resolve({ ...CHALLENGE, notice: { code: "totp.invalid_code", tone: "error" } }),
    });
    const answer = await post(s, {
      action: "verify_totp",
      csrf: "t",
      authenticator: "a",
      code: "1",
    });
    expect(answer.statusCode).toBe(200);
    expect(answer.body).toContain('role="alert"');
    expect(answer.body).toContain("That code is not valid");
  });

  it.each([
    ["another site", "https://evil.example"],
    ["an opaque origin", "null"],
    ["another port of the same host", "http://localhost:9999"],
  ])("from %s is refused as flow.csrf without reaching the application", async (_, origin) => {
    const { server: s, calls } = open();
    expectFailurePage(
      await post(s, { action: "continue", csrf: "t" }, { origin }),
      403,
      "flow.csrf",
    );
    expect(calls.act).toEqual([]);
  });

  it.each<[string, string, string]>([
    ["an unknown action", FORM, "action=delete_everything&csrf=t"],
    ["no action", FORM, "csrf=t"],
    ["no CSRF token", FORM, "action=continue"],
    ["a TOTP code without its authenticator", FORM, "action=verify_totp&csrf=t&code=123456"],
    ["a repeated field", FORM, "action=continue&csrf=t&csrf=u"],
    [
      "a WebAuthn response that is not JSON",
      FORM,
      "action=verify_webauthn&csrf=t&ceremony=c&response=%7Bnot-json",
    ],
    [
      "a WebAuthn response that is a JSON string",
      FORM,
      "action=verify_webauthn&csrf=t&ceremony=c&response=%22x%22",
    ],
    ["a JSON body", "application/json", JSON.stringify({ action: "continue", csrf: "t" })],
    ["a malformed JSON body", "application/json", "{"],
    // The JSON parser refuses this one with an HTTP problem (415), which the page took for a
    // bug: 503 flow.unavailable (found by src/http/fuzz.property.test.ts).
    ["a JSON body declared as latin1", "application/json; charset=latin1", "{}"],
    ["a text body", "text/plain", "action=continue&csrf=t"],
    ["an oversized body", FORM, `action=continue&csrf=${"x".repeat(200_000)}`],
    // Read as UTF-8 whatever it declares, a form in another charset would be read as fields its
    // sender did not write (a windows-1252 "é" becomes U+FFFD).
    ["a form declared as UTF-16", `${FORM}; charset=utf-16`, "action=continue&csrf=t"],
    ["a form declared as windows-1252", `${FORM};charset="Windows-1252"`, "action=continue&csrf=t"],
    ["a form declared as latin1", `${FORM}; charset=latin1`, "action=continue&csrf=t"],
  ])("with %s gets the failure page, 400, never a 500", async (_, type, payload) => {
    const { server: s, calls } = open();
    const answer = await s.inject({
      method: "POST",
      url: URL_PATH,
      headers: { "content-type": type },
      payload,
    });
    expectFailurePage(answer, 400, "flow.bad_request");
    expect(String(answer.headers["content-security-policy"])).not.toContain("unsafe-inline");
    expect(calls.act).toEqual([]);
  });
});

describe("the charset of a flow's form", () => {
  it.each([
    FORM,
    `${FORM}; charset=utf-8`,
    `${FORM}; charset=UTF-8`,
    `${FORM}; charset="utf-8"`,
    `${FORM}; charset=utf8`,
  ])("reads a form declared as %s", async (type) => {
    const { server: s, calls } = open();
    const answer = await post(s, { action: "continue", csrf: "t" }, { "content-type": type });
    expect(answer.statusCode).toBe(200);
    expect(calls.act.map((call) => call.action)).toEqual([{ kind: "continue", csrf: "t" }]);
  });
});

describe("the WebAuthn options endpoint", () => {
  const optionsUrl = `${URL_PATH}/webauthn/options`;
  const ask = (
    s: FastifyInstance,
    headers: Record<string, string>,
    body: unknown = { purpose: "authentication" },
  ) =>
    s.inject({
      method: "POST",
      url: optionsUrl,
      headers: { "content-type": "application/json", ...headers },
      payload: JSON.stringify(body),
    });

  it("answers the ceremony and its options for the page's CSRF token", async () => {
    const { server: s, calls } = open();
    const answer = await ask(s, {
      "x-csrf-token": "csrf-token-123",
      origin: "http://localhost:8080",
    });
    expect(answer.statusCode).toBe(200);
    expect(answer.headers["cache-control"]).toBe("no-store");
    expect(answer.json()).toEqual({
      ceremony: "cer_1",
      options: { challenge: "abc", rpId: "localhost" },
    });
    expect(calls.options).toEqual([
      {
        tenant: "acme",
        flow: "flw_7Hk2pQ",
        browser: expect.objectContaining({ clientAddress: "127.0.0.1" }),
        input: { csrf: "csrf-token-123", purpose: "authentication" },
      },
    ]);
  });

  it.each([
    ["without the CSRF header", {}],
    ["from another origin", { "x-csrf-token": "t", origin: "https://evil.example" }],
  ])("refuses a request %s with a flow.csrf problem", async (_, headers) => {
    const { server: s, calls } = open();
    const answer = await ask(s, headers);
    expect(answer.statusCode).toBe(403);
    expect(answer.headers["content-type"]).toMatch(/^application\/problem\+json/);
    expect(answer.json()).toMatchObject({ code: "flow.csrf", status: 403 });
    expect(calls.options).toEqual([]);
  });

  it("refuses it with a problem of the documented shape, its code in docs/errors.md", async () => {
    // It was a hand-made document: a code docs/errors.md did not list, and no `detail`, which
    // every problem carries (found by src/http/fuzz.property.test.ts).
    const { server: s } = open();
    const answer = await ask(s, {});
    const problem = answer.json<Record<string, unknown>>();
    expect(problem).toEqual({
      type: "urn:tenant-mfa:problem:flow.csrf",
      title: HTTP_PROBLEMS["flow.csrf"].title,
      status: 403,
      detail: HTTP_PROBLEMS["flow.csrf"].title,
      code: "flow.csrf",
      instance: "/t/acme/flows/flw_7Hk2pQ/webauthn/options",
    });
    const doc = readFileSync(new URL("../../../docs/errors.md", import.meta.url), "utf8");
    expect(doc).toMatch(/^\| `flow\.csrf` +\| 403 +\|/m);
  });

  it("refuses an unknown purpose as request.invalid", async () => {
    const { server: s, calls } = open();
    const answer = await ask(s, { "x-csrf-token": "t" }, { purpose: "steal" });
    expect(answer.statusCode).toBe(400);
    expect(answer.json()).toMatchObject({ code: "request.invalid" });
    expect(calls.options).toEqual([]);
  });

  it("reports the application's refusal as a problem with its status", async () => {
    const { server: s } = open({
      options: () => Promise.reject(new AppError("webauthn.no_credentials")),
    });
    const answer = await ask(s, { "x-csrf-token": "t" });
    expect(answer.statusCode).toBe(422);
    expect(answer.json()).toMatchObject({ code: "webauthn.no_credentials" });
  });

  // A record altered outside the service, met while answering the page's script: the problem
  // names no record to the browser, which is not authenticated; the log names it at error level,
  // as the JSON API logs tampering.
  it.each([
    [
      "store.record_damaged",
      new AppError("store.record_damaged", "DAMAGED: webauthn_settings row acme", {
        damaged: [{ table: "webauthn_settings", tenant: "acme" }],
      }),
    ],
    ["receipt.tampered", new AppError("receipt.tampered", undefined, { decision: "dec_42" })],
    ["audit.chain_damaged", new AppError("audit.chain_damaged", "Event 7", { seq: 7 })],
  ])("logs %s thrown by the application as an error", async (code, error) => {
    const { logger, lines } = capturedLog();
    const { server: s } = open({ options: () => Promise.reject(error) }, undefined, logger);
    const answer = await ask(s, { "x-csrf-token": "t" });
    expect(answer.statusCode).toBe(500);
    const problem = answer.json<Record<string, unknown>>();
    expect(problem).toMatchObject({ code, detail: problem["title"] });
    expect(problem).not.toHaveProperty("details");
    const logged = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(logged.filter((line) => line.level === 50)).toEqual([
      expect.objectContaining({ code, msg: tamperingOf(code), details: error.details }),
    ]);
  });

  it("reports an unexpected error as a bare internal problem", async () => {
    const { server: s } = open({ options: () => Promise.reject(new Error("secret detail")) });
    const answer = await ask(s, { "x-csrf-token": "t" });
    expect(answer.statusCode).toBe(500);
    expect(answer.body).not.toContain("secret detail");
  });
});

describe("the page assets", () => {
  const IMMUTABLE = "public, max-age=31536000, immutable";

  /** The asset URLs of a page that runs WebAuthn ceremonies (its stylesheet and two scripts). */
  async function assetUrls(s: FastifyInstance): Promise<string[]> {
    const page = await s.inject({ url: "/t/acme/flows/flw_1" });
    expect(page.statusCode).toBe(200);
    expect(page.headers["content-security-policy"]).toContain("script-src 'self'");
    return [...page.body.matchAll(/(?:href|src)="(\/flow-assets\/[^"]+)"/g)].map((m) => m[1]!);
  }
  const webauthnPage = () =>
    Promise.resolve({ ...CHALLENGE, options: [{ kind: "verify_webauthn" as const }] });

  it("are referred to by URLs naming their content, each cached for good", async () => {
    const { server: s } = open({ show: webauthnPage });
    const urls = await assetUrls(s);
    expect(urls).toHaveLength(3);
    for (const [url, type, content] of [
      [
        urls.find((u) => u.includes("/flow.") && u.endsWith(".css")),
        "text/css; charset=utf-8",
        ".card",
      ],
      [
        urls.find((u) => u.includes("/flow.") && u.endsWith(".js")),
        "text/javascript; charset=utf-8",
        "/webauthn/options",
      ],
      [
        urls.find((u) => u.includes("/simplewebauthn-browser.")),
        "text/javascript; charset=utf-8",
        "SimpleWebAuthnBrowser",
      ],
    ] as const) {
      const hash = /\.([0-9a-f]{16})\.(?:css|js)$/.exec(url ?? "")?.[1];
      expect(hash, url).toBeDefined();
      const answer = await s.inject({ url: url! });
      expect(answer.statusCode).toBe(200);
      expect(answer.headers["content-type"]).toBe(type);
      expect(answer.headers["cache-control"]).toBe(IMMUTABLE);
      expect(answer.headers["x-content-type-options"]).toBe("nosniff");
      expect(answer.body).toContain(content);
      // The URL names these very bytes: a new version of the file gets a new URL.
      expect(createHash("sha256").update(answer.rawPayload).digest("hex").slice(0, 16)).toBe(hash);
    }
  });

  it.each(["flow.0123456789abcdef.js", "flow.js", "flow.ffffffffffffffff.css"])(
    "serves %s, another version's URL or none, as the asset is now but never to be cached",
    async (name) => {
      const { server: s } = open({ show: webauthnPage });
      const current = (await assetUrls(s)).find(
        (u) =>
          u.startsWith(`/flow-assets/${name.split(".")[0]!}.`) &&
          u.endsWith(name.slice(name.lastIndexOf("."))),
      );
      const answer = await s.inject({ url: `/flow-assets/${name}` });
      expect(answer.statusCode).toBe(200);
      expect(answer.headers["cache-control"]).toBe("no-cache");
      expect(answer.body).toBe((await s.inject({ url: current! })).body);
    },
  );

  it.each([
    "nothing.js",
    "nothing.0123456789abcdef.js",
    "..%2Fpackage.json",
    "flow.css.map",
    "flow.0123.js",
    "flow.0123456789ABCDEF.js",
    "flow.0123456789abcdef.css.js",
  ])("answers 404 for %s", async (name) => {
    const { server: s } = open();
    const answer = await s.inject({ url: `/flow-assets/${name}` });
    expect(answer.statusCode).toBe(404);
    expect(answer.body).not.toContain('"name"');
  });
});
