// Threat: one remembered AuthnRequest answered twice at once (DESIGN invariant 7): two different
// valid responses of the IdP, each with its own assertion id but the same InResponseTo (a
// double-submitted IdP form, or an answer captured and replayed with a fresh assertion), posted
// to the ACS of two instances sharing PostgreSQL, and both accepted, so that one sign-in yields
// two held answers. Each round forces the race without sleeps: both instances verify their
// response against the request as still pending (a barrier after verification), then one (the
// leader) consumes the request and holds its transaction open until the other is seen waiting
// on a lock, and only then commits. Exactly one answer is accepted and held; the other is
// refused as `federation.request_unknown` and audited; the accepted one completes the sign-in.
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { createSamlProtocol } from "../../verifiers/saml/index.js";
import { TestIdp } from "../../verifiers/saml/test-support/test-idp.js";
import type { Application } from "../application.js";
import { AppError } from "../errors.js";
import type { AuditEvent } from "../records.js";
import { requireMfaAtIdp, testFederationParts } from "../test-support/federation-parts.js";
import {
  ForcedRace,
  openRacers,
  otherRacer,
  pausingAfter,
  type Racer,
  type Racers,
} from "../test-support/forced-race.js";
import type { Harness } from "../test-support/harness.js";
import {
  describeOnPostgres,
  openTwoInstances,
  type TwoInstances,
} from "../test-support/postgres-instances.js";
import type { SamlProtocol } from "./protocols.js";

vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 });

const RETURN_TO = "https://app.acme.example/signed-in";
const ALICE = "alice@example.org";
const BROWSER = "browser-of-alice";
const SP = {
  entityId: "https://mfa.test/t/acme/idps/corp/saml/metadata",
  acsUrl: "https://mfa.test/t/acme/idps/corp/saml/acs",
};

/** Where an ACS post sent the browser, or the code it was refused with. */
type Answer = { readonly location: string } | { readonly refused: string };

describeOnPostgres(
  {
    title: "two answers to one SAML request on two instances sharing PostgreSQL",
    skippedTitle: "two answers to one SAML request on two instances",
    tests: "multi-instance SAML answer tests",
  },
  () => {
    let two: TwoInstances | undefined;
    let first: Harness;
    let racers: Racers | undefined;
    let race: ForcedRace | undefined;
    const idp = new TestIdp({ entityId: "https://idp.corp.example/saml" });

    /** The real verifier, then the race's barrier (and the follower's wait for its turn). */
    const gated = (racer: Racer, real: SamlProtocol): SamlProtocol => ({
      ...real,
      async verifyResponse(sp, settings, options) {
        const verified = await real.verifyResponse(sp, settings, options);
        await race?.verified(racer);
        return verified;
      },
    });

    /** The leader's consumption of the request holds its transaction open while the other queues. */
    const holdingAfterConsume = (racer: Racer) =>
      pausingAfter("federationRequests", "consume", async (consumed) => {
        if (consumed === true) await race?.wrote(racer);
      });

    beforeAll(async () => {
      two = await openTwoInstances();
      ({ first } = two);
      await requireMfaAtIdp(first, RETURN_TO);
      await first.app.idps.put(first.admin, "acme", "corp", {
        registration: { protocol: "saml", saml: { metadataXml: idp.metadataXml() } },
        ifMatch: undefined,
      });
      racers = await openRacers(two, (name) => ({
        wrap: holdingAfterConsume(name),
        overrides: {
          federation: testFederationParts({
            secrets: first.sealer,
            saml: gated(name, createSamlProtocol()),
          }),
        },
      }));
    });
    afterAll(async () => {
      await racers?.close();
      await two?.close();
    });

    const racer = (name: Racer): Application => {
      if (racers === undefined) throw new Error("no racers");
      return racers.get(name);
    };

    const auditOf = async (type: string): Promise<readonly AuditEvent[]> =>
      (await first.app.audit.list(first.admin, "acme", { type }, { limit: 500 })).items;

    /** Posts `samlResponse` to `name`'s ACS, answering the request remembered as `relayState`. */
    async function post(name: Racer, samlResponse: string, relayState: string): Promise<Answer> {
      try {
        return await racer(name).federation.samlResponse("acme", "corp", {
          samlResponse,
          relayState,
        });
      } catch (error) {
        if (error instanceof AppError) return { refused: error.code };
        throw error;
      }
    }

    for (const leader of ["A", "B"] as const) {
      it(`accepts exactly one of two valid answers to one request, posted at once (${leader} first)`, async () => {
        if (two === undefined) throw new Error("no instances");
        const started = await first.app.federation.start("acme", "corp", {
          returnTo: RETURN_TO,
          principal: ALICE,
          browser: BROWSER,
        });
        const spMetadata = await first.app.federation.samlMetadata("acme", "corp");
        const request = await idp.receiveAuthnRequest(spMetadata, started.location);
        const relayState = request.relayState ?? "";
        // Two responses of the IdP to the same AuthnRequest: same InResponseTo, each its own
        // Response and Assertion ids, each signed.
        const login = { issuedAt: first.clock.now(), nameId: ALICE };
        const responses = {
          A: await idp.login(SP, spMetadata, request.id, login),
          B: await idp.login(SP, spMetadata, request.id, login),
        };
        expect(responses.A).not.toBe(responses.B);
        const heldBefore = (await auditOf("federation.answer_held")).length;
        const refusedBefore = (await auditOf("federation.rejected")).length;

        race = new ForcedRace(leader);
        // The leader consumes the request and holds its transaction while the follower, which
        // verified its answer against the request as still pending, queues behind it.
        const answers = await race.run(two.database.name, {
          A: () => post("A", responses.A, relayState),
          B: () => post("B", responses.B, relayState),
        });
        race = undefined;

        const follower = otherRacer(leader);
        const won = answers[leader];
        const lost = answers[follower];
        expect(lost).toEqual({ refused: "federation.request_unknown" });
        if (won === undefined || !("location" in won)) throw new Error(JSON.stringify(won));
        const claim = new URL(won.location);
        expect(claim.pathname).toBe("/t/acme/idps/corp/saml/complete");

        // One answer held, one refusal audited, both naming the request.
        const held = (await auditOf("federation.answer_held")).slice(heldBefore);
        expect(held.map((e) => e.payload)).toEqual([
          expect.objectContaining({ request: relayState, subject: ALICE }),
        ]);
        const refused = (await auditOf("federation.rejected")).slice(refusedBefore);
        expect(refused.map((e) => e.payload)).toEqual([
          expect.objectContaining({ reason: "federation.request_unknown", request: relayState }),
        ]);

        // The accepted answer completes the sign-in in its own browser, on either instance.
        const done = await racer(follower).federation.samlCompletion("acme", "corp", {
          answer: claim.searchParams.get("answer") ?? "",
          browser: BROWSER,
        });
        const back = new URL(done.location);
        expect(`${back.origin}${back.pathname}`).toBe(RETURN_TO);
        expect(back.searchParams.get("decision")).not.toBeNull();
        expect(back.searchParams.get("error")).toBeNull();
      });
    }

    it("leaves an audit chain that verifies", async () => {
      expect(await first.app.audit.verify(first.admin, { tenant: "acme" })).toMatchObject({
        ok: true,
      });
    });
  },
);
