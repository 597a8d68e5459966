/**
 * Threat: a post of a flow page's IdP form for an IdP that the page did not offer (the
 * principal's binding to it gone stale, or bound to another of the tenant's IdPs, or its SAML
 * metadata expired before the page was shown): an old tab's form, or one forged by whoever holds
 * the flow's browser. The flow starts nothing and shows `idp.rejected`, but left no trace, where
 * the same refusal a moment later (the IdP changed under the start, flows.idp-start-race.test.ts)
 * is audited. Audited alike, as `federation.rejected` with the reason and the flow, bounded as
 * the flow's other refusals are (the first of each IdP and reason, then one a minute while they
 * go on), so that a forged post is traceable without letting its sender grow the chain. An IdP
 * id that names no registration is refused unaudited: its sender chooses it, without bound.
 */
import { afterEach, expect, it } from "vitest";
import type { FlowBrowser } from "../application.js";
import { describeOnEachStore } from "../test-support/each-store.js";
import { REFUSAL_AUDIT_INTERVAL_SECONDS } from "./flow-records.js";
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
const browser: FlowBrowser = { cookie: "refused-idp-post-browser-cookie-0123" };

describeOnEachStore("a flow's post for an IdP it did not offer", (url) => {
  let t: TestServer;
  let admin: string;
  afterEach(() => t.close());

  /**
   * acme under idp_or_platform, corp registered from `metadataXml`, alice bound to `bound` (any
   * other than corp registered at another entity).
   */
  async function open(metadataXml: string, bound = "corp"): Promise<void> {
    t = await openTestServer({ store: await openStore(await url()) });
    await createTenant(t, "acme", "idp_or_platform");
    admin = await t.key(["tenant_admin"], ["acme"]);
    await register("corp", metadataXml);
    if (bound !== "corp") await register(bound, other.metadataXml());
    must(
      await t.call("PUT", "/v1/tenants/acme/principals/alice", {
        key: admin,
        body: { population: "sso", idp: bound },
      }),
      200,
    );
  }

  async function register(idp: string, metadataXml: string, ifMatch?: string): Promise<void> {
    const registered = await t.call("PUT", `/v1/tenants/acme/idps/${idp}`, {
      key: admin,
      ...(ifMatch === undefined ? {} : { headers: { "if-match": ifMatch } }),
      body: { protocol: "saml", saml: { metadataXml, allowUnsolicited: false } },
    });
    must(registered, ifMatch === undefined ? 201 : 200);
  }

  /** A flow of alice's, its page shown (not offering corp), and a way to post an IdP form. */
  async function flowNotOfferingCorp() {
    const { flow, screen } = await aliceFlowChallenge(t, browser);
    expect(screen.options.flatMap((o) => (o.kind === "idp" ? [o.idp] : []))).not.toContain("corp");
    const post = async (idp = "corp") => {
      const posted = await t.app.flows.act("acme", flow, browser, {
        kind: "idp",
        idp,
        csrf: screen.frame.csrfToken,
      });
      expect(posted).toMatchObject({ kind: "challenge", notice: { code: "idp.rejected" } });
    };
    return { flow, post };
  }

  const refusals = async () =>
    (await auditOf(t, admin, "acme", "federation.rejected")).map((e) => e.payload);
  const started = async () => auditOf(t, admin, "acme", "flow.idp_started");

  it("audits a post for the IdP whose binding went stale, once a minute while they go on", async () => {
    await open(first.metadataXml());
    await register("corp", other.metadataXml(), '"1"');
    const { flow, post } = await flowNotOfferingCorp();
    for (let i = 0; i < 5; i++) await post();
    const refused = expect.objectContaining({
      flow,
      principal: "alice",
      idp: "corp",
      protocol: "saml",
      reason: "federation.idp_rebound",
    });
    expect(await refusals()).toEqual([refused]);
    t.clock.advance(REFUSAL_AUDIT_INTERVAL_SECONDS - 1);
    await post();
    expect(await refusals()).toHaveLength(1);
    t.clock.advance(1);
    await post();
    await post();
    expect(await refusals()).toEqual([refused, refused]);
    expect(await started()).toEqual([]);
  });

  it("audits a post for an IdP the principal is not bound to", async () => {
    await open(first.metadataXml(), "partner");
    const { flow, post } = await flowNotOfferingCorp();
    await post();
    expect(await refusals()).toEqual([
      expect.objectContaining({ flow, idp: "corp", reason: "federation.idp_not_bound" }),
    ]);
    expect(await started()).toEqual([]);
  });

  it("audits a post for the IdP whose metadata expired before the page was shown", async () => {
    await open(
      first
        .metadataXml()
        .replace(/^<EntityDescriptor /, `<EntityDescriptor validUntil="${EXPIRY}" `),
    );
    t.clock.advance((Date.parse(EXPIRY) - t.clock.now().getTime()) / 1000 + 1);
    const { flow, post } = await flowNotOfferingCorp();
    await post();
    await post();
    expect(await refusals()).toEqual([
      expect.objectContaining({
        flow,
        principal: "alice",
        idp: "corp",
        reason: "idp.metadata_expired",
      }),
    ]);
    expect(await started()).toEqual([]);
  });

  it("does not audit a post naming an IdP the tenant never registered", async () => {
    await open(first.metadataXml());
    await register("corp", other.metadataXml(), '"1"');
    const { post } = await flowNotOfferingCorp();
    for (const idp of ["nowhere-1", "nowhere-2", "nowhere-3"]) await post(idp);
    expect(await refusals()).toEqual([]);
  });
});
