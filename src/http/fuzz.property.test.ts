/**
 * DESIGN invariant 8, by property: bad input gets a clear 4xx problem with a stable code, never
 * a 500, never a hang. bad-input.test.ts throws fixed garbage at every route; fixed garbage
 * misses what is almost right. Here each request starts from a value the route's own schema in
 * `/openapi.json` describes (or, for the browser routes the document hides, from what a browser
 * or an IdP sends), with real ids of a world with data in it mixed with generated ones, and then
 * one or two mutations make it near-valid: one field at the edge of what the store holds or
 * just past it, a lone surrogate or NUL deep in an array, `2026-02-30T…`, 1e308, -0, 2**53+1,
 * an id of 10,000 characters, a key named `__proto__`, an `If-Match` of `"-1"`, a path segment
 * of `%2F` or `..`, a query parameter given twice, a content type with a strange charset.
 *
 * Every answer must come within a few seconds and below 500; a refusal from the JSON API must be
 * a problem document whose code docs/errors.md lists and whose status is that code's status in
 * src/http/error-statuses.ts. Afterwards the audit chains still verify and the server still
 * answers. The seed is fixed (fast-check prints it, and the shrunk request, on failure):
 * `FUZZ_RUNS=20000 FUZZ_SEED=… npx vitest run src/http/fuzz.property.test.ts` runs a larger
 * campaign locally.
 */
import { readFileSync } from "node:fs";
import fc from "fast-check";
import type { LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FAILURE_STATUSES } from "../pages/render-flow-screen.js";
import { oathtoolCode } from "../verifiers/totp/test-support/oathtool.js";
import { TestIdp } from "../verifiers/saml/test-support/test-idp.js";
import { cookieOf } from "./test-support/browser-cookie.js";
import { ERROR_STATUSES, HTTP_PROBLEMS } from "./error-statuses.js";
import { openTestServer, type TestServer } from "./test-support/open-test-server.js";

/** Requests per property; small in CI, large in a local campaign. */
const RUNS = Number(process.env["FUZZ_RUNS"] ?? "600");
const SEED = Number(process.env["FUZZ_SEED"] ?? "20261207");
/** No answer may take longer: a hang fails the property instead of stalling it. */
const ANSWER_WITHIN_MS = 5_000;
/** Each property's time: 600 requests take 5-10 s here (idle or loaded); a campaign gets room. */
const PROPERTY_TIMEOUT_MS = 20_000 + RUNS * 40;

// ---------------------------------------------------------------------------------------------
// The JSON Schema subset the document uses for request bodies and parameters.

interface Schema {
  readonly type?: string | readonly string[];
  readonly enum?: readonly unknown[];
  readonly properties?: Readonly<Record<string, Schema>>;
  readonly required?: readonly string[];
  readonly additionalProperties?: boolean | Schema;
  readonly propertyNames?: Schema;
  readonly items?: Schema;
  readonly minItems?: number;
  readonly maxItems?: number;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly pattern?: string;
  readonly format?: string;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly anyOf?: readonly Schema[];
  readonly oneOf?: readonly Schema[];
  readonly allOf?: readonly Schema[];
}

interface Parameter {
  readonly in: "path" | "query" | "header";
  readonly name: string;
  readonly required?: boolean;
  readonly schema: Schema;
}

interface Operation {
  readonly method: "GET" | "POST" | "PUT" | "DELETE";
  readonly path: string;
  readonly parameters: readonly Parameter[];
  readonly body: Schema | undefined;
}

// ---------------------------------------------------------------------------------------------
// The world: real records for ids to hit.

const RETURN = "https://app.acme.example/signed-in";
const FORM = "application/x-www-form-urlencoded";
let t: TestServer;
let operations: Operation[] = [];
/** Real values by the name of the parameter or field that takes them. */
const REAL: Record<string, string[]> = {
  tenant: ["acme", "initech"],
  principal: ["alice", "bob", "Zoë 山田"],
  idp: ["corp", "oidc"],
  // A decision's or a flow's `principal.id` too.
  id: ["alice", "bob"],
  "mandates.id": ["uplift"],
  "exemptions.id": [],
  "authenticators.id": [],
  "api-keys.id": [],
  "decisions.id": [],
  registration: [],
  authentication: [],
};
/** Keys by role: most requests go with the platform administrator's, some with others'. */
const KEYS: string[] = [];
/** Signed SAML answers for `corp` (unsolicited), base64, as an IdP posts them. */
const SAML_ANSWERS: string[] = [];
/** A started SAML sign-in: its RelayState and the starting browser's cookie. */
const SAML_STARTS: { relayState: string; cookie: string }[] = [];
/** The hosted flow and the browser bound to it. */
const FLOW = { id: "", cookie: "", csrf: "", totp: "", secret: "" };
/** Codes docs/errors.md lists, with their status. */
const DOCUMENTED = new Map<string, number>();
/** The status src/http/error-statuses.ts gives each code. */
const STATUSES = new Map<string, number>([
  ...Object.entries(ERROR_STATUSES),
  ...Object.entries(HTTP_PROBLEMS).map(([code, { status }]) => [code, status] as const),
]);
/** Every route the server registered, by URL pattern. */
const registered = new Map<string, Set<string>>();

/** The response, when the set-up step succeeded (`status`: 2xx, or a redirect). */
async function must(
  response: Promise<LightMyRequestResponse>,
  status: number,
): Promise<LightMyRequestResponse> {
  const answered = await response;
  const fine = status === 303 ? answered.statusCode === 303 : answered.statusCode < 300;
  if (!fine) {
    throw new Error(`set-up: ${String(answered.statusCode)} ${answered.body}`);
  }
  return answered;
}

beforeAll(async () => {
  const doc = readFileSync(new URL("../../docs/errors.md", import.meta.url), "utf8");
  for (const [, code, status] of doc.matchAll(/^\| `([a-z_.]+)` +\| (\d{3}) +\|/gm)) {
    DOCUMENTED.set(String(code), Number(status));
  }

  t = await openTestServer({ bodyLimitBytes: 64 * 1024 });
  t.server.addHook("onRoute", (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const known = registered.get(route.url) ?? new Set<string>();
    for (const method of methods) known.add(String(method));
    registered.set(route.url, known);
  });
  await t.server.ready();
  const admin = t.adminKey;
  const call = (
    method: "GET" | "POST" | "PUT",
    url: string,
    body?: unknown,
    headers?: Record<string, string>,
  ) =>
    t.call(method, url, {
      key: admin,
      ...(body === undefined ? {} : { body }),
      ...(headers === undefined ? {} : { headers }),
    });

  await must(call("POST", "/v1/tenants", { id: "acme", name: "Acme", returnUrls: [RETURN] }), 201);
  await must(call("POST", "/v1/tenants", { id: "initech", name: "Initech" }), 201);
  await must(
    call(
      "PUT",
      "/v1/tenants/acme/policy",
      { policy: { posture: "idp_or_platform" }, rationale: "IdP or platform MFA" },
      { "if-match": '"1"' },
    ),
    200,
  );
  for (const principal of ["alice", "bob", "Zoë 山田"]) {
    await must(
      call("PUT", `/v1/tenants/acme/principals/${encodeURIComponent(principal)}`, {
        population: "direct",
        displayName: `${principal}@acme.example`,
      }),
      201,
    );
  }
  const service = await t.key(["platform_service"], ["acme"]);
  const tenantAdmin = await t.key(["tenant_admin"], ["acme"]);
  const approver = await t.key(["exemption_approver"], ["acme"]);
  const auditor = await t.key(["tenant_auditor"], ["acme"]);
  KEYS.push(admin, admin, admin, service, tenantAdmin, auditor);

  // Alice has TOTP enrolled and confirmed; bob has recovery codes.
  const base = "/v1/tenants/acme/principals/alice/authenticators";
  const begun = await must(
    t.call("POST", `${base}/totp`, { key: service, body: { name: "phone" } }),
    201,
  );
  const enrolled = begun.json<{ authenticator: { id: string }; secret: string }>();
  FLOW.totp = enrolled.authenticator.id;
  FLOW.secret = enrolled.secret;
  await must(
    t.call("POST", `${base}/${FLOW.totp}/confirm`, {
      key: service,
      body: { code: oathtoolCode(FLOW.secret, t.clock.now()) },
    }),
    200,
  );
  // A verification a decision's evidence can name.
  t.clock.advance(30);
  const verified = await must(
    t.call("POST", `${base}/${FLOW.totp}/verify`, {
      key: service,
      body: { code: oathtoolCode(FLOW.secret, t.clock.now()) },
    }),
    200,
  );
  REAL["verification"] = [verified.json<{ event: { verification: string } }>().event.verification];
  await must(
    t.call("POST", "/v1/tenants/acme/principals/bob/authenticators/recovery-codes", {
      key: service,
      body: {},
    }),
    201,
  );
  REAL["authenticators.id"]!.push(FLOW.totp);

  // Exemptions: one requested, one approved.
  const now = t.clock.now().getTime();
  for (const principal of ["bob", "Zoë 山田"]) {
    const requested = await must(
      t.call("POST", "/v1/tenants/acme/exemptions", {
        key: tenantAdmin,
        body: {
          principal,
          category: "temporary_access",
          justification: "Lost phone",
          owner: "it",
          expiresAt: new Date(now + 86_400_000).toISOString(),
          reviewAt: new Date(now + 3_600_000).toISOString(),
        },
      }),
      201,
    );
    REAL["exemptions.id"]!.push(requested.json<{ id: string }>().id);
  }
  await must(
    t.call("POST", `/v1/tenants/acme/exemptions/${REAL["exemptions.id"]!.at(-1)!}/approve`, {
      key: approver,
    }),
    200,
  );

  // IdPs: SAML (unsolicited answers allowed) and OIDC (registered, never contacted).
  const idp = new TestIdp({ entityId: "https://idp.acme.example/saml" });
  await must(
    call("PUT", "/v1/tenants/acme/idps/corp", {
      protocol: "saml",
      saml: { metadataXml: idp.metadataXml(), allowUnsolicited: true },
    }),
    201,
  );
  await must(
    call("PUT", "/v1/tenants/acme/idps/oidc", {
      protocol: "oidc",
      oidc: { issuer: "https://oidc.acme.example", clientId: "tenant-mfa", clientSecret: "s" },
    }),
    201,
  );
  const metadata = (await must(call("GET", "/t/acme/idps/corp/saml/metadata"), 200)).body;
  const sp = {
    entityId: "https://mfa.test/t/acme/idps/corp/saml/metadata",
    acsUrl: "https://mfa.test/t/acme/idps/corp/saml/acs",
  };
  for (const nameId of ["alice@acme.example", "bob@acme.example", "zoë@acme.example"]) {
    const xml = await idp.login(sp, metadata, undefined, { issuedAt: t.clock.now(), nameId });
    SAML_ANSWERS.push(xml);
  }
  for (const principal of ["alice", "bob"]) {
    const started = await must(
      t.call(
        "GET",
        `/t/acme/idps/corp/start?return_to=${encodeURIComponent(RETURN)}&principal=${principal}`,
      ),
      303,
    );
    const location = new URL(String(started.headers.location));
    SAML_STARTS.push({
      relayState: location.searchParams.get("RelayState") ?? "",
      cookie: cookieOf(started),
    });
  }

  // The first WebAuthn ceremony starts cold (about 0.8 s on an idle machine, past 3 s on a
  // loaded one): started once here, so that a request's deadline measures the request.
  await must(
    t.call(
      "POST",
      `/v1/tenants/acme/principals/${encodeURIComponent("Zoë 山田")}/authenticators/webauthn/registrations`,
      {
        key: service,
        body: {},
      },
    ),
    201,
  );

  // A platform mandate, an API key (not the administrator's) and a decision.
  await must(
    call("POST", "/v1/platform/mandates", {
      id: "uplift",
      mandate: { exemptible: true, scope: { tenants: ["acme"] }, require: { minAal: 2 } },
      rationale: "Phishing campaign",
    }),
    201,
  );
  const key = await must(
    call("POST", "/v1/api-keys", { name: "spare", roles: ["tenant_auditor"], tenants: ["acme"] }),
    201,
  );
  REAL["api-keys.id"]!.push(key.json<{ key: { id: string } }>().key.id);
  const decided = await must(
    t.call("POST", "/v1/tenants/acme/decisions", {
      key: service,
      body: {
        principal: { id: "alice" },
        risk: "low",
        evidence: { events: [{ method: "password", source: "platform", at: new Date(now) }] },
      },
    }),
    201,
  );
  REAL["decisions.id"]!.push(decided.json<{ id: string }>().id);
  REAL["id"]!.push(
    ...Object.entries(REAL)
      .filter(([k]) => k.endsWith(".id"))
      .flatMap(([, v]) => v),
  );

  // A hosted flow for alice, bound to a browser whose cookie and CSRF token we keep.
  const flow = await must(
    t.call("POST", "/v1/tenants/acme/flows", {
      key: service,
      body: { principal: { id: "alice", population: "direct" }, return_to: RETURN },
    }),
    201,
  );
  FLOW.id = flow.json<{ flow: string }>().flow;
  const page = await t.call("GET", `/t/acme/flows/${FLOW.id}`);
  FLOW.cookie = cookieOf(page);
  FLOW.csrf = /name="csrf" value="([^"]+)"/.exec(page.body)?.[1] ?? "";

  const document = (await must(call("GET", "/openapi.json"), 200)).json<{
    paths: Record<string, Record<string, { parameters?: Parameter[]; requestBody?: unknown }>>;
  }>();
  operations = Object.entries(document.paths).flatMap(([path, byMethod]) =>
    Object.entries(byMethod).map(([method, operation]) => {
      const body = (
        operation.requestBody as
          { content?: { "application/json"?: { schema?: Schema } } } | undefined
      )?.content?.["application/json"]?.schema;
      return {
        method: method.toUpperCase() as Operation["method"],
        path,
        parameters: operation.parameters ?? [],
        body,
      };
    }),
  );
}, 60_000);
afterAll(() => t.close());

// ---------------------------------------------------------------------------------------------
// Valid-shaped values from a schema.

const NOW = Date.parse("2026-11-23T12:00:00.000Z");
const GENERIC_PATTERNS = new Set(["^[^\\0]*$", "^[^\\p{Cc}\\p{Cf}\\p{Zl}\\p{Zp}]*$"]);

const dateTime = fc
  .oneof(
    fc.integer({ min: -3 * 86_400, max: 400 * 86_400 }).map((s) => new Date(NOW + s * 1000)),
    fc.date({ min: new Date("1970-01-01"), max: new Date("2100-01-01"), noInvalidDate: true }),
  )
  .map((date) => date.toISOString());

/** Date-times a schema's `date-time` allows, at the edges of what a time can be. */
const edgeDateTime = fc.constantFrom(
  "0000-01-01T00:00:00.000Z",
  "0001-01-01T00:00:00Z",
  "1969-12-31T23:59:59.999Z",
  "9999-12-31T23:59:59.999Z",
  "9999-12-31T23:59:59+00:00",
  "2026-11-23T12:00:00+14:00",
  "2026-11-23T12:00:00-12:00",
  "2026-11-23T12:00:00.999999999Z",
  "2026-11-23T12:00:00z",
  "2026-11-23T11:59:59.999Z",
  "2026-11-23T12:00:00.001Z",
  "2026-12-31T23:59:60Z",
  "2028-02-29T00:00:00Z",
);

/** A generated id-like text, or one of the world's. */
function idOr(name: string, generated: fc.Arbitrary<string>): fc.Arbitrary<string> {
  const real = REAL[name];
  if (real === undefined || real.length === 0) return generated;
  return fc.oneof(
    { arbitrary: fc.constantFrom(...real), weight: 3 },
    { arbitrary: generated, weight: 1 },
  );
}

function valid(schema: Schema, name = ""): fc.Arbitrary<unknown> {
  const { anyOf, oneOf, allOf, ...rest } = schema;
  const choices = anyOf ?? oneOf;
  if (choices !== undefined) return fc.oneof(...choices.map((s) => valid({ ...rest, ...s }, name)));
  if (allOf !== undefined) {
    const pattern = allOf
      .map((s) => s.pattern)
      .find((p) => p !== undefined && !GENERIC_PATTERNS.has(p));
    return valid({ ...rest, ...(pattern === undefined ? {} : { pattern }) }, name);
  }
  if (schema.enum !== undefined) return fc.constantFrom(...schema.enum);
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case "string": {
      if (schema.format === "date-time") {
        return fc.oneof({ arbitrary: dateTime, weight: 4 }, { arbitrary: edgeDateTime, weight: 1 });
      }
      const min = schema.minLength ?? 0;
      const max = schema.maxLength ?? 64;
      if (schema.pattern !== undefined && !GENERIC_PATTERNS.has(schema.pattern)) {
        return idOr(
          name,
          fc
            .stringMatching(new RegExp(schema.pattern, "u"))
            .filter((s) => s.length >= min && s.length <= max),
        );
      }
      return idOr(
        name,
        fc.oneof(
          {
            arbitrary: fc.string({ minLength: min, maxLength: Math.min(max, min + 24) }),
            weight: 4,
          },
          {
            // Any code point, lone surrogates and controls among them.
            arbitrary: fc.string({
              unit: "binary",
              minLength: min,
              maxLength: Math.min(max, min + 12),
            }),
            weight: 1,
          },
          {
            arbitrary: fc.constantFrom(
              "x".repeat(max),
              "é".repeat(max),
              "山".repeat(Math.max(min, max - 1)),
            ),
            weight: 1,
          },
        ),
      );
    }
    case "integer": {
      const min = Math.max(schema.minimum ?? -1e6, Number.MIN_SAFE_INTEGER);
      const max = Math.min(schema.maximum ?? 1e6, Number.MAX_SAFE_INTEGER);
      return fc.oneof(
        { arbitrary: fc.integer({ min, max: Math.min(max, min + 1000) }), weight: 4 },
        { arbitrary: fc.constantFrom(min, max), weight: 1 },
      );
    }
    case "number":
      return fc.double({
        min: schema.minimum ?? -1e6,
        max: schema.maximum ?? 1e6,
        noNaN: true,
        noDefaultInfinity: true,
      });
    case "boolean":
      return fc.boolean();
    case "null":
      return fc.constant(null);
    case "array": {
      const item = valid(schema.items ?? {}, name);
      const minLength = schema.minItems ?? 0;
      return fc.array(item, {
        minLength,
        maxLength: Math.min(schema.maxItems ?? 3, Math.max(minLength, 3)),
      });
    }
    case "object": {
      const properties = schema.properties ?? {};
      if (Object.keys(properties).length === 0) {
        return fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), {
          maxKeys: 4,
        });
      }
      const model = Object.fromEntries(
        Object.entries(properties).map(([key, s]) => [key, valid(s, key)]),
      );
      return fc.record(model, { requiredKeys: [...(schema.required ?? [])] });
    }
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

// ---------------------------------------------------------------------------------------------
// Mutations.

/** A number written into the JSON text as it is (JSON.stringify cannot write these). */
const RAW = "\u0001raw:";
const raw = (text: string) => `${RAW}${text}\u0001`;

const NASTY_STRINGS = [
  "",
  " ",
  "\u0000",
  "a\u0000b",
  "\ud800",
  "x\udc00y",
  "\udbff\udfff",
  "\u202e",
  "\u2028",
  "\ufeff",
  "\u0085",
  "e\u0301",
  "x".repeat(201),
  "x".repeat(2001),
  "x".repeat(10_000),
  "💩".repeat(101),
  "%2F",
  "../..",
  "__proto__",
  "constructor",
  "toString",
  "hasOwnProperty",
  "2026-02-30T00:00:00Z",
  "2026-12-31T23:59:60Z",
  "2026-11-23T24:00:00Z",
  "0000-01-01T00:00:00Z",
  "9999-12-31T23:59:59.999Z",
  "+275760-09-13T00:00:00.000Z",
  "-000001-01-01T00:00:00Z",
  "2026-11-23T12:00:00+14:00",
  "2026-11-23T12:00:00-23:59",
  "2026-11-23T12:00:00.123456789Z",
  "2026-11-23t12:00:00z",
  "2026-11-23 12:00:00Z",
  "2026-11-23",
  "1e308",
  "NaN",
  "-0",
  "true",
  "null",
  "all",
  "<script>alert(1)</script>",
  '"-1"',
  "9".repeat(400),
  "https://app.acme.example@evil.example/",
  "javascript:alert(1)",
];

const NASTY_VALUES: readonly unknown[] = [
  ...NASTY_STRINGS,
  raw("1e308"),
  raw("-1e308"),
  raw("1e999"),
  raw("-0"),
  raw("-0.0"),
  raw("9007199254740993"),
  raw("123456789012345678901234567890"),
  raw("1e-400"),
  raw("1.0"),
  raw("1E2"),
  0,
  -1,
  0.5,
  2 ** 31,
  2 ** 53 - 1,
  -(2 ** 53) + 1,
  315_360_001,
  1e21,
  null,
  true,
  false,
  [],
  {},
  [[[[[]]]]],
  ["a", ["b", ["\u0000"]]],
  ["ok", "\ud800"],
  { __proto__: null, toString: "x" },
  Array.from({ length: 1001 }, (_, i) => String(i)),
];

type Path = readonly (string | number)[];

/** Every place in `value` a mutation can reach, the value itself first. */
function pathsOf(value: unknown, path: Path = []): Path[] {
  const found: Path[] = [path];
  if (Array.isArray(value)) {
    value.forEach((item, index) => found.push(...pathsOf(item, [...path, index])));
  } else if (typeof value === "object" && value !== null) {
    for (const [key, item] of Object.entries(value)) found.push(...pathsOf(item, [...path, key]));
  }
  return found;
}

function clone(value: unknown): unknown {
  return value === undefined ? undefined : (JSON.parse(JSON.stringify(value)) as unknown);
}

/** `value` with what is at `path` replaced by `replace(old)` (`undefined`: removed). */
function edit(value: unknown, path: Path, replace: (old: unknown) => unknown): unknown {
  if (path.length === 0) return replace(value);
  const copy = clone(value) as Record<string | number, unknown>;
  let parent = copy;
  for (const step of path.slice(0, -1)) parent = parent[step] as Record<string | number, unknown>;
  const last = path.at(-1)!;
  const next = replace(parent[last]);
  if (next === undefined) {
    if (Array.isArray(parent)) parent.splice(Number(last), 1);
    else Reflect.deleteProperty(parent, last);
  } else if (typeof last === "string" && (last === "__proto__" || last === "constructor")) {
    Object.defineProperty(parent, last, { value: next, enumerable: true, writable: true });
  } else {
    parent[last] = next;
  }
  return copy;
}

interface Request {
  method: string;
  /** The URL pattern, `{name}` for each path parameter (already encoded when raw). */
  path: string;
  params: Record<string, { value: string; raw?: boolean }>;
  query: [string, string][];
  headers: Record<string, string>;
  body?: unknown;
  /** A form body's fields, in order (a field may come twice). */
  form?: [string, string][];
  /** The body as sent, when a mutation wrote it itself. */
  payload?: string | Buffer;
}

type Mutation = (request: Request) => Request;

const SEGMENTS = [
  "%2F",
  "..",
  "%2e%2e",
  ".",
  "%00",
  "a%00b",
  "%ED%A0%80",
  "%E0%A4%A",
  "%C0%AF",
  "x".repeat(500),
  "x".repeat(10_000),
  "%E2%98%83",
  "%F0%9F%92%A9",
  "Zo%C3%AB%20%E5%B1%B1%E7%94%B0",
  "Zoe%CC%88",
  "__proto__",
  "constructor",
  "a%20b",
  "%25",
  "+",
  "%20",
  "~",
  "%5Cx",
  "%22-1%22",
];

const IF_MATCH = [
  '"-1"',
  '"0"',
  '"1"',
  '"2"',
  '"3"',
  '"9007199254740993"',
  '"1e3"',
  '" 1"',
  '"01"',
  '""',
  'W/"1"',
  "*",
  '"1", "2"',
  "1",
  `"${"9".repeat(400)}"`,
  "x".repeat(10_000),
  '"1',
];

const CONTENT_TYPES = [
  "application/json; charset=latin1",
  "application/json; charset=utf-16",
  'application/json;charset="UTF-8"',
  "application/json; charset=utf-8; charset=latin1",
  "application/json; charset=",
  "application/json; charset",
  "application/JSON",
  "Application/Json ; Charset=UTF-8",
  "application/merge-patch+json",
  "application/problem+json",
  "text/json",
  "application/json; boundary=x",
  "application/json, text/plain",
  "*/*",
  "",
  FORM,
  "text/plain; charset=utf-8",
];

const ACCEPTS = [
  "application/xml",
  "*/*",
  "text/html",
  "application/problem+json;q=0",
  "application/json;q=0, */*;q=0",
  "application/x-ndjson",
  "text/csv",
  "",
  "x".repeat(5000),
];

const AUTHORIZATIONS = [
  "Bearer x",
  "Bearer ",
  "Basic YWRtaW46YWRtaW4=",
  `Bearer ${"A".repeat(10_000)}`,
  "bearer",
  "Bearer tmfa_\u00ff",
];

/** A JSON body as text, with the numbers JSON.stringify cannot write put in by hand. */
function serialize(body: unknown): string {
  const escaped = JSON.stringify(RAW).slice(1, -1);
  const text = JSON.stringify(body) ?? "";
  return text.replace(
    new RegExp(`"${escaped.replace(/\\/g, "\\\\")}([^"]*?)\\\\u0001"`, "g"),
    (_, number: string) => number,
  );
}

const pick = <T>(list: readonly T[], index: number): T => list[index % list.length]!;

/** Mutations of a request of the JSON API. */
const apiMutation = (): fc.Arbitrary<Mutation> =>
  fc.oneof(
    // The body, at one place in it.
    fc
      .tuple(fc.nat(), fc.constantFrom(...NASTY_VALUES))
      .map(([at, nasty]) => (r: Request): Request => {
        const paths = pathsOf(r.body);
        return { ...r, body: edit(r.body ?? {}, pick(paths, at), () => clone(nasty)) };
      }),
    fc.nat().map((at) => (r: Request): Request => {
      const paths = pathsOf(r.body).filter((p) => p.length > 0);
      if (paths.length === 0) return r;
      return { ...r, body: edit(r.body, pick(paths, at), () => undefined) };
    }),
    fc
      .tuple(
        fc.nat(),
        fc.constantFrom(
          "__proto__",
          "constructor",
          "prototype",
          "x",
          "",
          "toString",
          "id",
          "tenant",
        ),
        fc.constantFrom(...NASTY_VALUES),
      )
      .map(([at, key, nasty]) => (r: Request): Request => {
        const objects = pathsOf(r.body).filter((p) => {
          const v = p.reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], r.body);
          return typeof v === "object" && v !== null && !Array.isArray(v);
        });
        if (objects.length === 0) return r;
        const path = [...pick(objects, at), key];
        return { ...r, body: edit(r.body, path, () => clone(nasty)) };
      }),
    fc
      .tuple(fc.nat(), fc.constantFrom("array", "string", "number", "many"))
      .map(([at, how]) => (r: Request): Request => {
        const paths = pathsOf(r.body);
        return {
          ...r,
          body: edit(r.body ?? {}, pick(paths, at), (old) =>
            how === "array"
              ? [old]
              : how === "string"
                ? JSON.stringify(old)
                : how === "number"
                  ? typeof old === "string"
                    ? Number(old)
                    : 1
                  : Array.from({ length: 300 }, () => clone(old)),
          ),
        };
      }),
    // The body's text.
    fc
      .tuple(
        fc.nat(),
        fc.constantFrom("truncate", "bom", "trail", "utf16", "dup", "dupAfter", "empty"),
      )
      .map(([at, how]) => (r: Request): Request => {
        const text = serialize(r.body ?? {});
        const key = Object.keys(r.body ?? {})[0] ?? "x";
        const payload =
          how === "truncate"
            ? text.slice(0, at % Math.max(text.length, 1))
            : how === "bom"
              ? `\ufeff${text}`
              : how === "trail"
                ? `${text} x`
                : how === "utf16"
                  ? Buffer.from(text, "utf16le")
                  : how === "dup"
                    ? text.replace(/^\{/, `{${JSON.stringify(key)}:"\\ud800",`)
                    : how === "dupAfter"
                      ? text.replace(/\}$/, `,${JSON.stringify(key)}:null}`)
                      : "";
        return { ...r, payload };
      }),
    // A path parameter.
    fc
      .tuple(fc.nat(), fc.constantFrom(...SEGMENTS))
      .map(([at, segment]) => (r: Request): Request => {
        const names = Object.keys(r.params);
        if (names.length === 0) return r;
        return { ...r, params: { ...r.params, [pick(names, at)]: { value: segment, raw: true } } };
      }),
    fc
      .tuple(fc.nat(), fc.constantFrom(...Object.values(REAL).flat(), "fed_000001", "flow_000001"))
      .map(([at, other]) => (r: Request): Request => {
        const names = Object.keys(r.params);
        if (names.length === 0) return r;
        return { ...r, params: { ...r.params, [pick(names, at)]: { value: other } } };
      }),
    // The query.
    fc
      .tuple(
        fc.nat(),
        fc.constantFrom("twice", "array", "object", "bare", "empty", "unknown", "many"),
      )
      .map(([at, how]) => (r: Request): Request => {
        const [name, value]: [string, string] =
          r.query.length === 0 ? ["limit", "1"] : pick(r.query, at);
        const query: [string, string][] =
          how === "twice"
            ? [...r.query, [name, value]]
            : how === "array"
              ? [...r.query, [`${name}[]`, value]]
              : how === "object"
                ? [...r.query, [`${name}[a]`, value]]
                : how === "bare"
                  ? [...r.query, [name, "\u0002bare"]]
                  : how === "empty"
                    ? [...r.query, [name, ""]]
                    : how === "unknown"
                      ? [...r.query, ["__proto__", value]]
                      : [
                          ...r.query,
                          ...Array.from({ length: 500 }, (_, i): [string, string] => [
                            `q${String(i)}`,
                            "1",
                          ]),
                        ];
        return { ...r, query };
      }),
    fc
      .tuple(fc.nat(), fc.constantFrom(...NASTY_STRINGS))
      .map(([at, nasty]) => (r: Request): Request => {
        if (r.query.length === 0) return { ...r, query: [["after", nasty]] };
        const query = r.query.map((entry, i): [string, string] =>
          i === at % r.query.length ? [entry[0], nasty] : entry,
        );
        return { ...r, query };
      }),
    // Headers.
    fc.constantFrom(...IF_MATCH).map((ifMatch) => (r: Request): Request => ({
      ...r,
      headers: { ...r.headers, "if-match": ifMatch },
    })),
    fc.constantFrom(...CONTENT_TYPES).map((type) => (r: Request): Request => ({
      ...r,
      body: r.body ?? {},
      headers: { ...r.headers, "content-type": type },
    })),
    fc.constantFrom(...ACCEPTS).map((accept) => (r: Request): Request => ({
      ...r,
      headers: { ...r.headers, accept },
    })),
    fc.constantFrom(...AUTHORIZATIONS, undefined).map((authorization) => (r: Request): Request => {
      const { authorization: _, ...headers } = r.headers;
      return {
        ...r,
        headers: authorization === undefined ? headers : { ...headers, authorization },
      };
    }),
    // The method.
    fc
      .constantFrom("HEAD", "GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS")
      .map((method) => (r: Request): Request => ({ ...r, method })),
  );

/** `text` percent-encoded; a lone surrogate as the three bytes WTF-8 gives it. */
function percent(text: string): string {
  let out = "";
  for (const char of text) {
    const unit = char.codePointAt(0)!;
    if (unit < 0xd800 || unit > 0xdfff) out += encodeURIComponent(char);
    else {
      const bytes = [0xe0 | (unit >> 12), 0x80 | ((unit >> 6) & 0x3f), 0x80 | (unit & 0x3f)];
      out += bytes.map((b) => `%${b.toString(16).toUpperCase()}`).join("");
    }
  }
  return out;
}

function urlOf(r: Request): string {
  const path = r.path.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const param = r.params[name];
    if (param === undefined) return `missing-${name}`;
    return param.raw === true ? param.value : percent(param.value);
  });
  if (r.query.length === 0) return path;
  const query = r.query
    .map(([name, value]) =>
      value === "\u0002bare"
        ? percent(name)
        : `${percent(name)}=${percent(value).replace(/%5B|%5D/g, (s) => decodeURIComponent(s))}`,
    )
    .join("&");
  return `${path}?${query}`;
}

function payloadOf(r: Request): string | Buffer | undefined {
  if (r.payload !== undefined) return r.payload;
  if (r.form !== undefined) return formOf(r.form);
  if (r.body === undefined) return undefined;
  return serialize(r.body);
}

/** `exemptions.id` for the `id` of `/v1/tenants/{tenant}/exemptions/{id}`; other names as they are. */
function resourceOf(path: string, name: string): string {
  const resource = new RegExp(`/([^/{}]+)/\\{${name}\\}`).exec(path)?.[1];
  return resource !== undefined && `${resource}.${name}` in REAL ? `${resource}.${name}` : name;
}

/** A generated parameter value as the URL carries it. */
const textOf = (value: unknown): string =>
  typeof value === "string" ? value : JSON.stringify(value);

/** A request of `operation`, valid-shaped. */
function validRequest(operation: Operation): fc.Arbitrary<Request> {
  const params = operation.parameters.filter((p) => p.in === "path");
  const queries = operation.parameters.filter((p) => p.in === "query");
  const headers = operation.parameters.filter((p) => p.in === "header");
  return fc
    .record({
      params: fc.tuple(...params.map((p) => valid(p.schema, resourceOf(operation.path, p.name)))),
      query: fc.tuple(
        ...queries.map((p) => fc.option(valid(p.schema, p.name), { nil: undefined })),
      ),
      ifMatch: fc.integer({ min: 0, max: 5 }).map((n) => `"${String(n)}"`),
      accept: fc.constantFrom("application/json", "application/x-ndjson", undefined),
      key: fc.constantFrom(...KEYS),
      body: operation.body === undefined ? fc.constant(undefined) : valid(operation.body),
      address: fc.ipV4(),
    })
    .map(({ params: values, query, ifMatch, accept, key, body, address }) => {
      const request: Request = {
        method: operation.method,
        path: operation.path,
        params: Object.fromEntries(params.map((p, i) => [p.name, { value: textOf(values[i]) }])),
        query: queries.flatMap((p, i): [string, string][] =>
          query[i] === undefined ? [] : [[p.name, textOf(query[i])]],
        ),
        headers: {
          authorization: `Bearer ${key}`,
          "x-fuzz-address": address,
          ...(headers.some((h) => h.name === "if-match") ? { "if-match": ifMatch } : {}),
          ...(accept !== undefined && headers.some((h) => h.name === "accept") ? { accept } : {}),
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
      };
      return body === undefined ? request : { ...request, body };
    });
}

// ---------------------------------------------------------------------------------------------
// Sending and checking.

/** A stack frame, a source or module path, or a file URL: nothing a refusal may show. */
const LEAK =
  /(?:^|\s)at \S+ \(|\bat (?:file:|\/)|node_modules|file:\/\/|\/(?:work|tmp|home|root|usr|src|dist)\/|\.[cm]?[jt]s:\d+/;
const REFERENCE = /<code>([a-z][a-z_]*(?:\.[a-z_]+)*)<\/code>/;

async function send(r: Request): Promise<{ response: LightMyRequestResponse; what: string }> {
  const url = urlOf(r);
  const payload = payloadOf(r);
  const { "x-fuzz-address": address, ...headers } = r.headers;
  const shown = Buffer.isBuffer(payload) ? payload.toString("latin1") : payload;
  const what = `${r.method} ${url.slice(0, 300)} ${JSON.stringify(headers).slice(0, 300)} ${String(shown?.slice(0, 400))}`;
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`no answer within ${String(ANSWER_WITHIN_MS)} ms: ${what}`));
    }, ANSWER_WITHIN_MS);
  });
  try {
    const response = await Promise.race([
      t.server.inject({
        method: r.method as "GET",
        url,
        headers,
        remoteAddress: address ?? "203.0.113.7",
        ...(payload === undefined ? {} : { payload }),
      }),
      hung,
    ]);
    return {
      response,
      what: `${what} → ${String(response.statusCode)} ${response.body.slice(0, 400)}`,
    };
  } finally {
    clearTimeout(timer);
  }
}

/** A refusal of the JSON API: a problem document with a documented code and its status. */
function expectProblem(response: LightMyRequestResponse, what: string): void {
  const type = String(response.headers["content-type"] ?? "");
  expect(type, what).toMatch(/^application\/problem\+json/);
  const problem = response.json<{ status: number; code: string; type: string }>();
  expect(DOCUMENTED.get(problem.code), `undocumented code: ${what}`).toBe(response.statusCode);
  expect(STATUSES.get(problem.code), what).toBe(response.statusCode);
  expect(problem.status, what).toBe(response.statusCode);
  expect(problem.type, what).toBe(`urn:tenant-mfa:problem:${problem.code}`);
}

/** What the campaign drew, by status and code: printed when `FUZZ_STATS` is set. */
const drawn = new Map<string, number>();
function tally(r: Request, response: LightMyRequestResponse): void {
  if (process.env["FUZZ_STATS"] === undefined) return;
  const type = String(response.headers["content-type"] ?? "");
  const code =
    type.includes("json") && response.statusCode >= 400 && r.method !== "HEAD"
      ? (response.json<{ code?: string }>().code ?? "")
      : (REFERENCE.exec(response.body)?.[1] ?? "");
  const key = `${String(response.statusCode)} ${code}`;
  drawn.set(key, (drawn.get(key) ?? 0) + 1);
}
afterAll(() => {
  if (process.env["FUZZ_STATS"] === undefined) return;
  const lines = [...drawn].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${String(n)}\t${k}`);
  console.log(lines.join("\n"));
});

async function expectApiAnswer(r: Request): Promise<void> {
  const { response, what } = await send(r);
  tally(r, response);
  expect(response.statusCode, what).toBeLessThan(500);
  if (response.statusCode >= 400 && r.method !== "HEAD") expectProblem(response, what);
}

/** A browser route's answer: below 500, and a refusal a person or a script can act on. */
async function expectBrowserAnswer(r: Request): Promise<void> {
  const { response, what } = await send(r);
  tally(r, response);
  expect(response.statusCode, what).toBeLessThan(500);
  if (r.method === "HEAD" || response.statusCode < 400) return;
  expect(response.body, what).not.toMatch(LEAK);
  const type = String(response.headers["content-type"] ?? "");
  if (type.startsWith("text/html")) {
    const code = REFERENCE.exec(response.body)?.[1] ?? "";
    const status =
      DOCUMENTED.get(code) ?? (FAILURE_STATUSES as Readonly<Record<string, number>>)[code];
    expect(status, `reference code ${code}: ${what}`).toBe(response.statusCode);
    return;
  }
  expectProblem(response, what);
}

const mutated = (base: fc.Arbitrary<Request>, mutation: fc.Arbitrary<Mutation>) =>
  fc
    .tuple(base, fc.array(mutation, { minLength: 0, maxLength: 2 }))
    .map(([request, mutations]) => mutations.reduce((r, m) => m(r), request));

const options = () => ({ numRuns: RUNS, seed: SEED, endOnFailure: false });

describe("every operation of /openapi.json, near-valid", () => {
  it(
    "answers below 500, in time, a refusal as a documented problem",
    async () => {
      expect(operations.length).toBeGreaterThan(50);
      const requests = mutated(
        fc.constantFrom(...operations).chain((operation) => validRequest(operation)),
        apiMutation(),
      );
      await fc.assert(fc.asyncProperty(requests, expectApiAnswer), options());
    },
    PROPERTY_TIMEOUT_MS,
  );
});

// ---------------------------------------------------------------------------------------------
// The browser routes the document hides: federation and hosted flows.

/** Every hidden route, as its URL pattern: the sweep below must cover each. */
const HIDDEN = [
  "/t/:tenant/idps/:idp/saml/metadata",
  "/t/:tenant/idps/:idp/start",
  "/t/:tenant/idps/:idp/saml/acs",
  "/t/:tenant/idps/:idp/saml/complete",
  "/t/:tenant/idps/:idp/oidc/callback",
  "/t/:tenant/flows/:flow",
  "/t/:tenant/flows/:flow/webauthn/options",
  "/flow-assets/:name",
];

const base64 = (text: string | Uint8Array) => Buffer.from(text).toString("base64");
const unbase64 = (text: string) => Buffer.from(text, "base64").toString("utf8");

/** Edits of a signed SAML answer's XML, as an attacker or a broken IdP would make them. */
const XML_EDITS: readonly ((xml: string, nasty: string) => string)[] = [
  (xml, nasty) => xml.replace(/(<saml:NameID[^>]*>)[^<]*/, `$1${nasty}`),
  (xml) => xml.replace(/(<saml:NameID[^>]*>)([^<@]*)/, "$1$2<!---->"),
  (xml) => xml.replace(/<ds:Signature[\s\S]*?<\/ds:Signature>/, ""),
  (xml) => xml.replace(/<ds:Signature[\s\S]*?<\/ds:Signature>/g, ""),
  (xml) =>
    `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>${xml.replace(/^<\?xml[^>]*>/, "")}`,
  (xml) => `<?xml version="1.0" encoding="UTF-16"?>${xml.replace(/^<\?xml[^>]*>/, "")}`,
  (xml) => `\ufeff${xml}`,
  (xml, nasty) => xml.replace(/Destination="[^"]*"/, `Destination="${nasty}"`),
  (xml, nasty) => xml.replace(/IssueInstant="[^"]*"/g, `IssueInstant="${nasty}"`),
  (xml) => xml.replace(/IssueInstant="[^"]*"/, 'IssueInstant="2026-02-30T12:00:00Z"'),
  (xml) => xml.replace(/NotOnOrAfter="[^"]*"/g, 'NotOnOrAfter="+275760-09-13T00:00:00.000Z"'),
  (xml) => xml.replace(/ID="[^"]*"/, `ID="${"x".repeat(10_000)}"`),
  (xml) => xml.replace(/(<saml:Assertion[\s\S]*<\/saml:Assertion>)/, "$1$1"),
  (xml) =>
    xml.replace(
      /<\/samlp:Response>/,
      `${"<a>".repeat(3000)}${"</a>".repeat(3000)}</samlp:Response>`,
    ),
  (xml) => xml.replace(/<saml:Issuer>[^<]*/, "<saml:Issuer>https://evil.example/saml"),
  (xml) =>
    xml.replace(
      /<samlp:StatusCode Value="[^"]*"/,
      '<samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Requester"',
    ),
  (xml, nasty) => xml.slice(0, nasty.length % xml.length),
  (xml) => xml.replace(/<ds:SignatureValue>([^<]{10})/, "<ds:SignatureValue>AAAAAAAAAA"),
  (xml) => xml.replace(/<\?xml[^>]*>/, '<?xml version="1.0"?><?xml-stylesheet href="x"?>'),
  (xml) => xml.replace(/xmlns:saml="[^"]*"/, 'xmlns:saml="urn:evil"'),
];

const BASE64_EDITS: readonly ((text: string, at: number) => string)[] = [
  (text, at) => {
    const i = at % text.length;
    return `${text.slice(0, i)}${text[i] === "A" ? "B" : "A"}${text.slice(i + 1)}`;
  },
  (text, at) => text.slice(0, at % text.length),
  (text) => text.replace(/(.{76})/g, "$1\r\n"),
  (text) => text.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, ""),
  (text) => `${text}====`,
  (text) => base64(text),
  (text) => ` ${text} `,
  (text) => text.replace(/[A-Z]/, "%"),
];

const samlResponse = (): fc.Arbitrary<string> =>
  fc.oneof(
    fc.constantFrom(...SAML_ANSWERS),
    fc
      .tuple(
        fc.constantFrom(...SAML_ANSWERS),
        fc.nat({ max: XML_EDITS.length - 1 }),
        fc.constantFrom(...NASTY_STRINGS),
      )
      .map(([answer, edit, nasty]) => base64(XML_EDITS[edit]!(unbase64(answer), nasty))),
    fc
      .tuple(fc.constantFrom(...SAML_ANSWERS), fc.nat({ max: BASE64_EDITS.length - 1 }), fc.nat())
      .map(([answer, edit, at]) => BASE64_EDITS[edit]!(answer, at)),
    fc.uint8Array({ maxLength: 300 }).map(base64),
    fc.constantFrom("", "=", "A", "%%%", base64("<x/>"), base64("\u0000"), "A".repeat(60_000)),
    fc.constantFrom(...NASTY_STRINGS),
  );

const cookies = (): fc.Arbitrary<string | undefined> =>
  fc.constantFrom(
    undefined,
    FLOW.cookie,
    ...SAML_STARTS.map((s) => s.cookie),
    "tmfa_browser=x",
    `${FLOW.cookie}; ${FLOW.cookie}`,
    `tmfa_browser=${"%00".repeat(20)}; __Host-tmfa_browser=%ZZ`,
    `${FLOW.cookie.split("=")[0] ?? "x"}=${"A".repeat(5000)}`,
  );

const browserHeaders = () =>
  fc
    .record(
      {
        accept: fc.constantFrom("text/html", "application/json", "application/problem+json", "*/*"),
        cookie: cookies(),
        "accept-language": fc.constantFrom("de", "fr-CA,fr;q=0.9", "x".repeat(300), "*;q=abc"),
        origin: fc.constantFrom("https://mfa.test", "https://evil.example", "null"),
        "x-csrf-token": fc.constantFrom(FLOW.csrf, "x", ""),
        "x-fuzz-address": fc.ipV4(),
      },
      { requiredKeys: ["x-fuzz-address"] },
    )
    .map(
      (headers) =>
        Object.fromEntries(Object.entries(headers).filter(([, v]) => v !== undefined)) as Record<
          string,
          string
        >,
    );

/** A form body as it is posted, its fields in order (a field may come twice). */
function formOf(fields: readonly (readonly [string, string])[]): string {
  return fields.map(([k, v]) => `${percent(k)}=${percent(v)}`).join("&");
}

const optionalField = (name: string, value: fc.Arbitrary<string>) =>
  fc.option(
    value.map((v): [string, string] => [name, v]),
    { nil: undefined },
  );

type Fields = [string, string][];
const formMutation = (): fc.Arbitrary<(fields: Fields) => Fields> =>
  fc.oneof(
    fc.nat().map(
      (at) =>
        (fields: [string, string][]): [string, string][] =>
          fields.length === 0 ? fields : [...fields, fields[at % fields.length]!],
    ),
    fc.nat().map(
      (at) =>
        (fields: [string, string][]): [string, string][] =>
          fields.filter((_, i) => i !== at % Math.max(fields.length, 1)),
    ),
    fc.tuple(fc.nat(), fc.constantFrom(...NASTY_STRINGS)).map(
      ([at, nasty]) =>
        (fields: [string, string][]): [string, string][] =>
          fields.map(([k, v], i): [string, string] => [k, i === at % fields.length ? nasty : v]),
    ),
    fc
      .constantFrom("__proto__[admin]", "constructor[prototype][x]", "action[]", "extra", "")
      .map((key) => (fields: [string, string][]): [string, string][] => [...fields, [key, "1"]]),
  );

const hiddenRequest = (): fc.Arbitrary<Request> => {
  const tenant = fc.constantFrom("acme", "acme", "initech");
  const samlIdp = fc.constantFrom("corp", "corp", "oidc");
  const relayState = fc.constantFrom(
    ...SAML_STARTS.map((s) => s.relayState),
    "",
    "x",
    RETURN,
    "\ud800",
  );
  const returnTo = fc.constantFrom(
    RETURN,
    `${RETURN}?x=1`,
    `${RETURN}/..`,
    "https://APP.acme.example/signed-in",
    "https://app.acme.example@evil.example/",
    "//evil.example",
    "https://app.acme.example:443/signed-in",
    "https://app.acme.example/signed-in#x",
    "https://app.acme.example/signed-in%2F..",
    "javascript:alert(1)",
    "",
  );
  const request = (
    method: string,
    path: string,
    params: Record<string, string>,
    query: (readonly [string, string] | undefined)[],
    headers: Record<string, string>,
    form?: [string, string][],
    type = FORM,
  ): Request => ({
    method,
    path,
    params: Object.fromEntries(Object.entries(params).map(([k, v]) => [k, { value: v }])),
    query: query.filter((q): q is [string, string] => q !== undefined),
    headers: form === undefined ? headers : { ...headers, "content-type": type },
    ...(form === undefined ? {} : { form }),
  });
  const flowId = fc.constantFrom(FLOW.id, FLOW.id, FLOW.id, "flow_000001", "x");
  const code = fc.oneof(
    fc.integer({ min: 0, max: 999_999 }).map((n) => String(n).padStart(6, "0")),
    fc.constantFrom("12345", "1234567", " 123456", "123 456", "١٢٣٤٥٦", "AAAA-BBBB-CCCC", ""),
  );
  const action = fc.constantFrom(
    "verify_totp",
    "verify_recovery_code",
    "verify_webauthn",
    "enroll_totp",
    "confirm_totp",
    "enroll_webauthn",
    "register_webauthn",
    "idp",
    "continue",
    "bogus",
  );
  const ceremonyResponse = fc.oneof(
    fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
    fc.constantFrom(
      '{"id":"x","rawId":"x","type":"public-key","response":{"clientDataJSON":"e30","authenticatorData":"AAAA","signature":"AA"}}',
      '{"id":"x","rawId":"x","type":"public-key","response":{"clientDataJSON":"e30","attestationObject":"oA"}}',
      '{"',
      "",
    ),
  );
  const flows = fc
    .record({
      method: fc.constantFrom("GET", "POST", "POST", "POST"),
      tenant,
      flow: flowId,
      notice: optionalField("notice", fc.constantFrom("totp.invalid_code", "x", "")),
      action,
      csrf: fc.constantFrom(FLOW.csrf, FLOW.csrf, "x", ""),
      authenticator: fc.constantFrom(FLOW.totp, "x", "auth_000001"),
      code,
      ceremony: fc.constantFrom("x", "wac_000001", ""),
      response: ceremonyResponse,
      idp: fc.constantFrom("corp", "oidc", "x"),
      name: fc.constantFrom("Key", "x".repeat(65), "\u0000"),
      headers: browserHeaders(),
    })
    .map((f) =>
      request(
        f.method,
        "/t/{tenant}/flows/{flow}",
        { tenant: f.tenant, flow: f.flow },
        [f.notice],
        f.headers,
        f.method === "GET"
          ? undefined
          : [
              ["action", f.action],
              ["csrf", f.csrf],
              ...(f.action.endsWith("_totp")
                ? [["authenticator", f.authenticator] as [string, string]]
                : []),
              ...(f.action.startsWith("verify_t") ||
              f.action.startsWith("verify_r") ||
              f.action === "confirm_totp"
                ? [["code", f.code] as [string, string]]
                : []),
              ...(f.action.endsWith("_webauthn") && !f.action.startsWith("enroll")
                ? ([
                    ["ceremony", f.ceremony],
                    ["response", f.response],
                    ["name", f.name],
                  ] as [string, string][])
                : []),
              ...(f.action === "idp" ? [["idp", f.idp] as [string, string]] : []),
            ],
      ),
    );
  const options = fc
    .record({
      tenant,
      flow: flowId,
      purpose: fc.constantFrom("registration", "authentication", "x"),
      headers: browserHeaders(),
    })
    .map((f) => ({
      ...request(
        "POST",
        "/t/{tenant}/flows/{flow}/webauthn/options",
        { tenant: f.tenant, flow: f.flow },
        [],
        {
          ...f.headers,
          "content-type": "application/json",
        },
      ),
      body: { purpose: f.purpose },
    }));
  const acs = fc
    .record({
      tenant,
      idp: samlIdp,
      answer: samlResponse(),
      relay: optionalField("RelayState", relayState),
      headers: browserHeaders(),
    })
    .map((f) =>
      request(
        "POST",
        "/t/{tenant}/idps/{idp}/saml/acs",
        { tenant: f.tenant, idp: f.idp },
        [],
        f.headers,
        [["SAMLResponse", f.answer], ...(f.relay === undefined ? [] : [f.relay])],
      ),
    );
  const start = fc
    .record({
      tenant,
      idp: samlIdp,
      returnTo: optionalField("return_to", returnTo),
      principal: optionalField("principal", fc.constantFrom("alice", "Zoë 山田", ...NASTY_STRINGS)),
      force: optionalField("force", fc.constantFrom("true", "false", "1")),
      headers: browserHeaders(),
    })
    .map((f) =>
      request(
        "GET",
        "/t/{tenant}/idps/{idp}/start",
        { tenant: f.tenant, idp: f.idp },
        [f.returnTo, f.principal, f.force],
        f.headers,
      ),
    );
  const complete = fc
    .record({
      tenant,
      idp: samlIdp,
      answer: optionalField(
        "answer",
        fc.oneof(
          fc.string({ maxLength: 40 }),
          fc.constantFrom("A".repeat(32), "A".repeat(43), ...NASTY_STRINGS),
        ),
      ),
      headers: browserHeaders(),
    })
    .map((f) =>
      request(
        "GET",
        "/t/{tenant}/idps/{idp}/saml/complete",
        { tenant: f.tenant, idp: f.idp },
        [f.answer],
        f.headers,
      ),
    );
  const callback = fc
    .record({
      tenant,
      idp: fc.constantFrom("oidc", "oidc", "corp"),
      state: optionalField(
        "state",
        fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom("fed_000001", ...NASTY_STRINGS)),
      ),
      code: optionalField("code", fc.string({ maxLength: 40 })),
      iss: optionalField(
        "iss",
        fc.constantFrom("https://oidc.acme.example", "https://evil.example", ""),
      ),
      error: optionalField("error", fc.constantFrom("access_denied", "login_required", "x")),
      description: optionalField("error_description", fc.constantFrom(...NASTY_STRINGS)),
      headers: browserHeaders(),
    })
    .map((f) =>
      request(
        "GET",
        "/t/{tenant}/idps/{idp}/oidc/callback",
        { tenant: f.tenant, idp: f.idp },
        [f.state, f.code, f.iss, f.error, f.description],
        f.headers,
      ),
    );
  const metadata = fc
    .record({
      tenant,
      idp: samlIdp,
      method: fc.constantFrom("GET", "HEAD"),
      headers: browserHeaders(),
    })
    .map((f) =>
      request(
        f.method,
        "/t/{tenant}/idps/{idp}/saml/metadata",
        { tenant: f.tenant, idp: f.idp },
        [],
        f.headers,
      ),
    );
  const asset = fc
    .record({
      name: fc.constantFrom("flow.css", "flow.js", "x", "..%2Fpackage.json"),
      headers: browserHeaders(),
    })
    .map((f) => request("GET", "/flow-assets/{name}", { name: f.name }, [], f.headers));
  const formed = fc
    .tuple(fc.oneof(flows, acs), fc.array(formMutation(), { maxLength: 2 }))
    .map(([r, mutations]): Request =>
      r.form === undefined ? r : { ...r, form: mutations.reduce((f, m) => m(f), r.form) },
    );
  return fc.oneof(
    { arbitrary: formed, weight: 6 },
    { arbitrary: options, weight: 1 },
    { arbitrary: start, weight: 2 },
    { arbitrary: complete, weight: 1 },
    { arbitrary: callback, weight: 2 },
    { arbitrary: metadata, weight: 1 },
    { arbitrary: asset, weight: 1 },
  );
};

/** Mutations of a browser request: its path, query, headers and method, as for the API. */
const browserMutation = (): fc.Arbitrary<Mutation> =>
  fc.oneof(
    fc
      .tuple(fc.nat(), fc.constantFrom(...SEGMENTS))
      .map(([at, segment]) => (r: Request): Request => {
        const names = Object.keys(r.params);
        if (names.length === 0) return r;
        return { ...r, params: { ...r.params, [pick(names, at)]: { value: segment, raw: true } } };
      }),
    fc
      .tuple(fc.nat(), fc.constantFrom("twice", "empty", "many"))
      .map(([at, how]) => (r: Request): Request => {
        const [name, value]: [string, string] =
          r.query.length === 0 ? ["return_to", RETURN] : pick(r.query, at);
        const query: [string, string][] =
          how === "twice"
            ? [...r.query, [name, value]]
            : how === "empty"
              ? [...r.query, [name, ""]]
              : [
                  ...r.query,
                  ...Array.from({ length: 500 }, (_, i): [string, string] => [
                    `q${String(i)}`,
                    "1",
                  ]),
                ];
        return { ...r, query };
      }),
    fc
      .constantFrom(...CONTENT_TYPES, `${FORM}; charset=utf-16`, `${FORM}; charset=windows-1252`)
      .map((type) => (r: Request): Request => ({
        ...r,
        headers: { ...r.headers, "content-type": type },
      })),
    fc.constantFrom("utf16", "bom", "latin1").map((how) => (r: Request): Request => {
      const fields = r.form ?? [["SAMLResponse", "é"]];
      const text = fields.map(([k, v]) => `${k}=${v}`).join("&");
      const payload =
        how === "utf16"
          ? Buffer.from(text, "utf16le")
          : how === "bom"
            ? `\ufeff${formOf(fields)}`
            : Buffer.from(text, "latin1");
      return { ...r, payload };
    }),
    fc
      .constantFrom("HEAD", "GET", "POST", "PUT", "DELETE", "OPTIONS")
      .map((method) => (r: Request): Request => ({
        ...r,
        method,
      })),
  );

describe("the browser routes the document hides, near-valid", () => {
  it("are each covered here (a new hidden route must be added to the generators)", async () => {
    const document = (await t.call("GET", "/openapi.json")).json<{
      paths: Record<string, unknown>;
    }>();
    const documented = new Set(
      Object.keys(document.paths).map((path) => path.replace(/\{([^}]+)\}/g, ":$1")),
    );
    const hidden = [...registered.keys()].filter((url) => !documented.has(url)).sort();
    expect(hidden).toEqual([...HIDDEN].sort());
  });

  it(
    "answer below 500, in time, a refusal as a coded page or a documented problem",
    async () => {
      const requests = mutated(hiddenRequest(), browserMutation());
      await fc.assert(fc.asyncProperty(requests, expectBrowserAnswer), options());
    },
    PROPERTY_TIMEOUT_MS,
  );
});

describe("after the campaign", () => {
  it("the audit chains still verify and the server still answers", async () => {
    for (const url of ["/v1/audit/verify", "/v1/audit/verify?tenant=acme"]) {
      const verified = await t.call("GET", url, { key: t.adminKey });
      expect(verified.statusCode, verified.body).toBe(200);
      expect(verified.json<{ ok: boolean }>().ok, verified.body).toBe(true);
    }
    const tenant = await t.call("GET", "/v1/tenants/acme", { key: t.adminKey });
    expect(tenant.statusCode, tenant.body).toBe(200);
    expect(tenant.json<{ id: string }>().id).toBe("acme");
    // The campaign may have removed an IdP or used the flow up; no route removes a tenant.
    expect((await t.call("GET", "/healthz")).statusCode).toBe(200);
  });
});
