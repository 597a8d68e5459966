// Threat: a removal decided on a registration that another administrator has replaced since
// removes the new one unseen. A client that sends `If-Match` with the version it read asks for
// exactly that guard (RFC 9110 §13.1.1: the server evaluates the condition before the method);
// the removal ignored the header, so the stale removal went through. Without `If-Match` a
// removal stays as documented (docs/federation.md): the IdP is removed whatever its version.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { generateTestKeyPair } from "../../verifiers/saml/test-support/certificate.js";
import { openTestServer, type TestServer } from "../test-support/open-test-server.js";

const signing = generateTestKeyPair("idp.acme.example");
const registration = (allowUnsolicited: boolean) => ({
  protocol: "saml",
  saml: {
    entityId: "https://idp.acme.example/metadata",
    ssoUrl: "https://idp.acme.example/sso",
    signingCertificates: [signing.certificateBase64],
    allowUnsolicited,
  },
});

describe("removing an IdP under If-Match", () => {
  let t: TestServer;
  let admin: string;

  beforeEach(async () => {
    t = await openTestServer();
    await t.call("POST", "/v1/tenants", { key: t.adminKey, body: { id: "acme", name: "Acme" } });
    admin = await t.key(["tenant_admin"], ["acme"]);
    const registered = await t.call("PUT", "/v1/tenants/acme/idps/corp", {
      key: admin,
      body: registration(false),
    });
    expect(registered.statusCode).toBe(201);
  });
  afterEach(() => t.close());

  const remove = (headers: Record<string, string> = {}) =>
    t.call("DELETE", "/v1/tenants/acme/idps/corp", { key: admin, headers });
  const read = () => t.call("GET", "/v1/tenants/acme/idps/corp", { key: admin });

  it("refuses a removal whose If-Match names a version replaced since, and keeps the IdP", async () => {
    const replaced = await t.call("PUT", "/v1/tenants/acme/idps/corp", {
      key: admin,
      body: registration(true),
      headers: { "if-match": '"1"' },
    });
    expect(replaced.headers.etag).toBe('"2"');

    const stale = await remove({ "if-match": '"1"' });
    expect(stale.statusCode).toBe(412);
    expect(stale.json()).toMatchObject({
      code: "idp.version_conflict",
      details: { currentVersion: 2 },
    });
    const kept = await read();
    expect(kept.statusCode).toBe(200);
    expect(kept.json()).toMatchObject({ version: 2, saml: { allowUnsolicited: true } });
    const removals = await t.call("GET", "/v1/tenants/acme/audit?type=idp.removed", {
      key: admin,
    });
    expect(removals.json<{ items: unknown[] }>().items).toEqual([]);
  });

  it("removes the IdP when If-Match names its current version", async () => {
    expect((await remove({ "if-match": '"1"' })).statusCode).toBe(204);
    expect((await read()).statusCode).toBe(404);
  });

  it("refuses an If-Match that names no version, as replacing does", async () => {
    const malformed = await remove({ "if-match": 'W/"1"' });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json()).toMatchObject({ code: "request.invalid" });
    expect((await read()).statusCode).toBe(200);
  });

  it("still removes without If-Match, as documented", async () => {
    expect((await remove()).statusCode).toBe(204);
    expect((await read()).statusCode).toBe(404);
  });

  it("answers an If-Match on an IdP that is gone as not found", async () => {
    expect((await remove()).statusCode).toBe(204);
    const again = await remove({ "if-match": '"1"' });
    expect(again.statusCode).toBe(404);
  });
});
