/**
 * Threat: an IdP's signing key leaks; the IdP withdraws it from its JWKS and the tenant registers
 * the IdP again, to stop trusting what the key signs. The key set is cached per issuer for ten
 * minutes (the documented bound for a key the IdP removes unseen); the registration change must
 * end it at the next sign-in, as it ends browser sessions and unexchanged codes at that IdP.
 * End to end through the HTTP server against the stub OIDC IdP (a real HTTP IdP that signs ID
 * tokens), the server's own OIDC relying party and caches.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openTestServer, type TestServer } from "../../http/test-support/open-test-server.js";
import {
  auditOf,
  browserAfter,
  createTenant,
  registerStubIdp,
  startSignIn,
} from "../../http/test-support/oidc-federation.js";
import {
  mfaClaims,
  startStubIdp,
  type StubIdp,
} from "../../verifiers/oidc/test-support/stub-idp.js";

let stub: StubIdp;
let t: TestServer;
let admin: string;
let auditor: string;
beforeAll(async () => {
  stub = await startStubIdp();
  t = await openTestServer({ federation: { publicUrl: "https://mfa.test" } });
  // ID tokens carry the real time; the server reads its test clock.
  t.clock.advance((Date.now() - t.clock.now().getTime()) / 1000);
  await createTenant(t, "acme", "idp_mfa");
  admin = await t.key(["tenant_admin"], ["acme"]);
  auditor = await t.key(["tenant_auditor"], ["acme"]);
  expect((await registerStubIdp(t, admin, "acme", stub)).statusCode).toBe(201);
});
afterAll(async () => {
  await t.close();
  await stub.close();
});

/** A sign-in whose ID token the stub signs with its first key: the decision's outcome. */
async function signIn(): Promise<string> {
  const started = await startSignIn(t, "acme", {});
  expect(started.statusCode).toBe(303);
  const cookie = browserAfter(started);
  const authorization = new URL(String(started.headers.location));
  const state = authorization.searchParams.get("state") ?? "";
  const now = Math.floor(t.clock.now().getTime() / 1000);
  stub.nextIdToken = await stub.sign(mfaClaims(stub, authorization, "alice", now));
  const callback = await t.call(
    "GET",
    `/t/acme/idps/corp/oidc/callback?code=the-code&state=${encodeURIComponent(state)}`,
    { headers: { cookie } },
  );
  if (callback.statusCode !== 303) return `refused ${String(callback.statusCode)} ${callback.body}`;
  const decision = new URL(String(callback.headers.location)).searchParams.get("decision");
  if (decision === null) return "no decision";
  const receipt = await t.call("GET", `/v1/decisions/${decision}`, { key: auditor });
  return receipt.json<{ outcome: string }>().outcome;
}

describe("registering an OIDC IdP again", () => {
  it("stops a key the IdP withdrew from verifying at the next sign-in", async () => {
    expect(await signIn()).toBe("allow");
    stub.publishedKeys = [];
    // Unchanged, the registration keeps the set it cached (within its ten minutes).
    expect(await signIn()).toBe("allow");

    const again = await registerStubIdp(t, admin, "acme", stub, {});
    expect(again.statusCode).toBe(428);
    const replaced = await registerStubIdp(t, admin, "acme", stub, {}, { ifMatch: '"1"' });
    expect(replaced.statusCode).toBe(200);
    // The set is fetched again for the new registration: the withdrawn key verifies nothing.
    expect(await signIn()).toMatch(/^refused 400 .*federation\.rejected/s);
    const refusals = await auditOf(t, auditor, "acme", "federation.rejected");
    expect(refusals.map((event) => event.payload.reason)).toEqual(["oidc.key_unknown"]);
  });
});
