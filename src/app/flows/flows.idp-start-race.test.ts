/**
 * Threat: a user who chose the tenant's IdP on the flow page, while the IdP's registration
 * changed under the flow's start, met a generic failure page, or was sent on a trip that had to
 * fail. The flow judges the IdP when it shows it and again when the form is posted; the start
 * reads the registration once more. Between the flow's judgment and the start, the IdP may be
 * registered again at another issuer or entity id (the principal's binding goes stale,
 * `federation.idp_rebound`) or its SAML metadata may expire (`idp.metadata_expired`). The start
 * refused the expired metadata by throwing, which the page answered as its own failure, and sent
 * the rebound principal to the new entity, whose answer is refused. Both are expected refusals:
 * audited as a refused start is (`federation.rejected` with the reason), and the flow shows its
 * challenge again with the `idp.rejected` notice and the ways left, having started nothing.
 * An IdP removed in that window is no sign-in either: the start knows no such IdP
 * (`not_found`), and the flow audits it as one more refused start (it has no IdP to audit at).
 * The overlap is forced: the other change lands as the flow's `flow.idp_started` commits.
 */
import { afterEach, expect, it } from "vitest";
import type { FlowBrowser } from "../application.js";
import type { Repositories, Store } from "../ports.js";
import { describeOnEachStore } from "../test-support/each-store.js";
import { pausingAfter } from "../test-support/forced-race.js";
import { wrapRepositories } from "../test-support/wrapped-store.js";
import type { AuditEvent } from "../records.js";
import { openStore } from "../../storage/open-store.js";
import { aliceFlowChallenge } from "../../http/test-support/alice-flow-challenge.js";
import { openTestServer, type TestServer } from "../../http/test-support/open-test-server.js";
import { auditOf, createTenant } from "../../http/test-support/oidc-federation.js";
import { must } from "../../http/test-support/saml-federation.js";
import { TestIdp } from "../../verifiers/saml/test-support/test-idp.js";

const first = new TestIdp({ entityId: "https://idp.acme.example/saml" });
const other = new TestIdp({ entityId: "https://idp.other.example/saml" });
/** The metadata's `validUntil`: an hour after the test server's clock starts (12:00 Z). */
const EXPIRY = "2026-11-23T13:00:00.000Z";
const browser: FlowBrowser = { cookie: "idp-start-race-browser-cookie-0123456789" };

/**
 * `store`, which runs `stepIn` (once armed) right after the transaction that audits
 * `flow.idp_started` commits, before the flow goes on to start the sign-in.
 */
function steppingInAfterIdpStarted(store: Store) {
  let armed: (() => Promise<void>) | undefined;
  let seen = false;
  const watch = pausingAfter("audit", "append", (event) => {
    if ((event as AuditEvent).type === "flow.idp_started") seen = true;
    return Promise.resolve();
  });
  const watched = wrapRepositories(store, (r: Repositories) => watch(r));
  return {
    store: {
      ...watched,
      async transaction<T>(work: (r: Repositories) => Promise<T>): Promise<T> {
        seen = false;
        const result = await watched.transaction(work);
        const stepIn = armed;
        if (seen && stepIn !== undefined) {
          armed = undefined;
          await stepIn();
        }
        return result;
      },
    } satisfies Store,
    arm(stepIn: () => Promise<void>) {
      armed = stepIn;
    },
  };
}

describeOnEachStore("a flow's IdP start refused by a change under it", (url) => {
  let t: TestServer;
  let admin: string;
  let stepping: ReturnType<typeof steppingInAfterIdpStarted>;
  afterEach(() => t.close());

  /** acme under idp_or_platform, corp registered from `metadataXml`, alice bound to it. */
  async function open(metadataXml: string): Promise<void> {
    stepping = steppingInAfterIdpStarted(await openStore(await url()));
    t = await openTestServer({ store: stepping.store });
    await createTenant(t, "acme", "idp_or_platform");
    admin = await t.key(["tenant_admin"], ["acme"]);
    await register(metadataXml);
    must(
      await t.call("PUT", "/v1/tenants/acme/principals/alice", {
        key: admin,
        body: { population: "sso", idp: "corp" },
      }),
      200,
    );
  }

  async function register(metadataXml: string, ifMatch?: string): Promise<void> {
    const registered = await t.call("PUT", "/v1/tenants/acme/idps/corp", {
      key: admin,
      ...(ifMatch === undefined ? {} : { headers: { "if-match": ifMatch } }),
      body: { protocol: "saml", saml: { metadataXml, allowUnsolicited: false } },
    });
    must(registered, ifMatch === undefined ? 201 : 200);
  }

  /** alice's flow page offering corp, and the post of its form once `stepIn` is armed. */
  async function chooseCorp(stepIn: () => Promise<void>, seeFlow?: (flow: string) => void) {
    const { flow, screen } = await aliceFlowChallenge(t, browser);
    seeFlow?.(flow);
    expect(screen.options.map((o) => o.kind)).toContain("idp");
    stepping.arm(stepIn);
    return t.app.flows.act("acme", flow, browser, {
      kind: "idp",
      idp: "corp",
      csrf: screen.frame.csrfToken,
    });
  }

  /** The flow shows its challenge again, says the IdP refused, and offers it no more. */
  function shownAgainRefused(posted: Awaited<ReturnType<typeof chooseCorp>>): void {
    expect(posted).toMatchObject({ kind: "challenge", notice: { code: "idp.rejected" } });
    expect(posted.kind === "challenge" ? posted.options.map((o) => o.kind) : []).not.toContain(
      "idp",
    );
  }

  async function refusedStarts() {
    return (await auditOf(t, admin, "acme", "federation.rejected")).map((e) => e.payload);
  }

  it("shows the challenge again with idp.rejected when the metadata expires under the start, audited", async () => {
    const metadata = first
      .metadataXml()
      .replace(/^<EntityDescriptor /, `<EntityDescriptor validUntil="${EXPIRY}" `);
    await open(metadata);
    // A second before the metadata expires: the page offers corp, and the post is judged in time.
    t.clock.advance((Date.parse(EXPIRY) - 1000 - t.clock.now().getTime()) / 1000);
    const posted = await chooseCorp(() => {
      t.clock.advance(2);
      return Promise.resolve();
    });
    shownAgainRefused(posted);
    expect(await refusedStarts()).toEqual([
      expect.objectContaining({ idp: "corp", reason: "idp.metadata_expired" }),
    ]);
  });

  it("shows the challenge again with idp.rejected when the IdP is registered at another entity under the start, audited", async () => {
    await open(first.metadataXml());
    const posted = await chooseCorp(() => register(other.metadataXml(), '"1"'));
    shownAgainRefused(posted);
    expect(await refusedStarts()).toEqual([
      expect.objectContaining({ idp: "corp", reason: "federation.idp_rebound" }),
    ]);
  });

  it("shows the challenge again with idp.rejected when the IdP is removed under the start, audited by the flow", async () => {
    await open(first.metadataXml());
    let flow = "";
    const posted = await chooseCorp(
      async () => {
        must(await t.call("DELETE", "/v1/tenants/acme/idps/corp", { key: admin }), 204);
      },
      (id) => (flow = id),
    );
    shownAgainRefused(posted);
    expect(await refusedStarts()).toEqual([
      expect.objectContaining({ flow, principal: "alice", idp: "corp", reason: "not_found" }),
    ]);
  });
});
