/**
 * DESIGN invariant 8 on the routes the OpenAPI sweep of bad-input.test.ts cannot see: the
 * browser-facing federation endpoints, the hosted flow pages and their assets are hidden from
 * the document, so that sweep never reaches them. Threat: a garbage path, query or body sent to
 * a browser route ends in a 500, a hang, a stack or a file path on the page, or the input echoed
 * back as markup. The routes are read from the server itself, so a hidden route added later
 * fails here until the table below says how to probe it.
 */
import type { LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openingOf } from "../app/test-support/flow-opening.js";
import { FAILURE_STATUSES } from "../pages/render-flow-screen.js";
import { TestIdp } from "../verifiers/saml/test-support/test-idp.js";
import { openTestServer, type TestServer } from "./test-support/open-test-server.js";

type Method = "GET" | "HEAD" | "POST" | "PUT" | "DELETE" | "PATCH" | "OPTIONS";
const METHODS: readonly Method[] = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"];

/**
 * How a route answers a refusal:
 * - `federation`: an explanation page with a reference code, or a problem document to a client
 *   that asks for JSON (src/http/routes/federation-routes.ts, `browser()`);
 * - `flow-page`: a flow failure page with a reference code, whatever the client asks;
 * - `flow-script`: a problem document (the page's script reads it);
 * - `asset`: a problem document for an unknown static file (`not_found`).
 * Whatever the route, the router's own refusals (404 route.not_found, 405, a body parser's) are
 * problem documents; a URL the router cannot read (a malformed percent escape, an overlong
 * segment) aimed at a `federation` or `flow-page` route is answered as that route's failures. A GET that changes something (a sign-in started, an
 * answer claimed, a code redeemed, a flow bound or completed) has no HEAD: its HEAD is a 405.
 */
type Refusal = "federation" | "flow-page" | "flow-script" | "asset";

interface HiddenRoute {
  readonly methods: readonly Method[];
  /** Path parameter values that reach the handler's own checks (a real tenant, IdP, flow…). */
  readonly params: () => Readonly<Record<string, string>>;
  readonly refuses: Refusal;
  /**
   * Answers (`status code`) the sweep must have drawn from the handler itself, with real path
   * parameters: proof that the probes got past the router to the route's own checks.
   */
  readonly reaches: readonly string[];
  /**
   * What the route's real URL carries in its query, which every probe carries before its own:
   * a hosted flow's opening secret (`?open=`), without which its first visit finds no flow
   * (`flow.not_found`), so that the probes would never reach a real flow's checks.
   */
  readonly query?: () => string;
}

const RETURN = "https://app.acme.example/signed-in";
let t: TestServer;
let flow = "";
/** The flow's opening secret, from the URL its creation answered with. */
let opening = "";

/** Every registered route that the OpenAPI document does not list, and how to probe it. */
const HIDDEN: Readonly<Record<string, HiddenRoute>> = {
  "/t/:tenant/idps/:idp/saml/metadata": {
    methods: ["GET", "HEAD"],
    params: () => ({ tenant: "acme", idp: "corp" }),
    refuses: "federation",
    reaches: ["200"],
  },
  "/t/:tenant/idps/:idp/start": {
    methods: ["GET"],
    params: () => ({ tenant: "acme", idp: "corp" }),
    refuses: "federation",
    reaches: ["400 request.invalid", "400 federation.return_to_not_allowed"],
  },
  "/t/:tenant/idps/:idp/saml/acs": {
    methods: ["POST"],
    params: () => ({ tenant: "acme", idp: "corp" }),
    refuses: "federation",
    reaches: [
      "400 request.invalid",
      "400 federation.rejected",
      "413 request.too_large",
      "415 request.unsupported_media_type",
    ],
  },
  "/t/:tenant/idps/:idp/saml/complete": {
    methods: ["GET"],
    params: () => ({ tenant: "acme", idp: "corp" }),
    refuses: "federation",
    reaches: ["400 request.invalid", "400 federation.answer_unknown"],
  },
  "/t/:tenant/idps/:idp/oidc/callback": {
    methods: ["GET"],
    params: () => ({ tenant: "acme", idp: "oidc" }),
    refuses: "federation",
    reaches: ["400 federation.request_unknown"],
  },
  "/t/:tenant/flows/:flow": {
    methods: ["GET", "POST"],
    params: () => ({ tenant: "acme", flow }),
    refuses: "flow-page",
    // 303: the visit with the opening secret binds, and is sent on to the URL without it.
    reaches: ["303", "400 flow.bad_request", "403 flow.csrf", "403 flow.other_browser"],
    query: () => `open=${opening}`,
  },
  "/t/:tenant/flows/:flow/webauthn/options": {
    methods: ["POST"],
    params: () => ({ tenant: "acme", flow }),
    refuses: "flow-script",
    reaches: ["400 request.invalid", "403 flow.csrf", "413 request.too_large"],
  },
  "/flow-assets/:name": {
    methods: ["GET", "HEAD"],
    params: () => ({ name: "flow.css" }),
    refuses: "asset",
    reaches: ["200"],
  },
};

/** What the server registered, by URL pattern: read through `onRoute` before it is ready. */
const registered = new Map<string, Set<string>>();

beforeAll(async () => {
  t = await openTestServer({ bodyLimitBytes: 64 * 1024 });
  t.server.addHook("onRoute", (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const known = registered.get(route.url) ?? new Set<string>();
    for (const method of methods) known.add(String(method));
    registered.set(route.url, known);
  });
  await t.server.ready();

  const created = await t.call("POST", "/v1/tenants", {
    key: t.adminKey,
    body: { id: "acme", name: "Acme", returnUrls: [RETURN] },
  });
  expect(created.statusCode, created.body).toBe(201);
  const policy = await t.call("PUT", "/v1/tenants/acme/policy", {
    key: t.adminKey,
    headers: { "if-match": '"1"' },
    body: { policy: { posture: "idp_or_platform" }, rationale: "Sign-in at the IdP" },
  });
  expect(policy.statusCode, policy.body).toBe(200);
  const idp = new TestIdp({ entityId: "https://idp.acme.example/saml" });
  const saml = await t.call("PUT", "/v1/tenants/acme/idps/corp", {
    key: t.adminKey,
    body: { protocol: "saml", saml: { metadataXml: idp.metadataXml(), allowUnsolicited: true } },
  });
  expect(saml.statusCode, saml.body).toBe(201);
  // Registered, never contacted: a callback is refused before any request to the IdP.
  const oidc = await t.call("PUT", "/v1/tenants/acme/idps/oidc", {
    key: t.adminKey,
    body: {
      protocol: "oidc",
      oidc: { issuer: "https://oidc.acme.example", clientId: "tenant-mfa", clientSecret: "s" },
    },
  });
  expect(oidc.statusCode, oidc.body).toBe(201);
  const service = await t.key(["platform_service"], ["acme"]);
  const started = await t.call("POST", "/v1/tenants/acme/flows", {
    key: service,
    body: { principal: { id: "alice", population: "direct" }, return_to: RETURN },
  });
  expect(started.statusCode, started.body).toBe(201);
  const answer = started.json<{ flow: string; url: string }>();
  flow = answer.flow;
  opening = openingOf(answer);
});
afterAll(() => t.close());

/** No answer may take longer: a hang fails the test instead of stalling it. */
const ANSWER_WITHIN_MS = 2_000;
/** A sweep sends hundreds of requests; each has its own deadline above. */
const SWEEP_TIMEOUT_MS = 60_000;

interface Probe {
  readonly method: Method;
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly payload?: string | Buffer;
}

async function send(probe: Probe): Promise<LightMyRequestResponse> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`no answer within ${String(ANSWER_WITHIN_MS)} ms: ${label(probe)}`));
    }, ANSWER_WITHIN_MS);
  });
  try {
    return await Promise.race([
      t.server.inject({
        method: probe.method,
        url: probe.url,
        headers: { ...probe.headers },
        ...(probe.payload === undefined ? {} : { payload: probe.payload }),
      }),
      hung,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function label(probe: Probe): string {
  const headers = JSON.stringify(probe.headers ?? {});
  const { payload: body } = probe;
  const start = Buffer.isBuffer(body)
    ? body.subarray(0, 80).toString("latin1")
    : body?.slice(0, 80);
  const payload = body === undefined ? "" : ` body(${String(body.length)}): ${start ?? ""}`;
  return `${probe.method} ${probe.url.slice(0, 160)} ${headers.slice(0, 200)}${payload}`;
}

/** What each route's handler answered to the sweep, as `status code` (`status` when uncoded). */
const answers = new Map<string, Set<string>>();

function noteAnswer(pattern: string, probe: Probe, response: LightMyRequestResponse): void {
  const type = String(response.headers["content-type"] ?? "");
  const code =
    probe.method === "HEAD"
      ? undefined
      : type.startsWith("application/problem+json")
        ? response.json<{ code?: string }>().code
        : type.startsWith("text/html")
          ? REFERENCE.exec(response.body)?.[1]
          : undefined;
  const seen = answers.get(pattern) ?? new Set<string>();
  seen.add(`${String(response.statusCode)}${code === undefined ? "" : ` ${code}`}`);
  answers.set(pattern, seen);
}

/** A stack frame, a source or module path, or a file URL: nothing a refusal may show. */
const LEAK =
  /(?:^|\s)at \S+ \(|\bat (?:file:|\/)|node_modules|file:\/\/|\/(?:work|tmp|home|root|usr|src|dist)\/|\.[cm]?[jt]s:\d+/;
/** The markup the probes try to inject through paths, queries and bodies. */
const INJECTED = /<tmfa-probe/i;
const REFERENCE = /<code>([a-z][a-z_]*(?:\.[a-z_]+)*)<\/code>/;
const asksJson = (headers: Readonly<Record<string, string>> = {}) =>
  /application\/(problem\+)?json/.test(headers["accept"] ?? "") &&
  !(headers["accept"] ?? "").includes("text/html");

/**
 * Sends `probe` to the route `pattern` and checks the answer: on time, below 500, nothing leaked
 * or injected, and a refusal the person or the script can act on. A probe with the route's real
 * path parameters and one of its methods reaches the handler, so it must answer in the route's
 * own way (a flow page never answers its browser with JSON); other probes may also meet the
 * router's refusals (404, 405), which are problem documents, or its refusal of a URL it cannot
 * read, answered as the route's own failures.
 */
async function expectAnswer(pattern: string, probe: Probe): Promise<LightMyRequestResponse> {
  const route = HIDDEN[pattern]!;
  const own =
    route.methods.includes(probe.method) &&
    probe.url.split("?")[0] === pathOf(pattern, route.params());
  const response = await send(probe);
  if (own) noteAnswer(pattern, probe, response);
  const what = `${label(probe)} → ${String(response.statusCode)} ${response.body.slice(0, 300)}`;
  expect(response.statusCode, what).toBeLessThan(500);
  const type = String(response.headers["content-type"] ?? "");
  const html = type.startsWith("text/html");
  // What the probe sent comes back escaped, if at all (a problem document is JSON: no markup).
  if (html) expect(response.body, what).not.toMatch(INJECTED);
  if (probe.method === "HEAD" || response.statusCode < 400) {
    // A static file may be any text; everything else is checked for leaks even when accepted.
    if (route.refuses !== "asset") expect(response.body, what).not.toMatch(LEAK);
    return response;
  }
  expect(response.body, what).not.toMatch(LEAK);
  if (own && route.refuses === "flow-page") expect(html, what).toBe(true);
  if (own && route.refuses === "flow-script") expect(html, what).toBe(false);
  if (type.startsWith("application/problem+json")) {
    const problem = response.json<{ status: number; code: string; type: string }>();
    expect(problem.code, what).toMatch(/^[a-z][a-z_]*(\.[a-z_]+)*$/);
    expect(problem.type, what).toBe(`urn:tenant-mfa:problem:${problem.code}`);
    expect(problem.status, what).toBe(response.statusCode);
    return response;
  }
  if (html) {
    expect(["federation", "flow-page"], what).toContain(route.refuses);
    // A client that asks a federation endpoint for JSON gets a problem document, never a page.
    if (route.refuses === "federation") expect(asksJson(probe.headers), what).toBe(false);
    const code = REFERENCE.exec(response.body)?.[1];
    expect(code, what).toBeDefined();
    if (route.refuses === "flow-page") {
      expect(FAILURE_STATUSES[code as keyof typeof FAILURE_STATUSES], what).toBe(
        response.statusCode,
      );
    }
    return response;
  }
  return expect.fail(`neither a problem document nor a page: ${what}`);
}

const pathOf = (pattern: string, params: Readonly<Record<string, string>>) =>
  pattern.replace(/:([A-Za-z]+)/g, (_, name: string) => params[name] ?? `missing-${name}`);

const MARKUP = "%22%3E%3Ctmfa-probe%20onclick%3Dalert(1)%3E";

/** Path parameter values, as they appear in the URL. */
const GARBAGE_SEGMENTS = [
  "%00",
  "a%00b",
  "x".repeat(199),
  "x".repeat(201),
  "x".repeat(5000),
  "%2F",
  "..%2F..%2Fetc%2Fpasswd",
  "%2e%2e",
  "%E2%98%83",
  "%F0%9F%92%A9",
  "%C3%A9t%C3%A9",
  "%ED%A0%80",
  "%C0%AF",
  "%E0%A4%A",
  "%25",
  "%20",
  "__proto__",
  "constructor",
  MARKUP,
];

const LONG = "x".repeat(20_000);
const GARBAGE_QUERIES = [
  "bogus=%00",
  "%00=%00",
  "%E0%A4%A=1",
  "return_to=%00",
  `return_to=${encodeURIComponent(RETURN)}&principal=%00`,
  `return_to=${encodeURIComponent(RETURN)}&force=maybe`,
  `return_to=${encodeURIComponent(RETURN)}&principal=${LONG}`,
  "return_to=javascript%3Aalert(1)",
  `return_to=${LONG}`,
  "return_to[]=x",
  "return_to=a&return_to=b",
  `notice=${MARKUP}`,
  `return_to=${encodeURIComponent(RETURN)}&${MARKUP}=1`,
  "notice=idp.rejected&notice=idp.rejected",
  "state=fed_unknown&code=abc&iss=https%3A%2F%2Fevil.example",
  `state=${MARKUP}&error=access_denied&error_description=${MARKUP}`,
  "state=&code=",
  "state[]=x&code[a]=b",
  `state=${LONG}`,
  "answer=x",
  `answer=${"A".repeat(32)}`,
  `answer=${MARKUP}`,
  `answer=${LONG}`,
  "answer=a&answer=b",
  "open=%00",
  `open=${"A".repeat(32)}`,
  `open=${MARKUP}`,
  `open=${LONG}`,
  "open[]=x",
  "__proto__[admin]=1&constructor[prototype][admin]=1",
  `${"a=1&".repeat(2000)}b=2`,
];

const FORM = "application/x-www-form-urlencoded";
const JSON_TYPE = "application/json";

/**
 * A form in a charset other than UTF-8 is read as UTF-8 by the form parser: it is refused, as
 * the route refuses (src/http/body-charset.ts), whatever fields it holds.
 */
const NOT_UTF8_FORM: Partial<Record<Refusal, string>> = {
  federation: "415 request.unsupported_media_type",
  "flow-page": "400 flow.bad_request",
};

/**
 * Bodies for the routes that take one: malformed, oversized, of the wrong type. `refused` is the
 * answer (`status code`) a route that refuses this way must give it.
 */
const GARBAGE_BODIES: readonly {
  type?: string;
  payload: string | Buffer;
  refused?: Partial<Record<Refusal, string>>;
}[] = [
  { type: FORM, payload: "" },
  { type: FORM, payload: "%%%" },
  { type: FORM, payload: "%E0%A4%A=%E0%A4%A" },
  { type: FORM, payload: "SAMLResponse=%00" },
  { type: FORM, payload: "SAMLResponse=a&SAMLResponse=b" },
  { type: FORM, payload: `SAMLResponse=PHgvPg%3D%3D&RelayState=${MARKUP}` },
  { type: FORM, payload: `SAMLResponse=${"A".repeat(2000)}&RelayState=${LONG}` },
  { type: FORM, payload: "SAMLResponse=x&extra=1" },
  { type: FORM, payload: "action=verify_totp&csrf=x&authenticator=a&code=123456" },
  { type: FORM, payload: `action=continue&csrf=${LONG}` },
  { type: FORM, payload: "action=verify_webauthn&csrf=x&ceremony=c&response=%7B%22" },
  { type: FORM, payload: "action=bogus" },
  { type: FORM, payload: "action[]=continue&csrf=x" },
  { type: FORM, payload: "__proto__[admin]=1&constructor[prototype][x]=1" },
  { type: `${FORM}; charset=utf-16`, payload: "SAMLResponse=x", refused: NOT_UTF8_FORM },
  {
    type: `${FORM}; charset=windows-1252`,
    payload: "SAMLResponse=PHgvPg%3D%3D&action=continue&csrf=x",
    refused: NOT_UTF8_FORM,
  },
  {
    type: `${FORM};charset="UTF-16LE"`,
    payload: Buffer.from("SAMLResponse=x&action=continue&csrf=x", "utf16le"),
    refused: NOT_UTF8_FORM,
  },
  { type: FORM, payload: `SAMLResponse=${"A".repeat(1536 * 1024)}` },
  { type: JSON_TYPE, payload: '{"' },
  { type: JSON_TYPE, payload: "[]" },
  { type: JSON_TYPE, payload: "null" },
  { type: JSON_TYPE, payload: "1e999" },
  { type: JSON_TYPE, payload: '"\\u0000"' },
  { type: JSON_TYPE, payload: '{"__proto__":{"admin":true}}' },
  { type: JSON_TYPE, payload: '{"constructor":{"prototype":{}}}' },
  { type: JSON_TYPE, payload: '{"purpose":"everything"}' },
  { type: JSON_TYPE, payload: '{"purpose":"registration","extra":1}' },
  { type: JSON_TYPE, payload: '{"SAMLResponse":"PHgvPg==","RelayState":"https://evil.example/"}' },
  { type: JSON_TYPE, payload: JSON.stringify({ SAMLResponse: LONG.repeat(10) }) },
  { type: "text/plain", payload: "hello" },
  { type: "application/xml", payload: "<samlp:Response/>" },
  { type: "multipart/form-data; boundary=x", payload: "--x\r\nContent-Disposition: form-data" },
  { type: "garbage", payload: "x" },
  { payload: "SAMLResponse=x" },
  { type: FORM, payload: Buffer.from([0xff, 0xfe, 0x00, 0x3d, 0xc3]) },
];

/** Header sets each probe goes out with: a browser, a script asking for JSON, odd headers. */
const CLIENTS: readonly Readonly<Record<string, string>>[] = [
  {},
  { accept: "text/html" },
  { accept: "application/json", "x-csrf-token": "not-the-flow-token" },
  {
    accept: "application/problem+json",
    "x-csrf-token": "x",
    origin: "https://evil.example",
    "accept-language": `${"x".repeat(500)};q=abc, *;q=-1`,
    cookie: `tmfa_browser=${"%00".repeat(20)}; __Host-tmfa_browser=%ZZ`,
  },
];

describe("routes hidden from the OpenAPI document", () => {
  it("are each covered by this sweep (a new hidden route must be added to it)", async () => {
    const document = (await t.call("GET", "/openapi.json")).json<{
      paths: Record<string, unknown>;
    }>();
    const documented = new Set(
      Object.keys(document.paths).map((path) => path.replace(/\{([^}]+)\}/g, ":$1")),
    );
    const hidden = Object.fromEntries(
      [...registered]
        .filter(([url]) => !documented.has(url))
        .map(([url, methods]) => [url, [...methods].sort()]),
    );
    const covered = Object.fromEntries(
      Object.entries(HIDDEN).map(([url, route]) => [url, [...route.methods].sort()]),
    );
    expect(hidden).toEqual(covered);
  });
});

describe.each(Object.entries(HIDDEN))("%s", (pattern, route) => {
  /** The route's URL with `params`: its own query first (if it has one), then `query`. */
  const urlOf = (params = route.params(), query?: string) => {
    const search = [route.query?.(), query].filter((q) => q !== undefined).join("&");
    return search === "" ? pathOf(pattern, params) : `${pathOf(pattern, params)}?${search}`;
  };
  const bodyFor = (method: Method) =>
    method === "POST" || method === "PUT" || method === "PATCH"
      ? { headers: { "content-type": FORM }, payload: "SAMLResponse=x" }
      : {};

  it(
    "answers every other method with 405 method.not_allowed naming the allowed ones",
    async () => {
      for (const method of METHODS.filter((m) => !route.methods.includes(m))) {
        for (const headers of CLIENTS) {
          const extra = bodyFor(method);
          const response = await expectAnswer(pattern, {
            method,
            url: urlOf(),
            headers: { ...headers, ...extra.headers },
            ...(extra.payload === undefined ? {} : { payload: extra.payload }),
          });
          expect(response.statusCode, `${method} ${pattern}`).toBe(405);
          expect(response.headers.allow, `${method} ${pattern}`).toBe(
            [...route.methods].sort().join(", "),
          );
        }
      }
    },
    SWEEP_TIMEOUT_MS,
  );

  it(
    "answers garbage path parameters below 500, with a coded refusal",
    async () => {
      const names = Object.keys(route.params());
      for (const name of names) {
        for (const segment of GARBAGE_SEGMENTS) {
          const url = urlOf({ ...route.params(), [name]: segment });
          for (const method of route.methods) {
            for (const headers of CLIENTS) {
              const extra = bodyFor(method);
              await expectAnswer(pattern, {
                method,
                url,
                headers: { ...headers, ...extra.headers },
                ...(extra.payload === undefined ? {} : { payload: extra.payload }),
              });
            }
          }
        }
      }
    },
    SWEEP_TIMEOUT_MS,
  );

  it(
    "answers garbage query strings below 500, with a coded refusal",
    async () => {
      for (const query of GARBAGE_QUERIES) {
        for (const method of route.methods) {
          for (const headers of CLIENTS) {
            const extra = bodyFor(method);
            await expectAnswer(pattern, {
              method,
              url: urlOf(route.params(), query),
              headers: { ...headers, ...extra.headers },
              ...(extra.payload === undefined ? {} : { payload: extra.payload }),
            });
          }
        }
      }
    },
    SWEEP_TIMEOUT_MS,
  );

  it(
    "answers malformed, oversized and mistyped bodies below 500, with a coded refusal",
    async () => {
      const methods = METHODS.filter((m) => m !== "GET" && m !== "HEAD" && m !== "OPTIONS");
      for (const method of methods) {
        for (const body of GARBAGE_BODIES) {
          for (const headers of CLIENTS) {
            const response = await expectAnswer(pattern, {
              method,
              url: urlOf(),
              headers: {
                ...headers,
                ...(body.type === undefined ? {} : { "content-type": body.type }),
              },
              payload: body.payload,
            });
            // Nothing garbage is accepted as a sign-in, a flow step or a ceremony.
            if (route.methods.includes(method)) {
              const what = label({ method, url: urlOf(), payload: body.payload });
              expect(response.statusCode, what).toBeGreaterThanOrEqual(400);
              // A post from another site is refused before its body is looked at (flow.csrf).
              const refused = body.refused?.[route.refuses];
              if (refused !== undefined && headers["origin"] === undefined) {
                const type = String(response.headers["content-type"] ?? "");
                const code = type.startsWith("application/problem+json")
                  ? response.json<{ code?: string }>().code
                  : REFERENCE.exec(response.body)?.[1];
                expect(`${String(response.statusCode)} ${String(code)}`, what).toBe(refused);
              }
            }
          }
        }
      }
    },
    SWEEP_TIMEOUT_MS,
  );

  it("was answered by the route's own checks, not only by the router", () => {
    expect([...(answers.get(pattern) ?? [])]).toEqual(expect.arrayContaining([...route.reaches]));
  });
});
