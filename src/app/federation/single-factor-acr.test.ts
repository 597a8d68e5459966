/**
 * Threat: an IdP's signed `acr` says one factor at most (REFEDS SFA, OpenID `acr` "0") while its
 * `amr` says ["pwd","mfa"]. The context value ranks above `amr` (checklist O10), so the sign-in is
 * not MFA and, under `idp_mfa`, not allowed. End to end through the HTTP server against the stub
 * OIDC IdP (a real HTTP IdP that signs ID tokens), with the default registration.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openTestServer, type TestServer } from "../../http/test-support/open-test-server.js";
import { cookieOf } from "../../http/test-support/browser-cookie.js";
import {
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
beforeAll(async () => {
  stub = await startStubIdp();
  // An IdP that takes the claims parameter: asked for MFA as an essential acr claim.
  stub.discoveryOverrides = { claims_parameter_supported: true };
});
afterAll(() => stub.close());

let t: TestServer | undefined;
afterAll(async () => {
  await t?.close();
});

async function acme(): Promise<{ t: TestServer; auditor: string }> {
  await t?.close();
  const server = await openTestServer({ federation: { publicUrl: "https://mfa.test" } });
  t = server;
  // ID tokens carry the real time; the server reads its test clock.
  server.clock.advance((Date.now() - server.clock.now().getTime()) / 1000);
  await createTenant(server, "acme", "idp_mfa");
  const admin = await server.key(["tenant_admin"], ["acme"]);
  const auditor = await server.key(["tenant_auditor"], ["acme"]);
  expect((await registerStubIdp(server, admin, "acme", stub)).statusCode).toBe(201);
  return { t: server, auditor };
}

/** Starts a sign-in, has the stub sign `extra` into the ID token, completes the callback. */
async function outcomeWith(extra: Record<string, unknown>): Promise<string> {
  const { t: server, auditor } = await acme();
  const started = await startSignIn(server, "acme", {});
  expect(started.statusCode).toBe(303);
  // The callback counts only in the browser that started the sign-in (login CSRF): without its
  // cookie every answer is refused before its acr is read, and the test would prove nothing.
  const browser = cookieOf(started);
  const authorization = new URL(String(started.headers.location));
  // The default registration asks for REFEDS MFA, essential.
  expect(authorization.searchParams.get("claims")).toContain('"essential":true');
  const state = authorization.searchParams.get("state") ?? "";
  const now = Math.floor(server.clock.now().getTime() / 1000);
  stub.nextIdToken = await stub.sign(mfaClaims(stub, authorization, "alice", now, extra));
  const callback = await server.call(
    "GET",
    `/t/acme/idps/corp/oidc/callback?code=the-code&state=${encodeURIComponent(state)}`,
    { headers: { cookie: browser } },
  );
  if (callback.statusCode !== 303) return `refused ${String(callback.statusCode)}`;
  const decision = new URL(String(callback.headers.location)).searchParams.get("decision");
  if (decision === null) return "no decision";
  const receipt = await server.call("GET", `/v1/decisions/${decision}`, { key: auditor });
  return receipt.json<{ outcome: string }>().outcome;
}

describe("an IdP's single-factor acr is not turned into MFA by its amr", () => {
  // The control: the same sign-in with an MFA acr is allowed, so a refusal below is the acr's.
  it("allows acr REFEDS MFA with amr [pwd, mfa] under idp_mfa", async () => {
    expect(await outcomeWith({ acr: "https://refeds.org/profile/mfa", amr: ["pwd", "mfa"] })).toBe(
      "allow",
    );
  });

  it.each(["https://refeds.org/profile/sfa", "0"])(
    "acr %s with amr [pwd, mfa] is never allowed under idp_mfa",
    async (acr) => {
      // Decided, and not allowed: a refusal before the decision would prove nothing of the acr.
      expect(await outcomeWith({ acr, amr: ["pwd", "mfa"] })).toMatch(/^(challenge|deny)$/);
    },
  );
});
