// WebAuthn over HTTP, as a browser test will drive it: options JSON out, the browser's response
// JSON in. A passkey registered and used through the API yields an event that lets a
// `phishing_resistant` sign-in through the decision API; a backup-eligible (synced) credential
// does not reach AAL3 (SP 800-63B-4 Appendix B).
import type { LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createWebAuthnProtocol } from "../../verifiers/webauthn/index.js";
import { AttestationVendor } from "../../verifiers/webauthn/test-support/attestation-ca.js";
import { SoftAuthenticator } from "../../verifiers/webauthn/test-support/soft-authenticator.js";
import { openTestServer, type TestServer } from "../test-support/open-test-server.js";

let t: TestServer;
let service: string;
const base = "/v1/tenants/acme/principals/alice/authenticators";
const ORIGIN = "https://mfa.test";

async function setPolicy(policy: Record<string, unknown>): Promise<void> {
  const version = (await t.call("GET", "/v1/tenants/acme/policy", { key: t.adminKey })).headers
    .etag;
  const put = await t.call("PUT", "/v1/tenants/acme/policy", {
    key: t.adminKey,
    headers: { "if-match": String(version) },
    body: { policy, rationale: "WebAuthn flow test" },
  });
  expect(put.statusCode, put.body).toBe(200);
}

let vendor: AttestationVendor;
beforeAll(async () => {
  vendor = await AttestationVendor.create("Keys Inc");
  t = await openTestServer({
    webauthn: {
      protocol: createWebAuthnProtocol({ attestationRoots: [vendor.rootPem] }),
      publicUrl: ORIGIN,
    },
  });
  await t.call("POST", "/v1/tenants", { key: t.adminKey, body: { id: "acme", name: "Acme Corp" } });
  await t.call("PUT", "/v1/tenants/acme/principals/alice", {
    key: t.adminKey,
    body: { population: "direct", displayName: "alice@acme.example" },
  });
  await setPolicy({ posture: "phishing_resistant" });
  service = await t.key(["platform_service"], ["acme"]);
});
afterAll(() => t.close());

const codeOf = (response: LightMyRequestResponse) => [
  response.statusCode,
  response.json<{ code?: string }>().code,
];

async function register(key: SoftAuthenticator, name: string) {
  const begun = await t.call("POST", `${base}/webauthn/registrations`, { key: service });
  expect(begun.statusCode, begun.body).toBe(201);
  expect(begun.headers["cache-control"]).toBe("no-store");
  const { registration, options, expiresAt } = begun.json<{
    registration: string;
    options: Record<string, unknown>;
    expiresAt: string;
  }>();
  expect(expiresAt).toBe(new Date(t.clock.now().getTime() + 300_000).toISOString());
  const finished = await t.call("POST", `${base}/webauthn/registrations/${registration}`, {
    key: service,
    body: { response: key.register(options), name },
  });
  expect(finished.statusCode, finished.body).toBe(201);
  expect(finished.headers["cache-control"]).toBe("no-store");
  return finished.json<{
    id: string;
    credentialId: string;
    kind: string;
    backupEligible: boolean;
  }>();
}

async function authenticate(key: SoftAuthenticator) {
  const begun = await t.call("POST", `${base}/webauthn/authentications`, { key: service });
  expect(begun.statusCode, begun.body).toBe(201);
  expect(begun.headers["cache-control"]).toBe("no-store");
  const { authentication, options } = begun.json<{
    authentication: string;
    options: Record<string, unknown>;
  }>();
  const response = key.authenticate(options);
  const finished = await t.call("POST", `${base}/webauthn/authentications/${authentication}`, {
    key: service,
    body: { response },
  });
  return { finished, authentication, response, options };
}

const decide = (event: Record<string, unknown>) =>
  t.call("POST", "/v1/tenants/acme/decisions", {
    key: service,
    body: {
      principal: { id: "alice" },
      evidence: { events: [{ method: "password", source: "platform", at: event.at }, event] },
    },
  });

describe("WebAuthn over HTTP", () => {
  it("registers a passkey, authenticates, and the event lets a phishing-resistant sign-in through", async () => {
    const key = new SoftAuthenticator({ origin: ORIGIN });
    const credential = await register(key, "laptop");
    expect(credential).toMatchObject({ kind: "webauthn", backupEligible: false });
    expect(JSON.stringify(credential)).not.toContain("publicKey");

    t.clock.advance(5);
    const { finished, authentication, response, options } = await authenticate(key);
    expect(options).toMatchObject({
      rpId: "mfa.test",
      userVerification: "required",
      allowCredentials: [expect.objectContaining({ id: credential.credentialId })],
    });
    expect(finished.statusCode, finished.body).toBe(200);
    expect(finished.headers["cache-control"]).toBe("no-store");
    const { event, warnings } = finished.json<{
      event: Record<string, unknown>;
      warnings?: unknown;
    }>();
    expect(warnings).toBeUndefined();
    expect(event).toEqual({
      method: "webauthn",
      source: "platform",
      at: t.clock.now().toISOString(),
      userVerified: true,
      backupEligible: false,
      attested: false,
      credentialId: credential.credentialId,
      verification: expect.stringMatching(/^evt_/),
    });

    const replayed = await t.call("POST", `${base}/webauthn/authentications/${authentication}`, {
      key: service,
      body: { response },
    });
    expect(codeOf(replayed)).toEqual([400, "webauthn.challenge_unknown"]);
    expect(replayed.headers["content-type"]).toMatch(/^application\/problem\+json/);

    const decided = await decide(event);
    expect(decided.json()).toMatchObject({ outcome: "allow" });
    // Without the WebAuthn event, the same sign-in is challenged for one.
    const passwordOnly = await t.call("POST", "/v1/tenants/acme/decisions", {
      key: service,
      body: {
        principal: { id: "alice" },
        evidence: { events: [{ method: "password", source: "platform", at: event.at }] },
      },
    });
    expect(passwordOnly.json()).toMatchObject({ outcome: "challenge" });

    const listed = await t.call("GET", base, { key: service });
    expect(listed.json<{ items: { id: string; kind: string }[] }>().items).toEqual([
      expect.objectContaining({
        id: credential.id,
        kind: "webauthn",
        name: "laptop",
        attested: false,
        cloneSuspectedAt: null,
        countsAsAttested: false,
      }),
    ]);
    expect(listed.body).not.toContain("publicKey");
  });

  it("keeps a synced passkey (BE=1) and an unattested key below AAL3, where an attested device-bound key reaches it", async () => {
    await setPolicy({ posture: "phishing_resistant", require: { minAal: 3 } });
    try {
      const synced = new SoftAuthenticator({
        origin: ORIGIN,
        backupEligible: true,
        backupState: true,
      });
      await register(synced, "phone");
      const syncedEvent = (await authenticate(synced)).finished.json<{
        event: Record<string, unknown>;
      }>().event;
      expect(syncedEvent).toMatchObject({ backupEligible: true, userVerified: true });
      expect((await decide(syncedEvent)).json()).not.toMatchObject({ outcome: "allow" });

      const unproven = new SoftAuthenticator({ origin: ORIGIN, attestation: "packed-self" });
      await register(unproven, "software key");
      const unprovenEvent = (await authenticate(unproven)).finished.json<{
        event: Record<string, unknown>;
      }>().event;
      expect(unprovenEvent).toMatchObject({ backupEligible: false, attested: false });
      expect((await decide(unprovenEvent)).json()).not.toMatchObject({ outcome: "allow" });

      const model = "cb69481e-8ff7-4039-93ec-0a2729a154a8";
      const bound = new SoftAuthenticator({
        origin: ORIGIN,
        aaguid: model,
        attestation: await vendor.batch({ aaguid: model }),
      });
      expect(await register(bound, "security key")).toMatchObject({ attested: true });
      const boundEvent = (await authenticate(bound)).finished.json<{
        event: Record<string, unknown>;
      }>().event;
      expect(boundEvent).toMatchObject({ attested: true });
      expect((await decide(boundEvent)).json()).toMatchObject({
        outcome: "allow",
        satisfiedBy: { aal: 3 },
      });
    } finally {
      await setPolicy({ posture: "phishing_resistant" });
    }
  });

  it("asks for the attestation when a registration's caller asks, and never for less than the settings", async () => {
    const begin = (body?: unknown) =>
      t.call("POST", `${base}/webauthn/registrations`, {
        key: service,
        ...(body === undefined ? {} : { body }),
      });
    const attestationOf = (response: LightMyRequestResponse) =>
      response.json<{ options: { attestation?: string } }>().options.attestation;
    expect(attestationOf(await begin())).toBe("none");
    expect(attestationOf(await begin({ attestation: "direct" }))).toBe("direct");
    for (const bad of [{ attestation: "none" }, { attestation: "enterprise" }, { other: 1 }]) {
      expect(codeOf(await begin(bad)), JSON.stringify(bad)).toEqual([400, "request.invalid"]);
    }
  });

  it("answers refusals with coded problems, never a 500", async () => {
    const key = new SoftAuthenticator({ origin: ORIGIN });
    await register(key, "key");
    const start = async () =>
      (await t.call("POST", `${base}/webauthn/authentications`, { key: service })).json<{
        authentication: string;
        options: Record<string, unknown>;
      }>();
    const finish = (id: string, body: unknown) =>
      t.call("POST", `${base}/webauthn/authentications/${id}`, { key: service, body });

    let begun = await start();
    expect(
      codeOf(
        await finish(begun.authentication, {
          response: key.authenticate(begun.options, { uv: false }),
        }),
      ),
    ).toEqual([422, "webauthn.user_not_verified"]);
    begun = await start();
    expect(
      codeOf(
        await finish(begun.authentication, {
          response: key.authenticate(begun.options, { origin: "https://evil.example" }),
        }),
      ),
    ).toEqual([400, "webauthn.origin_not_allowed"]);
    begun = await start();
    expect(codeOf(await finish(begun.authentication, { response: { id: "x" } }))).toEqual([
      400,
      "request.invalid",
    ]);
    expect(
      codeOf(
        await finish(begun.authentication, { response: key.authenticate(begun.options), extra: 1 }),
      ),
    ).toEqual([400, "request.invalid"]);
    expect(
      codeOf(await finish("wauth_unknown", { response: key.authenticate(begun.options) })),
    ).toEqual([400, "webauthn.challenge_unknown"]);
    const none = await t.call(
      "POST",
      "/v1/tenants/acme/principals/nobody/authenticators/webauthn/authentications",
      { key: service },
    );
    expect(codeOf(none)).toEqual([422, "webauthn.no_credentials"]);
  });

  it("removes a WebAuthn credential through the authenticator route, audited", async () => {
    const key = new SoftAuthenticator({ origin: ORIGIN });
    const credential = await register(key, "old key");
    const removed = await t.call("DELETE", `${base}/${credential.id}`, { key: service });
    expect(removed.statusCode).toBe(204);
    const listed = await t.call("GET", base, { key: service });
    expect(listed.json<{ items: { id: string }[] }>().items.map((a) => a.id)).not.toContain(
      credential.id,
    );
    const audit = await t.call("GET", "/v1/tenants/acme/audit?type=authenticator.removed", {
      key: t.adminKey,
    });
    expect(audit.json<{ items: { payload: Record<string, unknown> }[] }>().items).toEqual([
      expect.objectContaining({
        payload: expect.objectContaining({
          authenticator: credential.id,
          kind: "webauthn",
        }) as unknown,
      }),
    ]);
  });

  it("reads and sets the tenant's relying party, validated and audited", async () => {
    const read = await t.call("GET", "/v1/tenants/acme/webauthn", { key: t.adminKey });
    expect(read.json()).toMatchObject({ source: "default", rpId: "mfa.test", origins: [ORIGIN] });
    const bad = await t.call("PUT", "/v1/tenants/acme/webauthn", {
      key: t.adminKey,
      body: { rpId: "mfa.test", origins: ["https://evil.example"] },
    });
    expect(codeOf(bad)).toEqual([422, "webauthn.settings_invalid"]);
    const put = await t.call("PUT", "/v1/tenants/acme/webauthn", {
      key: t.adminKey,
      body: { rpId: "mfa.test", origins: [ORIGIN], userVerification: "preferred" },
    });
    expect(put.statusCode, put.body).toBe(200);
    expect(put.json()).toMatchObject({ source: "tenant", userVerification: "preferred" });
    const audit = await t.call("GET", "/v1/tenants/acme/audit?type=webauthn.settings_changed", {
      key: t.adminKey,
    });
    expect(audit.json<{ items: unknown[] }>().items).toHaveLength(1);
  });

  it("takes `lock` as the clone policy, and refuses a policy it does not know", async () => {
    const settings = { rpId: "mfa.test", origins: [ORIGIN], userVerification: "preferred" };
    const put = await t.call("PUT", "/v1/tenants/acme/webauthn", {
      key: t.adminKey,
      body: { ...settings, signCountPolicy: "lock" },
    });
    expect(put.statusCode, put.body).toBe(200);
    expect(put.json()).toMatchObject({ source: "tenant", signCountPolicy: "lock" });
    const read = await t.call("GET", "/v1/tenants/acme/webauthn", { key: t.adminKey });
    expect(read.json()).toMatchObject({ signCountPolicy: "lock" });
    const unknown = await t.call("PUT", "/v1/tenants/acme/webauthn", {
      key: t.adminKey,
      body: { ...settings, signCountPolicy: "quarantine" },
    });
    expect(codeOf(unknown)).toEqual([400, "request.invalid"]);
    const kept = await t.call("GET", "/v1/tenants/acme/webauthn", { key: t.adminKey });
    expect(kept.json()).toMatchObject({ signCountPolicy: "lock" });
  });

  it("documents the WebAuthn routes in the OpenAPI document", async () => {
    type Schema = { properties?: Record<string, { enum?: string[] }> };
    const document = (await t.call("GET", "/openapi.json")).json<{
      paths: Record<
        string,
        Record<
          string,
          {
            requestBody?: { content: Record<string, { schema: Schema }> };
            responses: Record<string, { content?: Record<string, { schema: Schema }> }>;
          }
        >
      >;
    }>();
    const finish =
      document.paths[
        "/v1/tenants/{tenant}/principals/{principal}/authenticators/webauthn/authentications/{authentication}"
      ];
    expect(Object.keys(finish?.post?.responses ?? {})).toEqual(
      expect.arrayContaining(["200", "400", "409", "422", "423"]),
    );
    const settings = document.paths["/v1/tenants/{tenant}/webauthn"];
    expect(settings).toHaveProperty("put");
    expect(
      settings?.put?.requestBody?.content["application/json"]?.schema.properties?.signCountPolicy
        ?.enum,
    ).toEqual(["reject", "lock", "warn"]);
    expect(
      settings?.get?.responses["200"]?.content?.["application/json"]?.schema.properties
        ?.signCountPolicy?.enum,
    ).toEqual(["reject", "lock", "warn"]);
  });
});
