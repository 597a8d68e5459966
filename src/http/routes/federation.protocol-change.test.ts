/**
 * Threat: a sign-in started at an IdP registered for OIDC, whose id is then registered again as a
 * SAML IdP that accepts unsolicited answers. The pending OIDC request's `state`, posted as the
 * RelayState of an unsolicited SAML answer, named a request that the ACS took as its own: the
 * answer was verified as unsolicited, the request consumed, and the decision sent to the
 * request's return URL in whichever browser posted it (a SAML request's answer is held for the
 * browser that started it; an OIDC request's is not). An answer counts only for a request of its
 * own protocol.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { startStubIdp, type StubIdp } from "../../verifiers/oidc/test-support/stub-idp.js";
import { REFEDS_MFA, TestIdp } from "../../verifiers/saml/test-support/test-idp.js";
import {
  createTenant,
  registerStubIdp,
  RETURN_URL,
  syncClock,
} from "../test-support/oidc-federation.js";
import { openTestServer, type TestServer } from "../test-support/open-test-server.js";
import { must, postToAcs } from "../test-support/saml-federation.js";

let stub: StubIdp;
let t: TestServer;
beforeAll(async () => {
  stub = await startStubIdp();
  t = await openTestServer({ federation: { publicUrl: "https://mfa.test" } });
  syncClock(t);
  await createTenant(t, "acme", "idp_mfa");
});
afterAll(async () => {
  await t.close();
  await stub.close();
});

it("refuses an unsolicited SAML answer whose RelayState names a pending OIDC sign-in of the same IdP id", async () => {
  must(await registerStubIdp(t, t.adminKey, "acme", stub), 201);
  const started = must(
    await t.call(
      "GET",
      `/t/acme/idps/corp/start?${new URLSearchParams({ return_to: RETURN_URL }).toString()}`,
    ),
    303,
  );
  const state = new URL(String(started.headers.location)).searchParams.get("state") ?? "";
  expect(state).not.toBe("");

  const idp = new TestIdp({ entityId: "https://idp.corp.example/saml" });
  must(
    await t.call("PUT", "/v1/tenants/acme/idps/corp", {
      key: t.adminKey,
      headers: { "if-match": '"1"' },
      body: { protocol: "saml", saml: { metadataXml: idp.metadataXml(), allowUnsolicited: true } },
    }),
    200,
  );
  const metadata = must(await t.call("GET", "/t/acme/idps/corp/saml/metadata"), 200).body;
  const sp = {
    entityId: "https://mfa.test/t/acme/idps/corp/saml/metadata",
    acsUrl: "https://mfa.test/t/acme/idps/corp/saml/acs",
  };
  const answer = await idp.login(sp, metadata, undefined, {
    issuedAt: t.clock.now(),
    authnContextClassRef: REFEDS_MFA,
  });
  const acs = await postToAcs(t, answer, state);
  expect(acs.headers.location ?? "").not.toContain("decision=");
  const auditor = await t.key(["tenant_auditor"], ["acme"]);
  const events = must(
    await t.call("GET", "/v1/tenants/acme/audit?type=federation.rejected", { key: auditor }),
    200,
  ).json<{ items: { payload: { reason: string } }[] }>().items;
  expect(events.map((e) => e.payload.reason)).toContain("federation.request_unknown");
});
