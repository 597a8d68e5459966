/**
 * Threat: a user who chose the tenant's OIDC IdP on the flow page while the IdP's discovery
 * document could not be read (its server answering 500, or not answering within the discovery
 * timeout) met a generic failure page, and the tenant's administrator never learnt why its
 * people could not sign in there. The sign-in's start reads discovery (outside any transaction)
 * and refuses it as `oidc.discovery_failed`, audited as `federation.rejected` with that reason;
 * the flow shows its challenge again with the `idp.rejected` notice (the pages' only notice for
 * an IdP sign-in that did not go through, whose text asks to try again) and the ways left, having
 * sent the browser nowhere. Once discovery answers again, the same flow starts the sign-in.
 */
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import type { FlowBrowser } from "../application.js";
import { describeOnEachStore } from "../test-support/each-store.js";
import { openStore } from "../../storage/open-store.js";
import { aliceFlowChallenge } from "../../http/test-support/alice-flow-challenge.js";
import { openTestServer, type TestServer } from "../../http/test-support/open-test-server.js";
import {
  auditOf,
  createTenant,
  registerStubIdp,
  syncClock,
} from "../../http/test-support/oidc-federation.js";
import { must } from "../../http/test-support/saml-federation.js";
import { createOidcProtocol } from "../../verifiers/oidc/index.js";
import { startStubIdp, type StubIdp } from "../../verifiers/oidc/test-support/stub-idp.js";

/** How long the start waits for discovery here: short, so that a hanging IdP costs little. */
const DISCOVERY_TIMEOUT_MS = 300;
const browser: FlowBrowser = { cookie: "idp-discovery-failure-browser-cookie" };

let stub: StubIdp;
beforeAll(async () => {
  stub = await startStubIdp();
});
afterAll(() => stub.close());

describeOnEachStore("a flow's IdP start when the IdP's discovery fails", (url) => {
  let t: TestServer;
  let admin: string;
  afterEach(async () => {
    stub.discoveryMode = "up";
    await t.close();
  });

  /** acme under idp_or_platform, corp the stub, alice bound to it. */
  async function open(): Promise<void> {
    t = await openTestServer({
      store: await openStore(await url()),
      federation: {
        oidc: createOidcProtocol({ allowHttp: true, discoveryTimeoutMs: DISCOVERY_TIMEOUT_MS }),
      },
    });
    syncClock(t);
    await createTenant(t, "acme", "idp_or_platform");
    admin = await t.key(["tenant_admin"], ["acme"]);
    must(await registerStubIdp(t, admin, "acme", stub), 201);
    must(
      await t.call("PUT", "/v1/tenants/acme/principals/alice", {
        key: admin,
        body: { population: "sso", idp: "corp" },
      }),
      200,
    );
  }

  /** alice's flow page offering corp, and a way to post its form. */
  async function flowOfferingCorp() {
    const { flow, screen } = await aliceFlowChallenge(t, browser);
    expect(screen.options.map((o) => o.kind)).toContain("idp");
    return () =>
      t.app.flows.act("acme", flow, browser, {
        kind: "idp",
        idp: "corp",
        csrf: screen.frame.csrfToken,
      });
  }

  const refusedStarts = async () =>
    (await auditOf(t, admin, "acme", "federation.rejected")).map((e) => e.payload);

  for (const mode of ["down", "hang"] as const) {
    const what = mode === "down" ? "answers 500" : "does not answer in time";
    it(`shows the challenge again with idp.rejected when discovery ${what}, audited`, async () => {
      await open();
      stub.discoveryMode = mode;
      const choose = await flowOfferingCorp();
      const posted = await choose();
      expect(posted).toMatchObject({ kind: "challenge", notice: { code: "idp.rejected" } });
      expect(await refusedStarts()).toEqual([
        expect.objectContaining({
          idp: "corp",
          protocol: "oidc",
          reason: "oidc.discovery_failed",
          detail: expect.stringMatching(/^discovery /) as unknown,
        }),
      ]);
      // The IdP is still a way in: once discovery answers, the same page's form starts it.
      stub.discoveryMode = "up";
      const again = await choose();
      expect(again.kind).toBe("redirect");
      expect(again.kind === "redirect" ? new URL(again.location).origin : "").toBe(stub.origin);
    });
  }
});
