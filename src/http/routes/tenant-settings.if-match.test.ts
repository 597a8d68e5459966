// Threat: two administrators change one of a tenant's settings from what each read, and the later
// write puts back, unseen, what the earlier one changed (one requires user verification, the
// other, from an old read, makes it preferred again). A client that sends `If-Match` with the
// ETag it read asks for exactly that guard (RFC 9110 §13.1.1); the routes answered no ETag and
// ignored the header. Without `If-Match` a write stays as documented: it replaces the settings.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createWebAuthnProtocol } from "../../verifiers/webauthn/index.js";
import { openTestServer, type TestServer } from "../test-support/open-test-server.js";

const ORIGIN = "https://mfa.test";

/** One of a tenant's settings: where it is read and written, a first and a second value. */
interface Setting {
  readonly name: string;
  readonly read: string;
  readonly write: string;
  readonly code: string;
  readonly first: Record<string, unknown>;
  readonly second: Record<string, unknown>;
  /** What the read answers once `second` is in force. */
  readonly kept: Record<string, unknown>;
}

const SETTINGS: readonly Setting[] = [
  {
    name: "WebAuthn settings",
    read: "/v1/tenants/acme/webauthn",
    write: "/v1/tenants/acme/webauthn",
    code: "webauthn.settings_conflict",
    first: { rpId: "mfa.test", origins: [ORIGIN], userVerification: "required" },
    second: { rpId: "mfa.test", origins: [ORIGIN], userVerification: "preferred" },
    kept: { userVerification: "required" },
  },
  {
    name: "return URLs",
    read: "/v1/tenants/acme",
    write: "/v1/tenants/acme/return-urls",
    code: "tenant.settings_conflict",
    first: { returnUrls: ["https://app.acme.example/back"] },
    second: { returnUrls: ["https://app.acme.example/back", "https://evil.acme.example/"] },
    kept: { returnUrls: ["https://app.acme.example/back"] },
  },
  {
    name: "branding",
    read: "/v1/tenants/acme",
    write: "/v1/tenants/acme/branding",
    code: "tenant.settings_conflict",
    first: { logoUrl: "https://cdn.acme.example/logo.png" },
    second: { logoUrl: null },
    kept: { logoUrl: "https://cdn.acme.example/logo.png" },
  },
];

describe.each(SETTINGS)("the tenant's $name under If-Match", (setting) => {
  let t: TestServer;
  let admin: string;

  beforeEach(async () => {
    t = await openTestServer();
    await t.call("POST", "/v1/tenants", { key: t.adminKey, body: { id: "acme", name: "Acme" } });
    admin = await t.key(["tenant_admin"], ["acme"]);
  });
  afterEach(() => t.close());

  const read = () => t.call("GET", setting.read, { key: admin });
  const write = (body: Record<string, unknown>, headers: Record<string, string> = {}) =>
    t.call("PUT", setting.write, { key: admin, body, headers });

  it("answers a strong ETag on the read and the write, the write's the next read's", async () => {
    const before = await read();
    expect(before.headers.etag).toMatch(/^"[^"]+"$/);
    const written = await write(setting.first);
    expect(written.statusCode, written.body).toBe(200);
    expect(written.headers.etag).toMatch(/^"[^"]+"$/);
    expect(written.headers.etag).not.toBe(before.headers.etag);
    expect((await read()).headers.etag).toBe(written.headers.etag);
  });

  it("refuses a write whose If-Match names settings changed since, and keeps them", async () => {
    const stale = (await read()).headers.etag as string;
    const first = await write(setting.first, { "if-match": stale });
    expect(first.statusCode, first.body).toBe(200);
    const current = first.headers.etag;

    const lost = await write(setting.second, { "if-match": stale });
    expect(lost.statusCode).toBe(412);
    expect(lost.json()).toMatchObject({ code: setting.code, details: { currentEtag: current } });
    const kept = await read();
    expect(kept.json()).toMatchObject(setting.kept);
    expect(kept.headers.etag).toBe(current);
  });

  it("writes when If-Match names the current settings, or any (*)", async () => {
    const current = (await read()).headers.etag as string;
    const first = await write(setting.first, { "if-match": `"nope", ${current}` });
    expect(first.statusCode, first.body).toBe(200);
    const second = await write(setting.second, { "if-match": "*" });
    expect(second.statusCode, second.body).toBe(200);
    expect((await read()).headers.etag).toBe(second.headers.etag);
  });

  it.each(['W/"1"', "abc", '"unterminated', '"a" "b"', '*, "a"', ", ,"])(
    "refuses the malformed If-Match %s, and writes nothing",
    async (header) => {
      const before = (await read()).headers.etag;
      const malformed = await write(setting.first, { "if-match": header });
      expect(malformed.statusCode).toBe(400);
      expect(malformed.json()).toMatchObject({ code: "request.invalid" });
      expect((await read()).headers.etag).toBe(before);
    },
  );

  it("documents the If-Match, the ETag and the 412 in the OpenAPI document", async () => {
    type Operation = {
      parameters?: { in: string; name: string }[];
      responses: Record<string, { headers?: Record<string, unknown> }>;
    };
    const { paths } = (await t.call("GET", "/openapi.json")).json<{
      paths: Record<string, Record<string, Operation>>;
    }>();
    const path = (url: string) => url.replace("/acme", "/{tenant}");
    const put = paths[path(setting.write)]?.["put"];
    expect(put?.parameters).toContainEqual(
      expect.objectContaining({ in: "header", name: "if-match" }),
    );
    expect(Object.keys(put?.responses ?? {})).toContain("412");
    expect(put?.responses["200"]?.headers).toHaveProperty("etag");
    expect(paths[path(setting.read)]?.["get"]?.responses["200"]?.headers).toHaveProperty("etag");
  });

  it("still writes without If-Match, as documented", async () => {
    expect((await write(setting.first)).statusCode).toBe(200);
    const second = await write(setting.second);
    expect(second.statusCode).toBe(200);
    expect(second.json()).not.toMatchObject(setting.kept);
  });
});

// RFC 9110 §13.1.1: `If-Match: *` is false where there is no current representation: a tenant
// whose server has no public URL to derive default WebAuthn settings from, and that set none.
describe("WebAuthn settings under If-Match where none are in force", () => {
  let t: TestServer;
  let admin: string;

  beforeEach(async () => {
    t = await openTestServer({ webauthn: { protocol: createWebAuthnProtocol() } });
    await t.call("POST", "/v1/tenants", { key: t.adminKey, body: { id: "acme", name: "Acme" } });
    admin = await t.key(["tenant_admin"], ["acme"]);
  });
  afterEach(() => t.close());

  const body = { rpId: "mfa.test", origins: [ORIGIN] };
  const read = () => t.call("GET", "/v1/tenants/acme/webauthn", { key: admin });

  it("refuses If-Match: * and writes nothing; without it, sets the first settings", async () => {
    const none = await read();
    expect(none.statusCode).toBe(409);
    expect(none.headers.etag).toBeUndefined();
    const refused = await t.call("PUT", "/v1/tenants/acme/webauthn", {
      key: admin,
      body,
      headers: { "if-match": "*" },
    });
    expect(refused.statusCode).toBe(412);
    expect(refused.json()).toMatchObject({ code: "webauthn.settings_conflict" });
    expect((await read()).statusCode).toBe(409);
    const set = await t.call("PUT", "/v1/tenants/acme/webauthn", { key: admin, body });
    expect(set.statusCode, set.body).toBe(200);
    expect((await read()).headers.etag).toBe(set.headers.etag);
  });
});
