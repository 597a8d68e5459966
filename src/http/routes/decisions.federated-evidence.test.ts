// Threat: the platform's backend, or whoever holds its key, telling the decision API that the
// tenant's IdP proved MFA (DESIGN invariant 3: an IdP's proof counts only when tenant-mfa verified
// the signed assertion or token itself). A federated event's assurance and claims would be the
// caller's word, and no `verification` names a record of it, so the decision API refuses every
// federated event, whether or not `decisions.requireVerifiedEvidence` is on: even one tenant-mfa
// itself produced from a real IdP answer, sent again. An IdP's proof reaches a decision only
// through tenant-mfa's own federation endpoints and hosted flows.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_SETTINGS } from "../../app/context.js";
import type { ReceiptRecord } from "../../app/records.js";
import { TestIdp } from "../../verifiers/saml/test-support/test-idp.js";
import { openTestServer, type TestServer } from "../test-support/open-test-server.js";
import {
  answerAtAcs,
  followCompletion,
  must,
  registerSamlTenant,
} from "../test-support/saml-federation.js";

const RETURN_TO = "https://app.acme.example/signed-in";
const ALICE = "alice@example.org";

describe.each([false, true])(
  "federated evidence sent to the decision API (requireVerifiedEvidence: %s)",
  (requireVerifiedEvidence) => {
    let t: TestServer;
    let service: string;
    /** The federated event tenant-mfa recorded for ALICE's real sign-in at the tenant's IdP. */
    let recorded: Record<string, unknown>;

    beforeAll(async () => {
      t = await openTestServer({
        settings: { ...DEFAULT_SETTINGS, decisions: { requireVerifiedEvidence } },
        bodyLimitBytes: 256 * 1024,
      });
      const idp = new TestIdp({ entityId: "https://idp.corp.example/saml" });
      await registerSamlTenant(t, idp, "acme", { posture: "idp_mfa", returnUrls: [RETURN_TO] });
      service = await t.key(["platform_service"], ["acme"]);
      const { acs, cookie } = await answerAtAcs(t, idp, RETURN_TO, { nameId: ALICE });
      const completed = must(await followCompletion(t, acs, cookie), 303);
      const id = new URL(String(completed.headers.location)).searchParams.get("decision") ?? "";
      const receipt = must(await t.call("GET", `/v1/decisions/${id}`, { key: t.adminKey }), 200);
      const decision = receipt.json<ReceiptRecord>().decision;
      expect(decision.outcome).toBe("allow");
      const event = decision.satisfiedBy?.events.find((e) => e.method === "federated");
      expect(event).toMatchObject({ method: "federated", tenant: "acme", idp: "corp" });
      // What the request schema takes of it (the registration version is tenant-mfa's own note).
      const { idpVersion: _version, ...sent } = event as unknown as Record<string, unknown>;
      recorded = sent;
    });

    afterAll(async () => {
      await t.close();
    });

    const decide = (events: readonly Record<string, unknown>[]) =>
      t.call("POST", "/v1/tenants/acme/decisions", {
        key: service,
        body: { principal: { id: ALICE, population: "sso" }, evidence: { events } },
      });

    const recordedDecisions = async () =>
      must(
        await t.call("GET", "/v1/tenants/acme/audit?type=decision.recorded", { key: t.adminKey }),
        200,
      ).json<{ items: unknown[] }>().items.length;

    it.each([
      [
        "one the caller made up, claiming AAL3 and phishing resistance",
        () => ({
          method: "federated",
          source: "idp",
          tenant: "acme",
          idp: "corp",
          at: t.clock.now().toISOString(),
          assurance: { aal: 3, phishingResistant: true },
          claims: { acr: "https://refeds.org/profile/mfa", amr: ["hwk"] },
        }),
      ],
      ["the one tenant-mfa recorded for a real sign-in, sent again", () => recorded],
    ])("refuses %s with request.invalid, and records no decision", async (_, event) => {
      const before = await recordedDecisions();
      const response = await decide([
        { method: "password", source: "platform", at: t.clock.now().toISOString() },
        event(),
      ]);
      expect(response.statusCode, response.body).toBe(400);
      expect(response.json()).toMatchObject({
        code: "request.invalid",
        detail: expect.stringMatching(/Federated evidence is produced by tenant-mfa/),
      });
      expect(await recordedDecisions()).toBe(before);
    });

    it("decides without the federated event: the caller's password alone proves no MFA", async () => {
      const response = await decide([
        { method: "password", source: "platform", at: t.clock.now().toISOString() },
      ]);
      expect(must(response, 201).json()).toMatchObject({ outcome: "challenge" });
    });
  },
);
