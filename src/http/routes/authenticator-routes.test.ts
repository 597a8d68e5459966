import type { LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { oathtoolCode } from "../../verifiers/totp/test-support/oathtool.js";
import { openTestServer, type TestServer } from "../test-support/open-test-server.js";

let t: TestServer;
let service: string;
const base = "/v1/tenants/acme/principals/alice/authenticators";

beforeAll(async () => {
  t = await openTestServer();
  await t.call("POST", "/v1/tenants", { key: t.adminKey, body: { id: "acme", name: "Acme Corp" } });
  await t.call("PUT", "/v1/tenants/acme/principals/alice", {
    key: t.adminKey,
    body: { population: "direct", displayName: "alice@acme.example" },
  });
  const version = (await t.call("GET", "/v1/tenants/acme/policy", { key: t.adminKey })).headers
    .etag;
  await t.call("PUT", "/v1/tenants/acme/policy", {
    key: t.adminKey,
    headers: { "if-match": String(version) },
    body: { policy: { posture: "platform_mfa" }, rationale: "Platform MFA for everyone" },
  });
  service = await t.key(["platform_service"], ["acme"]);
});
afterAll(() => t.close());

const codeOf = (response: LightMyRequestResponse) => [
  response.statusCode,
  response.json<{ code?: string }>().code,
];

describe("TOTP authenticators over HTTP", () => {
  it("enrols, confirms with an oathtool code, verifies, and the event lets the sign-in through", async () => {
    const begun = await t.call("POST", `${base}/totp`, { key: service, body: { name: "phone" } });
    expect(begun.statusCode).toBe(201);
    expect(begun.headers["cache-control"]).toBe("no-store");
    const { authenticator, secret, uri, qrSvg } = begun.json<{
      authenticator: { id: string; status: string };
      secret: string;
      uri: string;
      qrSvg: string;
    }>();
    expect(authenticator.status).toBe("pending");
    expect(begun.headers.location).toBe(`${base}/${authenticator.id}/confirm`);
    expect(uri).toContain(`secret=${secret}`);
    expect(qrSvg).toMatch(/^<svg /);

    const confirmed = await t.call("POST", `${base}/${authenticator.id}/confirm`, {
      key: service,
      body: { code: oathtoolCode(secret, t.clock.now()) },
    });
    expect(confirmed.statusCode).toBe(200);
    expect(confirmed.json()).toMatchObject({ id: authenticator.id, status: "active" });

    t.clock.advance(30);
    const code = oathtoolCode(secret, t.clock.now());
    const verified = await t.call("POST", `${base}/${authenticator.id}/verify`, {
      key: service,
      body: { code },
    });
    expect(verified.statusCode).toBe(200);
    const { event } = verified.json<{ event: Record<string, unknown> }>();
    expect(event).toEqual({
      method: "totp",
      source: "platform",
      at: t.clock.now().toISOString(),
      verification: expect.stringMatching(/^evt_/),
    });

    const replayed = await t.call("POST", `${base}/${authenticator.id}/verify`, {
      key: service,
      body: { code },
    });
    expect(codeOf(replayed)).toEqual([422, "totp.replayed"]);
    expect(replayed.headers["content-type"]).toMatch(/^application\/problem\+json/);

    const decided = await t.call("POST", "/v1/tenants/acme/decisions", {
      key: service,
      body: {
        principal: { id: "alice" },
        evidence: {
          events: [{ method: "password", source: "platform", at: event.at }, event],
        },
      },
    });
    expect(decided.json()).toMatchObject({ outcome: "allow" });

    // The same event, an hour fresher than its verification: a coded problem, not a decision.
    const dressed = await t.call("POST", "/v1/tenants/acme/decisions", {
      key: service,
      body: {
        principal: { id: "alice" },
        evidence: {
          events: [
            { method: "password", source: "platform", at: event.at },
            { ...event, at: new Date(t.clock.now().getTime() + 3_600_000).toISOString() },
          ],
        },
      },
    });
    expect(codeOf(dressed)).toEqual([422, "evidence.unverified"]);
    expect(dressed.headers["content-type"]).toMatch(/^application\/problem\+json/);

    const listed = await t.call("GET", base, { key: service });
    expect(listed.json<{ items: { id: string }[] }>().items.map((a) => a.id)).toEqual([
      authenticator.id,
    ]);
    expect(listed.body).not.toContain(secret);
    expect(listed.body).not.toMatch(/sealed/i);
  });

  it("answers malformed and wrong codes, unknown fields and unknown ids with coded problems", async () => {
    const begun = await t.call("POST", `${base}/totp`, { key: service, body: {} });
    const { authenticator, secret } = begun.json<{
      authenticator: { id: string };
      secret: string;
    }>();
    const confirm = (body: unknown) =>
      t.call("POST", `${base}/${authenticator.id}/confirm`, { key: service, body });
    expect(codeOf(await confirm({ code: "12 34 56" }))).toEqual([400, "totp.malformed_code"]);
    const stale = oathtoolCode(secret, new Date(t.clock.now().getTime() - 600_000));
    expect(codeOf(await confirm({ code: stale }))).toEqual([422, "totp.wrong_code"]);
    expect(codeOf(await confirm({ code: "123456", extra: true }))).toEqual([
      400,
      "request.invalid",
    ]);
    expect(codeOf(await confirm({}))).toEqual([400, "request.invalid"]);
    expect(
      codeOf(await t.call("POST", `${base}/totp`, { key: service, body: { digits: 7 } })),
    ).toEqual([400, "request.invalid"]);
    expect(
      codeOf(
        await t.call("POST", `${base}/auth_unknown/verify`, {
          key: service,
          body: { code: "123456" },
        }),
      ),
    ).toEqual([404, "not_found"]);
    expect(
      codeOf(
        await t.call("POST", `${base}/${authenticator.id}/verify`, {
          key: service,
          body: { code: oathtoolCode(secret, t.clock.now()) },
        }),
      ),
    ).toEqual([409, "authenticator.invalid_state"]);
  });

  it("enrols with the longest tenant and display names the API takes, in wide characters, and a QR code", async () => {
    await t.call("POST", "/v1/tenants", {
      key: t.adminKey,
      body: { id: "kabushiki", name: "株".repeat(200) },
    });
    await t.call("PUT", "/v1/tenants/kabushiki/principals/yamada", {
      key: t.adminKey,
      body: { population: "direct", displayName: "山".repeat(500) },
    });
    const key = await t.key(["platform_service"], ["kabushiki"]);
    const path = "/v1/tenants/kabushiki/principals/yamada/authenticators";
    const begun = await t.call("POST", `${path}/totp`, { key, body: {} });
    expect(begun.statusCode).toBe(201);
    const { uri, qrSvg } = begun.json<{ uri: string; qrSvg: string }>();
    expect(qrSvg).toMatch(/^<svg/);
    expect(decodeURIComponent(uri)).toContain(`株${"株".repeat(38)}…:${"山".repeat(39)}…`);
    const listed = await t.call("GET", path, { key });
    expect(listed.json<{ items: { status: string }[] }>().items).toMatchObject([
      { status: "pending" },
    ]);
  });

  it("refuses a confirmation past the enrolment's ten minutes with 409 authenticator.enrolment_expired, and lists it no more", async () => {
    await t.call("PUT", "/v1/tenants/acme/principals/carol", {
      key: t.adminKey,
      body: { population: "direct" },
    });
    const path = "/v1/tenants/acme/principals/carol/authenticators";
    const begin = async () => {
      const begun = await t.call("POST", `${path}/totp`, { key: service, body: {} });
      expect(begun.statusCode).toBe(201);
      return begun.json<{ authenticator: { id: string; expiresAt: string }; secret: string }>();
    };
    const confirm = (enrolment: { authenticator: { id: string }; secret: string }) =>
      t.call("POST", `${path}/${enrolment.authenticator.id}/confirm`, {
        key: service,
        body: { code: oathtoolCode(enrolment.secret, t.clock.now()) },
      });
    const listed = async () =>
      (await t.call("GET", path, { key: service })).json<{ items: { id: string }[] }>().items;

    const late = await begin();
    expect(late.authenticator.expiresAt).toBe(
      new Date(t.clock.now().getTime() + 600_000).toISOString(),
    );
    expect((await listed()).map((a) => a.id)).toEqual([late.authenticator.id]);
    t.clock.advance(600);
    expect(await listed()).toEqual([]);
    const refused = await confirm(late);
    expect(codeOf(refused)).toEqual([409, "authenticator.enrolment_expired"]);
    expect(refused.json()).toMatchObject({ details: { expiresAt: late.authenticator.expiresAt } });
    // Removed: a second try finds nothing.
    expect(codeOf(await confirm(late))).toEqual([404, "not_found"]);

    const prompt = await begin();
    t.clock.advance(570);
    const confirmed = await confirm(prompt);
    expect(confirmed.statusCode).toBe(200);
    expect(confirmed.json()).not.toHaveProperty("expiresAt");
    expect((await listed()).map((a) => a.id)).toEqual([prompt.authenticator.id]);
  });

  it("lists the authenticator operations in the OpenAPI document, with 423 for a lock", async () => {
    const document = (await t.call("GET", "/openapi.json")).json<{
      paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
    }>();
    const verify =
      document.paths["/v1/tenants/{tenant}/principals/{principal}/authenticators/{id}/verify"];
    expect(Object.keys(verify?.post?.responses ?? {})).toContain("423");
  });
});
