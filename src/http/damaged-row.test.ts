// Threat: a row of the store altered outside the service, its JSON text no longer JSON: a
// tenant, the caller's own API key, a mandate, a signing key, a tenant policy version, an IdP
// registration, a WebAuthn credential. Requests that read it answered
// `503 store.unavailable` with a `Retry-After`, which has clients retry forever and sends the
// operator to the network instead of to one altered row. They answer `500 store.record_damaged`
// (no `Retry-After`: retrying will not help), naming the row in `detail` and `details.damaged`
// as `audit verify` names it to an authenticated caller, and in the log only (as tampering) to
// anyone else; and a decision that meets such a row is never given (DESIGN invariant 1: fail
// closed). On SQLite and on PostgreSQL.
import type { LightMyRequestResponse } from "fastify";
import { afterEach, expect, it } from "vitest";
import type { Caller } from "../app/application.js";
import type { DamagedRow } from "../app/ports.js";
import { describeOnEachStore } from "../app/test-support/each-store.js";
import { tamperStore } from "../app/test-support/tampered-world.js";
import { openStore } from "../storage/open-store.js";
import { SoftAuthenticator } from "../verifiers/webauthn/test-support/soft-authenticator.js";
import { capturedLog } from "./test-support/captured-log.js";
import { openTestServer, type TestServer } from "./test-support/open-test-server.js";

/**
 * What every answer to a request that met `row` must be; `audited` when `audit verify` reads its
 * table (it is pointed to only then).
 */
function expectDamaged(
  response: LightMyRequestResponse,
  row: DamagedRow,
  name: string,
  audited = true,
): void {
  const verify = audited ? "; `tenant-mfa audit verify` names every damaged row" : "";
  expect(response.statusCode, response.body).toBe(500);
  expect(response.headers["content-type"]).toMatch(/^application\/problem\+json/);
  expect(response.headers["retry-after"]).toBeUndefined();
  expect(response.json()).toEqual({
    type: "urn:tenant-mfa:problem:store.record_damaged",
    title: expect.any(String),
    status: 500,
    detail: `DAMAGED: ${name}: its stored text is not JSON (altered outside the service). Whatever reads it is refused until each damaged row is restored from a backup${verify}.`,
    code: "store.record_damaged",
    instance: expect.any(String),
    details: { damaged: [row] },
  });
}

const damagedRowTests = (open: () => Promise<string>) => {
  let t: TestServer | undefined;
  let url: string;
  let admin: Caller;
  const { logger, lines } = capturedLog();
  const server = (): TestServer => {
    if (t === undefined) throw new Error("not set up");
    return t;
  };

  /**
   * What a caller who is not authenticated gets when a request meets `row`: the code, with no
   * record named; the log, from line `before` on, names it at error level as tampering.
   */
  const expectDamagedUnnamed = (
    response: LightMyRequestResponse,
    row: DamagedRow,
    name: string,
    before: number,
  ): void => {
    expect(response.statusCode, response.body).toBe(500);
    expect(response.headers["retry-after"]).toBeUndefined();
    const problem = response.json<Record<string, unknown>>();
    expect(problem).toEqual({
      type: "urn:tenant-mfa:problem:store.record_damaged",
      title: expect.any(String),
      status: 500,
      detail: problem["title"],
      code: "store.record_damaged",
      instance: expect.any(String),
    });
    expect(response.body).not.toMatch(/DAMAGED|audit verify/);
    expect(response.body).not.toContain(name);
    expectLoggedAsTampering(row, name, before);
  };
  /** The log, from line `before` on, names `row` at error level as tampering. */
  const expectLoggedAsTampering = (row: DamagedRow, name: string, before: number): void => {
    const logged = lines.slice(before).map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(logged).toContainEqual(
      expect.objectContaining({
        level: 50,
        code: "store.record_damaged",
        detail: expect.stringContaining(`DAMAGED: ${name}:`),
        details: { damaged: [row] },
      }),
    );
  };

  const setUp = async () => {
    url = await open();
    t = await openTestServer({ store: await openStore(url), logger });
    admin = await t.app.authenticate(t.adminKey);
    await t.app.tenants.create(admin, { id: "acme", name: "Acme" });
    await t.app.principals.upsert(admin, "acme", "alice", { population: "direct" });
  };
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  /** A `platform_service` key of acme: its id and secret. */
  const serviceKey = async () => {
    const created = await server().call("POST", "/v1/api-keys", {
      key: server().adminKey,
      body: { name: "backend", roles: ["platform_service"], tenants: ["acme"] },
    });
    const { key, secret } = created.json<{ key: { id: string }; secret: string }>();
    return { id: key.id, secret };
  };
  const decide = (key: string) => {
    const at = (seconds: number) => new Date(server().clock.now().getTime() - seconds * 1000);
    return server().call("POST", "/v1/tenants/acme/decisions", {
      key,
      body: {
        principal: { id: "alice" },
        evidence: {
          events: [
            { method: "password", source: "platform", at: at(60).toISOString() },
            { method: "totp", source: "platform", at: at(30).toISOString() },
          ],
        },
      },
    });
  };
  /** A decision by `secret`, allowed; then the same once `statements` ran behind the service. */
  const decideAgainOnceTampered = async (secret: string, statements: readonly string[]) => {
    const allowed = await decide(secret);
    expect([allowed.statusCode, allowed.json<{ outcome: string }>().outcome]).toEqual([
      201,
      "allow",
    ]);
    await tamperStore(url, statements);
    // Past the second for which the rules read before may serve.
    server().clock.advance(2);
    return decide(secret);
  };
  /** Registers acme's OIDC IdP `corp`, then makes its row's text no longer JSON. */
  const registerDamagedIdp = async () => {
    const registered = await server().call("PUT", "/v1/tenants/acme/idps/corp", {
      key: server().adminKey,
      body: {
        protocol: "oidc",
        oidc: { issuer: "https://oidc.acme.example", clientId: "tenant-mfa", clientSecret: "s" },
      },
    });
    expect(registered.statusCode, registered.body).toBe(201);
    await tamperStore(url, [
      "UPDATE idps SET document = substr(document, 2) WHERE tenant = 'acme' AND id = 'corp'",
    ]);
  };
  const receipts = async () =>
    (await server().store.read((r) => r.receipts.countByTenant())).get("acme") ?? 0;

  it("answers tenant routes that read a tenant row that is not JSON, naming it, logged as tampering", async () => {
    await setUp();
    await tamperStore(url, ["UPDATE tenants SET return_urls = 'not json' WHERE id = 'acme'"]);
    const before = lines.length;
    for (const path of ["/v1/tenants/acme", "/v1/tenants/acme/principals"]) {
      const response = await server().call("GET", path, { key: server().adminKey });
      expectDamaged(response, { table: "tenants", id: "acme" }, "tenants row acme");
    }
    const logged = lines.slice(before).map((line) => JSON.parse(line) as { level: number });
    // The row to restore is in the log, as the hosted flow pages log it.
    expect(logged).toContainEqual(
      expect.objectContaining({
        level: 50,
        code: "store.record_damaged",
        details: { damaged: [{ table: "tenants", id: "acme" }] },
      }),
    );
  });

  // The key could not be read, so its holder is not authenticated: the row is named in the log.
  it("refuses a caller whose API key row is not JSON, naming the row in the log, and gives no decision", async () => {
    await setUp();
    const { id, secret } = await serviceKey();
    await tamperStore(url, [`UPDATE api_keys SET roles = 'not json' WHERE id = '${id}'`]);
    const before = lines.length;
    const refused = await decide(secret);
    expectDamagedUnnamed(refused, { table: "api_keys", id }, `api_keys row ${id}`, before);
    expect(refused.body).not.toContain("allow");
    expect(await receipts()).toBe(0);
  });

  it("gives no decision when a mandate row is not JSON, where the sign-in was allowed before (fail closed)", async () => {
    await setUp();
    await server().app.mandates.create(admin, {
      id: "uplift",
      mandate: { scope: { tenants: "all" }, require: { minAal: 2 }, exemptible: true },
      rationale: "threat",
    });
    const { secret } = await serviceKey();
    const refused = await decideAgainOnceTampered(secret, [
      "UPDATE mandate_versions SET mandate = '{' WHERE id = 'uplift'",
    ]);
    expectDamaged(
      refused,
      { table: "mandate_versions", id: "uplift", version: 1 },
      "mandate_versions row uplift version 1",
    );
    expect(refused.body).not.toContain("allow");
    expect(await receipts()).toBe(1);
  });

  it("answers a checkpoint and the JWK Set that read a signing key row that is not JSON, naming it to the checkpoint's caller", async () => {
    await setUp();
    const [first] = (await server().app.assurance.jwks()).keys;
    const removed = first?.kid ?? "";
    // Rotated as compromised, the first key leaves the JWK Set; it is kept for its checkpoints.
    const { kid: signing } = await server().app.assurance.rotateSigningKey(admin, {
      compromised: true,
    });
    const damage = (kid: string) =>
      tamperStore(url, [`UPDATE signing_keys SET public_jwk = 'not json' WHERE kid = '${kid}'`]);
    await damage(removed);
    // The JWK Set reads the published keys only; a checkpoint reads every key ever made.
    expect((await server().call("GET", "/.well-known/jwks.json")).statusCode).toBe(200);
    const checkpoint = await server().call("GET", "/v1/audit/checkpoint?tenant=acme", {
      key: server().adminKey,
    });
    expectDamaged(
      checkpoint,
      { table: "signing_keys", id: removed },
      `signing_keys row ${removed}`,
    );
    await damage(signing);
    // The JWK Set's readers are anyone: the row is named in the log only.
    const before = lines.length;
    expectDamagedUnnamed(
      await server().call("GET", "/.well-known/jwks.json"),
      { table: "signing_keys", id: signing },
      `signing_keys row ${signing}`,
      before,
    );
  });

  it("gives no decision when the tenant's policy row is not JSON, where the sign-in was allowed before (fail closed)", async () => {
    await setUp();
    const { secret } = await serviceKey();
    const refused = await decideAgainOnceTampered(secret, [
      "UPDATE policy_versions SET policy = '{' WHERE tenant = 'acme'",
    ]);
    expectDamaged(
      refused,
      { table: "policy_versions", id: "acme", version: 1 },
      "policy_versions row acme version 1",
    );
    expect(refused.body).not.toContain("allow");
    expect(await receipts()).toBe(1);
  });

  it("answers the IdP read route, when the IdP's row is not JSON, naming it", async () => {
    await setUp();
    await registerDamagedIdp();
    expectDamaged(
      await server().call("GET", "/v1/tenants/acme/idps/corp", { key: server().adminKey }),
      { table: "idps", tenant: "acme", id: "corp" },
      "idps row corp of tenant acme",
    );
  });

  it("names an IdP row that is not JSON only in the log when a browser endpoint meets it, never to the browser", async () => {
    await setUp();
    await registerDamagedIdp();
    const before = lines.length;
    const start = "/t/acme/idps/corp/start?return_to=https%3A%2F%2Fapp.acme.example%2F";
    const page = await server().call("GET", start);
    expect(page.statusCode, page.body).toBe(500);
    expect(page.headers["content-type"]).toMatch(/^text\/html/);
    expect(page.body).toContain("<code>store.record_damaged</code>");
    expect(page.body).not.toMatch(/idps row|DAMAGED|audit verify/);
    const row = { table: "idps", tenant: "acme", id: "corp" } as const;
    expectLoggedAsTampering(row, "idps row corp of tenant acme", before);
    const json = lines.length;
    expectDamagedUnnamed(
      await server().call("GET", start, { headers: { accept: "application/json" } }),
      row,
      "idps row corp of tenant acme",
      json,
    );
  });

  it("answers the authenticator list, when a WebAuthn credential's row is not JSON, naming it", async () => {
    await setUp();
    const { secret } = await serviceKey();
    const base = "/v1/tenants/acme/principals/alice/authenticators";
    const begun = await server().call("POST", `${base}/webauthn/registrations`, { key: secret });
    expect(begun.statusCode, begun.body).toBe(201);
    const { registration, options } = begun.json<{
      registration: string;
      options: Record<string, unknown>;
    }>();
    const passkey = new SoftAuthenticator({ origin: "https://mfa.test" });
    const finished = await server().call("POST", `${base}/webauthn/registrations/${registration}`, {
      key: secret,
      body: { response: passkey.register(options), name: "laptop" },
    });
    expect(finished.statusCode, finished.body).toBe(201);
    const { id } = finished.json<{ id: string }>();
    expect((await server().call("GET", base, { key: secret })).statusCode).toBe(200);
    await tamperStore(url, [
      `UPDATE webauthn_credentials SET transports = '[' WHERE tenant = 'acme' AND id = '${id}'`,
    ]);
    for (const key of [secret, server().adminKey]) {
      expectDamaged(
        await server().call("GET", base, { key }),
        { table: "webauthn_credentials", tenant: "acme", id },
        `webauthn_credentials row ${id} of tenant acme`,
      );
    }
  });

  it("answers a hosted flow page whose flow row is not JSON with a page that cannot complete the sign-in, the row logged only", async () => {
    await setUp();
    const { secret } = await serviceKey();
    await server().app.tenants.setReturnUrls(admin, "acme", {
      returnUrls: ["https://app.acme.example/done"],
    });
    const started = await server().call("POST", "/v1/tenants/acme/flows", {
      key: secret,
      body: { principal: { id: "alice" }, return_to: "https://app.acme.example/done" },
    });
    expect(started.statusCode, started.body).toBe(201);
    const { flow } = started.json<{ flow: string }>();
    await tamperStore(url, [`UPDATE flows SET document = '{' WHERE id = '${flow}'`]);
    const before = lines.length;
    const page = await server().call("GET", `/t/acme/flows/${flow}`);
    expect(page.statusCode).toBe(500);
    expect(page.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(page.headers["retry-after"]).toBeUndefined();
    expect(page.body).toContain("<code>flow.cannot_complete</code>");
    expect(page.body).not.toMatch(/flows row|DAMAGED|record_damaged|try again later/);
    const logged = lines.slice(before).map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(logged).toContainEqual(
      expect.objectContaining({
        level: 50,
        code: "store.record_damaged",
        details: { damaged: [{ table: "flows", id: flow }] },
      }),
    );
  });
  // Each JSON column of the tables around a decision, damaged in every row, one column at a time:
  // a decision that reads one (the caller's key, the policy, the mandates) is refused, and one
  // that does not is the decision it was (a damaged row elsewhere blocks nothing it need not).
  it.each([
    ["api_keys", "roles", true],
    ["policy_versions", "policy", true],
    ["mandate_versions", "mandate", true],
    ["tenants", "return_urls", false],
    ["idps", "document", false],
    ["signing_keys", "public_jwk", false],
    ["receipts", "decision", false],
    ["audit_events", "payload", false],
  ] as const)(
    "never answers allow from what a damaged %s.%s row held (refused: %s)",
    async (table, column, refused) => {
      await setUp();
      await server().app.mandates.create(admin, {
        id: "uplift",
        mandate: { scope: { tenants: "all" }, require: { minAal: 2 }, exemptible: true },
        rationale: "threat",
      });
      await server().call("PUT", "/v1/tenants/acme/idps/corp", {
        key: server().adminKey,
        body: {
          protocol: "oidc",
          oidc: { issuer: "https://oidc.acme.example", clientId: "tenant-mfa", clientSecret: "s" },
        },
      });
      const { secret } = await serviceKey();
      const answered = await decideAgainOnceTampered(secret, [
        `UPDATE ${table} SET ${column} = substr(${column}, 2)`,
      ]);
      if (refused) {
        expect([answered.statusCode, answered.json<{ code: string }>().code]).toEqual([
          500,
          "store.record_damaged",
        ]);
        expect(answered.body).not.toContain("allow");
        expect(await receipts()).toBe(1);
      } else {
        expect([answered.statusCode, answered.json<{ outcome: string }>().outcome]).toEqual([
          201,
          "allow",
        ]);
      }
    },
  );
};

describeOnEachStore("a damaged row met by a request", damagedRowTests);
