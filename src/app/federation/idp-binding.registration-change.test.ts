/**
 * Threat: a principal's binding to an IdP outlives what it was made for (DESIGN invariant 9). A
 * subject is unique only at the issuer (OIDC) or entity (SAML) that names it, and a binding is
 * made at one; but it named the IdP's id only, so once a tenant administrator pointed IdP "corp"
 * at another issuer or entity (a new tenant of a cloud IdP, a partner's, a typo), that issuer's
 * "alice" was the bound principal alice, her exemptions and her history included. A binding now
 * remembers the issuer or entity id it was made under: an answer about the principal from the IdP
 * registered with another one is refused (`federation.idp_rebound`, audited as other refusals)
 * until an administrator binds the principal again, which takes asking for it (`rebind: true`): a
 * PUT naming the IdP the principal is already bound to, as a provisioning sync sending the whole
 * record does on every run, keeps the binding as made. A registration change that keeps the
 * issuer or entity id (new keys, a new client secret, other settings) keeps the binding. End to end
 * through the HTTP server, against stub OIDC IdPs (real signed ID tokens) and the real samlify IdP.
 */
import type { LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openTestServer, type TestServer } from "../../http/test-support/open-test-server.js";
import {
  auditOf,
  createTenant,
  registerStubIdp,
  stubSignIn,
  syncClock,
} from "../../http/test-support/oidc-federation.js";
import {
  answerAtAcs,
  followCompletion,
  must,
  registerSamlTenant,
} from "../../http/test-support/saml-federation.js";
import { startStubIdp, type StubIdp } from "../../verifiers/oidc/test-support/stub-idp.js";
import { TestIdp } from "../../verifiers/saml/test-support/test-idp.js";

const SAML_RETURN = "https://app.globex.example/signed-in";
const JSON_ONLY = { accept: "application/json" };

/** The SAML tenant's IdP "corp" as first registered. */
const corp = new TestIdp({ entityId: "https://idp.globex.example/saml" });
let first: StubIdp;
let second: StubIdp;
let t: TestServer;
let admin: string;

beforeAll(async () => {
  [first, second] = await Promise.all([startStubIdp(), startStubIdp()]);
  t = await openTestServer({});
  syncClock(t);
  await createTenant(t, "acme", "idp_mfa");
  await registerSamlTenant(t, corp, "globex", { posture: "idp_mfa", returnUrls: [SAML_RETURN] });
  admin = await t.key(["tenant_admin"], ["acme", "globex"]);
});
afterAll(async () => {
  await t.close();
  await Promise.all([first.close(), second.close()]);
});

/**
 * Binds `principal` of `tenant` to its IdP "corp" as it is registered now, or names "corp" again
 * (`rebind` false: what a sync sending the whole record does) when it is bound to it already.
 */
async function bindToCorp(
  tenant: string,
  principal: string,
  rebind = false,
): Promise<Record<string, unknown>> {
  const bound = await t.call("PUT", `/v1/tenants/${tenant}/principals/${principal}`, {
    key: admin,
    body: { population: "sso", idp: "corp", ...(rebind ? { rebind: true } : {}) },
  });
  return must(bound, bound.statusCode === 201 ? 201 : 200).json();
}

/** Whether the answer was decided, or the reason it was refused for. */
function outcomeOf(response: LightMyRequestResponse): string {
  if (response.statusCode === 303 && String(response.headers.location).includes("decision=")) {
    return "decided";
  }
  return `refused: ${response.json<{ details?: { reason?: string } }>().details?.reason ?? response.body}`;
}

/** The reasons of `tenant`'s refusals since `before` of them. */
async function refusalsSince(tenant: string, before: number): Promise<unknown[]> {
  const events = await auditOf(t, admin, tenant, "federation.rejected");
  return events.slice(before).map((event) => [event.payload["idp"], event.payload["reason"]]);
}

describe("a principal bound to an OIDC IdP", () => {
  const signIn = async () => outcomeOf(await stubSignIn(t, second, "acme", "alice", JSON_ONLY));

  it("is not signed in by another issuer registered under the same IdP id, even when named again, until rebound on request", async () => {
    must(await registerStubIdp(t, admin, "acme", first), 201);
    expect(await bindToCorp("acme", "alice")).toMatchObject({
      idp: "corp",
      idpIssuer: first.issuer,
    });
    expect(outcomeOf(await stubSignIn(t, first, "acme", "alice", JSON_ONLY))).toBe("decided");

    // The same issuer registered again (its client secret, say): the binding holds.
    must(await registerStubIdp(t, admin, "acme", first, {}, { ifMatch: '"1"' }), 200);
    expect(outcomeOf(await stubSignIn(t, first, "acme", "alice", JSON_ONLY))).toBe("decided");

    // "corp" now names another issuer, whose own "alice" may be anyone.
    must(await registerStubIdp(t, admin, "acme", second, {}, { ifMatch: '"2"' }), 200);
    const before = (await auditOf(t, admin, "acme", "federation.rejected")).length;
    expect(await signIn()).toBe("refused: federation.idp_rebound");
    expect(await refusalsSince("acme", before)).toEqual([["corp", "federation.idp_rebound"]]);
    // Updating alice's other fields rebinds nothing: the binding stays at the first issuer.
    const updated = await t.call("PUT", "/v1/tenants/acme/principals/alice", {
      key: admin,
      body: { population: "sso", displayName: "Alice" },
    });
    expect(must(updated, 200).json()).toMatchObject({ idp: "corp", idpIssuer: first.issuer });
    expect(await signIn()).toBe("refused: federation.idp_rebound");
    // Naming "corp" again, as a sync sending the whole record does, rebinds nothing either.
    expect(await bindToCorp("acme", "alice")).toMatchObject({ idpIssuer: first.issuer });
    expect(await signIn()).toBe("refused: federation.idp_rebound");
    // An unbound principal signs in at the tenant's IdP, whichever it is, as before.
    expect(outcomeOf(await stubSignIn(t, second, "acme", "bob", JSON_ONLY))).toBe("decided");

    // The administrator asks to bind alice again, at the issuer registered now.
    const updates = (await auditOf(t, admin, "acme", "principal.updated")).length;
    expect(await bindToCorp("acme", "alice", true)).toMatchObject({ idpIssuer: second.issuer });
    expect(await signIn()).toBe("decided");
    const [rebound] = (await auditOf(t, admin, "acme", "principal.updated")).slice(updates);
    expect(rebound?.payload).toMatchObject({
      id: "alice",
      idp: "corp",
      idpIssuer: second.issuer,
      previousIdpIssuer: first.issuer,
    });
  });

  it("refuses a rebind that names no IdP to bind to", async () => {
    const bound = await bindToCorp("acme", "carol");
    for (const idp of [{}, { idp: null }]) {
      const response = await t.call("PUT", "/v1/tenants/acme/principals/carol", {
        key: admin,
        body: { population: "sso", rebind: true, ...idp },
      });
      expect(response.statusCode).toBe(400);
      expect(response.json()).toMatchObject({
        code: "request.invalid",
        detail: expect.stringContaining("rebind"),
      });
    }
    const carol = await t.call("GET", "/v1/tenants/acme/principals/carol", { key: admin });
    expect(must(carol, 200).json()).toMatchObject({ idp: "corp", idpIssuer: bound["idpIssuer"] });
  });

  it("is documented in the OpenAPI request schema of the principal's PUT", async () => {
    type Schema = { properties: Record<string, { type?: string; description?: string }> };
    const document = (await t.call("GET", "/openapi.json")).json<{
      paths: Record<
        string,
        Record<string, { requestBody: { content: Record<string, { schema: Schema }> } }>
      >;
    }>();
    const body =
      document.paths["/v1/tenants/{tenant}/principals/{principal}"]?.["put"]?.requestBody.content[
        "application/json"
      ]?.schema;
    expect(body?.properties["rebind"]).toMatchObject({
      type: "boolean",
      description: expect.stringContaining("registered now"),
    });
  });
});

describe("a principal bound to a SAML IdP", () => {
  const other = new TestIdp({ entityId: "https://idp.other.example/saml" });
  const rotated = new TestIdp({ entityId: "https://idp.globex.example/saml" });

  async function signIn(idp: TestIdp): Promise<string> {
    const { acs, cookie } = await answerAtAcs(t, idp, SAML_RETURN, {}, "globex", {
      headers: JSON_ONLY,
    });
    return outcomeOf(await followCompletion(t, acs, cookie, JSON_ONLY));
  }

  const register = (idp: TestIdp, ifMatch: string) =>
    t.call("PUT", "/v1/tenants/globex/idps/corp", {
      key: admin,
      headers: { "if-match": ifMatch },
      body: { protocol: "saml", saml: { metadataXml: idp.metadataXml(), allowUnsolicited: false } },
    });

  it("is not signed in by another entity registered under the same IdP id, even when named again, until rebound on request", async () => {
    expect(await bindToCorp("globex", "alice@example.org")).toMatchObject({
      idpIssuer: "https://idp.globex.example/saml",
    });
    expect(await signIn(corp)).toBe("decided");

    // The same entity with a new signing key: the binding holds.
    must(await register(rotated, '"1"'), 200);
    expect(await signIn(rotated)).toBe("decided");

    must(await register(other, '"2"'), 200);
    const before = (await auditOf(t, admin, "globex", "federation.rejected")).length;
    expect(await signIn(other)).toBe("refused: federation.idp_rebound");
    expect(await refusalsSince("globex", before)).toEqual([["corp", "federation.idp_rebound"]]);

    await bindToCorp("globex", "alice@example.org");
    expect(await signIn(other)).toBe("refused: federation.idp_rebound");
    await bindToCorp("globex", "alice@example.org", true);
    expect(await signIn(other)).toBe("decided");
  });
});
