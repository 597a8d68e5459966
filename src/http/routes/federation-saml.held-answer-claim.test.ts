// Threat: a held SAML answer judged at the ACS only, or spent with nothing decided. A direct SAML
// sign-in's verified answer waits (up to 5 minutes) at the ACS for the browser that started it,
// whose claim at the completion decides. At that claim the principal's binding to one of the
// tenant's IdPs holds as it stands then: an administrator who binds the principal to the tenant's
// other IdP while an answer from this one waits must see that answer refused (DESIGN invariant
// 9), audited as the ACS audits it. And the claim commits with the decision's receipt or not at
// all (DESIGN invariant 4): a receipt the store fails to take leaves the answer for its browser
// to come back with, never spent without a decision. Against the real samlify IdP.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Repositories, Store } from "../../app/ports.js";
import type { AuditEvent } from "../../app/records.js";
import { openStore } from "../../storage/open-store.js";
import { REFEDS_MFA, TestIdp } from "../../verifiers/saml/test-support/test-idp.js";
import { openTestServer, type TestServer } from "../test-support/open-test-server.js";
import {
  answerAtAcs,
  followCompletion,
  must,
  registerSamlTenant,
} from "../test-support/saml-federation.js";

const RETURN = "https://app.acme.example/signed-in";
const ALICE = "alice@example.org";
const JSON_CLIENT = { accept: "application/json" };

/** Whether storing a receipt fails now (a full disk, a connection lost at that statement). */
const failing = { receipts: false };

/** `store`, except that while `failing.receipts` is set, every receipt insert throws. */
function withFailingReceipts(store: Store): Store {
  const refuse = () => Promise.reject(new Error("receipt insert failed: disk I/O error"));
  const receipts = (real: Repositories["receipts"]): Repositories["receipts"] =>
    new Proxy(real, {
      get(target, name) {
        if (failing.receipts && (name === "insert" || name === "insertMany")) return refuse;
        const value: unknown = Reflect.get(target, name);
        return typeof value === "function" ? (value as () => unknown).bind(target) : value;
      },
    });
  const repositories = (r: Repositories): Repositories =>
    new Proxy(r, {
      get: (target, name) =>
        name === "receipts" ? receipts(target.receipts) : (Reflect.get(target, name) as unknown),
    });
  return {
    transaction: (work) => store.transaction((r) => work(repositories(r))),
    read: (work) => store.read(work),
    notify: (change) => store.notify(change),
    onChange: (listener) => store.onChange(listener),
    ping: () => store.ping(),
    close: () => store.close(),
  };
}

let t: TestServer;
let idp: TestIdp;
let admin: string;

beforeAll(async () => {
  t = await openTestServer({
    bodyLimitBytes: 256 * 1024,
    store: withFailingReceipts(await openStore("sqlite::memory:")),
  });
  idp = new TestIdp({ entityId: "https://idp.corp.example/saml" });
  await registerSamlTenant(t, idp, "acme", { posture: "idp_mfa", returnUrls: [RETURN] });
  admin = await t.key(["tenant_admin"], ["acme"]);
  // The tenant's partner's IdP, whose people the tenant's own IdP must not sign in.
  const partner = new TestIdp({ entityId: "https://idp.partner.example/saml" });
  must(
    await t.call("PUT", "/v1/tenants/acme/idps/partner", {
      key: admin,
      body: { protocol: "saml", saml: { metadataXml: partner.metadataXml() } },
    }),
    201,
  );
});
afterAll(() => t.close());

async function audit(type: string): Promise<AuditEvent[]> {
  const response = await t.call("GET", `/v1/tenants/acme/audit?type=${type}&limit=500`, {
    key: admin,
  });
  return must(response, 200).json<{ items: AuditEvent[] }>().items;
}

const bindAlice = async (to: string | null) =>
  must(
    await t.call("PUT", `/v1/tenants/acme/principals/${encodeURIComponent(ALICE)}`, {
      key: admin,
      body: { population: "sso", idp: to },
    }),
    200,
  );

/** Alice's answer from the tenant's IdP `corp`, held at the ACS for her browser. */
async function heldForAlice() {
  const { acs, cookie } = await answerAtAcs(t, idp, RETURN, {
    nameId: ALICE,
    authnContextClassRef: REFEDS_MFA,
  });
  expect(new URL(String(must(acs, 303).headers.location)).pathname).toBe(
    "/t/acme/idps/corp/saml/complete",
  );
  return { acs, cookie };
}

describe("a held SAML answer claimed by its browser", () => {
  it("is refused when its principal was bound to another of the tenant's IdPs since the ACS, and audited as there", async () => {
    const { acs, cookie } = await heldForAlice();
    const decided = (await audit("decision.recorded")).length;
    await bindAlice("partner");
    try {
      const refused = await followCompletion(t, acs, cookie, JSON_CLIENT);
      expect(refused.statusCode).toBe(400);
      expect(refused.json()).toMatchObject({
        code: "federation.rejected",
        details: { reason: "federation.idp_not_bound", returnTo: RETURN },
      });
      const [event] = (await audit("federation.rejected")).slice(-1);
      expect(event).toMatchObject({
        actor: "idp:corp",
        payload: {
          idp: "corp",
          protocol: "saml",
          reason: "federation.idp_not_bound",
          detail: "the principal this IdP named signs in at another of the tenant's IdPs",
        },
      });
      expect(event?.payload["request"]).toMatch(/^fed_/);
      // Started with no hint, the sign-in names no one the event could call its principal.
      expect(event?.payload).not.toHaveProperty("principal");
      expect(await audit("decision.recorded")).toHaveLength(decided);
      // The answer is spent, as the ACS's request and proof are: it decides nothing later.
      await bindAlice(null);
      const again = await followCompletion(t, acs, cookie, JSON_CLIENT);
      expect(again.json()).toMatchObject({ code: "federation.answer_unknown" });
    } finally {
      await bindAlice(null);
    }
  });

  it("is decided when its principal is bound to the IdP that answered", async () => {
    const { acs, cookie } = await heldForAlice();
    await bindAlice("corp");
    try {
      const done = must(await followCompletion(t, acs, cookie), 303);
      expect(String(done.headers.location)).toMatch(/^https:\/\/app\.acme\.example\/.*decision=/);
    } finally {
      await bindAlice(null);
    }
  });

  it("stays unclaimed when its decision cannot be stored: the browser's next visit completes", async () => {
    const { acs, cookie } = await heldForAlice();
    failing.receipts = true;
    try {
      const failed = await followCompletion(t, acs, cookie, JSON_CLIENT);
      expect([failed.statusCode, failed.json<{ code: string }>().code]).toEqual([
        503,
        "store.unavailable",
      ]);
    } finally {
      failing.receipts = false;
    }
    const done = must(await followCompletion(t, acs, cookie), 303);
    const decision = new URL(String(done.headers.location)).searchParams.get("decision") ?? "";
    expect(
      must(await t.call("GET", `/v1/decisions/${decision}`, { key: admin }), 200).json(),
    ).toMatchObject({ principal: ALICE, outcome: "allow" });
  });
});
