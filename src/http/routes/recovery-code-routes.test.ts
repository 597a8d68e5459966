import type { LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openTestServer, type TestServer } from "../test-support/open-test-server.js";

let t: TestServer;
let service: string;
let admin: string;
const base = "/v1/tenants/acme/principals/alice/authenticators/recovery-codes";

beforeAll(async () => {
  t = await openTestServer();
  await t.call("POST", "/v1/tenants", { key: t.adminKey, body: { id: "acme", name: "Acme Corp" } });
  for (const principal of ["alice", "bob"]) {
    await t.call("PUT", `/v1/tenants/acme/principals/${principal}`, {
      key: t.adminKey,
      body: { population: "direct" },
    });
  }
  const version = (await t.call("GET", "/v1/tenants/acme/policy", { key: t.adminKey })).headers
    .etag;
  await t.call("PUT", "/v1/tenants/acme/policy", {
    key: t.adminKey,
    headers: { "if-match": String(version) },
    body: { policy: { posture: "platform_mfa" }, rationale: "Platform MFA for everyone" },
  });
  service = await t.key(["platform_service"], ["acme"]);
  admin = await t.key(["tenant_admin"], ["acme"]);
});
afterAll(() => t.close());

const codeOf = (response: LightMyRequestResponse) => [
  response.statusCode,
  response.json<{ code?: string }>().code,
];

describe("recovery codes over HTTP", () => {
  it("generates, verifies one, refuses its replay, counts down, and the event lets a sign-in through", async () => {
    const generated = await t.call("POST", base, { key: service });
    expect(generated.statusCode).toBe(201);
    expect(generated.headers["cache-control"]).toBe("no-store");
    const { codes, createdAt } = generated.json<{ codes: string[]; createdAt: string }>();
    expect(codes).toHaveLength(10);
    expect(createdAt).toBe(t.clock.now().toISOString());

    t.clock.advance(30);
    const verified = await t.call("POST", `${base}/verify`, {
      key: service,
      body: { code: codes[0] },
    });
    expect(verified.statusCode).toBe(200);
    const { event, remaining } = verified.json<{
      event: Record<string, unknown>;
      remaining: number;
    }>();
    expect({ event, remaining }).toEqual({
      event: {
        method: "recovery_code",
        source: "platform",
        at: t.clock.now().toISOString(),
        verification: expect.stringMatching(/^evt_/),
      },
      remaining: 9,
    });

    const replayed = await t.call("POST", `${base}/verify`, {
      key: service,
      body: { code: codes[0] },
    });
    expect(codeOf(replayed)).toEqual([422, "recovery_code.used"]);
    expect(replayed.headers["content-type"]).toMatch(/^application\/problem\+json/);

    const second = await t.call("POST", `${base}/verify`, {
      key: service,
      body: { code: codes[1]!.toLowerCase().replace(/-/g, " ") },
    });
    expect(second.json()).toMatchObject({ remaining: 8 });

    const status = await t.call("GET", base, { key: admin });
    expect(status.statusCode).toBe(200);
    expect(status.json()).toEqual({
      enrolled: true,
      total: 10,
      remaining: 8,
      // The replay counted a failure; the success after it reset the count.
      failedAttempts: 0,
      createdAt,
      lastUsedAt: t.clock.now().toISOString(),
    });

    const decided = await t.call("POST", "/v1/tenants/acme/decisions", {
      key: service,
      body: {
        principal: { id: "alice" },
        evidence: { events: [{ method: "password", source: "platform", at: event.at }, event] },
      },
    });
    expect(decided.statusCode).toBe(201);
    expect(decided.json()).toMatchObject({ outcome: "allow" });
    const alone = await t.call("POST", "/v1/tenants/acme/decisions", {
      key: service,
      body: { principal: { id: "alice" }, evidence: { events: [event] } },
    });
    expect(alone.json()).toMatchObject({ outcome: "challenge" });
  });

  it("tells the principal to generate new codes when three or fewer remain", async () => {
    const { codes } = (await t.call("POST", base, { key: service })).json<{ codes: string[] }>();
    const answers = [];
    for (const code of codes.slice(0, 7)) {
      answers.push(
        (await t.call("POST", `${base}/verify`, { key: service, body: { code } })).json<{
          remaining: number;
          notice?: { code: string; message: string };
        }>(),
      );
    }
    expect(answers.map((a) => [a.remaining, a.notice?.code])).toEqual([
      [9, undefined],
      [8, undefined],
      [7, undefined],
      [6, undefined],
      [5, undefined],
      [4, undefined],
      [3, "recovery_codes.running_low"],
    ]);
  });

  it("replaces the earlier set: its codes stop working", async () => {
    const first = (await t.call("POST", base, { key: service })).json<{ codes: string[] }>();
    const second = (await t.call("POST", base, { key: service })).json<{ codes: string[] }>();
    expect(
      codeOf(
        await t.call("POST", `${base}/verify`, { key: service, body: { code: first.codes[0] } }),
      ),
    ).toEqual([422, "recovery_code.wrong_code"]);
    expect(
      (await t.call("POST", `${base}/verify`, { key: service, body: { code: second.codes[0] } }))
        .statusCode,
    ).toBe(200);
  });

  it("answers bad input with coded problems, never a 500", async () => {
    const verify = (body: unknown) =>
      t.call("POST", `${base}/verify`, { key: service, body: body as Record<string, unknown> });
    expect(codeOf(await verify({ code: "1234" }))).toEqual([400, "recovery_code.malformed_code"]);
    expect(codeOf(await verify({ code: "ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ" }))).toEqual([
      422,
      "recovery_code.wrong_code",
    ]);
    expect(codeOf(await verify({ code: "x".repeat(65) }))).toEqual([400, "request.invalid"]);
    expect(codeOf(await verify({ code: 12 }))).toEqual([400, "request.invalid"]);
    expect(codeOf(await verify({}))).toEqual([400, "request.invalid"]);
    expect(codeOf(await verify({ code: "ZZZZ", extra: 1 }))).toEqual([400, "request.invalid"]);
    expect(codeOf(await t.call("POST", base, { key: service, body: { count: 20 } }))).toEqual([
      400,
      "request.invalid",
    ]);
    expect(
      codeOf(
        await t.call("POST", "/v1/tenants/acme/principals/mallory/authenticators/recovery-codes", {
          key: service,
        }),
      ),
    ).toEqual([422, "principal.unknown"]);
    expect(
      codeOf(
        await t.call(
          "POST",
          "/v1/tenants/acme/principals/bob/authenticators/recovery-codes/verify",
          { key: service, body: { code: "ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ" } },
        ),
      ),
    ).toEqual([404, "not_found"]);
    const bobStatus = await t.call(
      "GET",
      "/v1/tenants/acme/principals/bob/authenticators/recovery-codes",
      { key: service },
    );
    expect(bobStatus.json()).toEqual({
      enrolled: false,
      total: 0,
      remaining: 0,
      failedAttempts: 0,
    });
  });

  it("revokes the set (DELETE), after which its codes fail and a second DELETE is 404", async () => {
    const { codes } = (await t.call("POST", base, { key: service })).json<{ codes: string[] }>();
    const revoked = await t.call("DELETE", base, { key: admin });
    expect(revoked.statusCode).toBe(204);
    // The principal shows when its proofs were withdrawn, and the revocation's place in the chain.
    const events = await t.call("GET", "/v1/tenants/acme/audit?type=recovery_code.revoked", {
      key: admin,
    });
    const [event] = events.json<{ items: { seq: number }[] }>().items;
    const principal = await t.call("GET", "/v1/tenants/acme/principals/alice", { key: admin });
    expect(principal.json()).toMatchObject({
      proofsWithdrawnAt: t.clock.now().toISOString(),
      proofsWithdrawnSeq: event?.seq,
    });
    expect(event?.seq).toEqual(expect.any(Number));
    expect(
      codeOf(await t.call("POST", `${base}/verify`, { key: service, body: { code: codes[0] } })),
    ).toEqual([404, "not_found"]);
    expect(codeOf(await t.call("DELETE", base, { key: admin }))).toEqual([404, "not_found"]);
  });

  it("documents the recovery-code operations in the OpenAPI document, with 423 for a lock", async () => {
    const document = (await t.call("GET", "/openapi.json")).json<{
      paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
    }>();
    const path = "/v1/tenants/{tenant}/principals/{principal}/authenticators/recovery-codes";
    expect(Object.keys(document.paths[path] ?? {}).sort()).toEqual(["delete", "get", "post"]);
    expect(Object.keys(document.paths[`${path}/verify`]?.post?.responses ?? {})).toEqual(
      expect.arrayContaining(["200", "400", "422", "423"]),
    );
  });
});
