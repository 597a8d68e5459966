// Threat: an exemption revoked while a held SAML answer is claimed under it. A direct SAML
// sign-in's completion decided on the held answer, then claimed the answer and stored the receipt
// in a later transaction: a revocation that committed in between was not seen, so the platform,
// reading the receipt `?decision=` names, let the principal through under an exemption that no
// longer stood, and the chain recorded the decision (and a break-glass use) after its
// `exemption.revoked`. The exemption is now read again, held, in the transaction that claims the
// answer, and the decision made again without it. The same on both stores; the race is made
// deterministic by running the revocation just after the completion's read of the exemptions.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { AuditEvent } from "../../app/records.js";
import {
  storeRacingExemptions,
  type ExemptionRace,
} from "../../app/test-support/exemption-race.js";
import { storesUnderTest } from "../../storage/test-support/stores-under-test.js";
import {
  PASSWORD_PROTECTED_TRANSPORT,
  TestIdp,
} from "../../verifiers/saml/test-support/test-idp.js";
import { openTestServer, type TestServer } from "../test-support/open-test-server.js";
import {
  answerAtAcs,
  followCompletion,
  must,
  registerSamlTenant,
} from "../test-support/saml-federation.js";

const RETURN = "https://app.acme.example/signed-in";
const ALICE = "alice@example.org";
const stores = await storesUnderTest("The held SAML answer's re-check of an exemption");

for (const { name, skip, open } of stores) {
  describe.skipIf(skip)(
    `a held SAML answer claimed under an exemption revoked meanwhile, on ${name}${skip ? " (skipped: no PostgreSQL reachable outside CI)" : ""}`,
    () => {
      let t: TestServer;
      let drop: () => Promise<void>;
      let admin: string;
      let exemption: string;
      const race: ExemptionRace = {};
      const idp = new TestIdp({ entityId: "https://idp.corp.example/saml" });

      beforeEach(async () => {
        const [store, cleanup] = await open();
        drop = cleanup;
        t = await openTestServer({
          bodyLimitBytes: 256 * 1024,
          store: storeRacingExemptions(store, "list", race),
        });
        // The IdP's answer proves a password alone: only the exemption lets alice through.
        await registerSamlTenant(t, idp, "acme", { posture: "idp_mfa", returnUrls: [RETURN] });
        admin = await t.key(["tenant_admin"], ["acme"]);
        const approver = await t.key(["exemption_approver"], ["acme"]);
        must(
          await t.call("PUT", `/v1/tenants/acme/principals/${encodeURIComponent(ALICE)}`, {
            key: admin,
            body: { population: "sso" },
          }),
          200,
        );
        const inSeconds = (seconds: number) =>
          new Date(t.clock.now().getTime() + seconds * 1000).toISOString();
        const requested = must(
          await t.call("POST", "/v1/tenants/acme/exemptions", {
            key: admin,
            body: {
              principal: ALICE,
              category: "break_glass",
              justification: "The IdP's MFA is down during an incident",
              owner: "secops",
              expiresAt: inSeconds(3600),
              reviewAt: inSeconds(3600),
            },
          }),
          201,
        ).json<{ id: string }>();
        exemption = requested.id;
        must(
          await t.call("POST", `/v1/tenants/acme/exemptions/${exemption}/approve`, {
            key: approver,
          }),
          200,
        );
      });
      afterEach(async () => {
        race.after = undefined;
        await t.close();
        await drop();
      });

      const chain = async () =>
        must(await t.call("GET", "/v1/tenants/acme/audit?limit=500", { key: admin }), 200)
          .json<{ items: AuditEvent[] }>()
          .items.filter((e) =>
            ["exemption.revoked", "decision.recorded", "exemption.break_glass_used"].includes(
              e.type,
            ),
          )
          .map((e) => [
            e.type,
            (e.type === "exemption.revoked" ? e.payload["id"] : e.payload["exemption"]) ?? null,
          ]);

      /** Alice's answer, a password alone, held at the ACS; the completion then claims it. */
      async function complete(): Promise<string> {
        const { acs, cookie } = await answerAtAcs(t, idp, RETURN, {
          nameId: ALICE,
          authnContextClassRef: PASSWORD_PROTECTED_TRANSPORT,
        });
        const done = must(await followCompletion(t, acs, cookie), 303);
        const location = new URL(String(done.headers.location));
        expect(`${location.origin}${location.pathname}`).toBe(RETURN);
        return location.searchParams.get("decision") ?? "";
      }

      const receipt = async (decision: string) =>
        must(await t.call("GET", `/v1/decisions/${decision}`, { key: admin }), 200).json<{
          outcome: string;
          decision: { exemption: { id: string } | null };
        }>();

      it("decides again without an exemption revoked after the completion read it", async () => {
        race.after = async () => {
          must(
            await t.call("POST", `/v1/tenants/acme/exemptions/${exemption}/revoke`, {
              key: admin,
              body: { reason: "incident over" },
            }),
            200,
          );
        };
        const decision = await complete();
        expect(race.after).toBeUndefined(); // the revocation ran
        const stored = await receipt(decision);
        expect([stored.outcome, stored.decision.exemption]).toEqual(["challenge", null]);
        // No decision (nor break-glass use) under the exemption after its revocation.
        expect(await chain()).toEqual([
          ["exemption.revoked", exemption],
          ["decision.recorded", null],
        ]);
      });

      it("allows under an exemption that stands throughout, recording its break-glass use once", async () => {
        const decision = await complete();
        const stored = await receipt(decision);
        expect([stored.outcome, stored.decision.exemption?.id]).toEqual(["allow", exemption]);
        expect(await chain()).toEqual([
          ["decision.recorded", exemption],
          ["exemption.break_glass_used", exemption],
        ]);
      });
    },
  );
}
